#pragma once
// Vocabulary for MUC scenes (XEP-0045): entering rooms, configuring them, and
// matching what rooms send.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

namespace parley::test::muc {

inline constexpr const char* ns_muc_user = "http://jabber.org/protocol/muc#user";

inline bool has_status(const Element& stanza, int code) {
    const Element* x = stanza.find_child("x", ns_muc_user);
    if (!x) return false;
    for (const auto& c : x->children()) {
        if (c.name() == "status" && c.attr("code") == std::to_string(code)) return true;
    }
    return false;
}

inline const Element& item_of(const Element& stanza) {
    static const Element empty("item");
    const Element* x = stanza.find_child("x", ns_muc_user);
    const Element* item = x ? x->find_child("item", ns_muc_user) : nullptr;
    return item ? *item : empty;
}

inline bool has_feature(const Element& query, std::string_view var) {
    for (const auto& child : query.children()) {
        if (child.name() == "feature" && child.attr("var") == var) return true;
    }
    return false;
}

inline Match presence_from(std::string from) {
    return [from = std::move(from)](const Element& el) { return el.name() == "presence" && el.attr("from") == from; };
}

inline Match unavailable() {
    return [](const Element& el) { return el.attr("type") == "unavailable"; };
}

inline Match available() {
    return [](const Element& el) { return el.attr("type").empty(); };
}

inline Match error_reply(std::string id) {
    return [id = std::move(id)](const Element& el) { return el.attr("type") == "error" && el.attr("id") == id; };
}

inline Match subject_message() {
    return [](const Element& el) {
        return el.name() == "message" && el.find_child("subject") && !el.find_child("body");
    };
}

// Sends the entering presence; returns the self-presence (status 110).
inline std::optional<Element> join(TestClient& c, const std::string& occupant, const std::string& inside = {}) {
    c.send("<presence to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc'>" + inside + "</x></presence>");
    return c.wait_for([occupant](const Element& el) {
        return el.name() == "presence" && el.attr("from") == occupant && el.attr("type").empty() && has_status(el, 110);
    });
}

// Sends the entering presence; returns the error presence.
inline std::optional<Element> join_error(TestClient& c, const std::string& occupant, const std::string& inside = {}) {
    c.send("<presence to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc'>" + inside + "</x></presence>");
    return c.wait_for([occupant](const Element& el) {
        return el.name() == "presence" && el.attr("from") == occupant && el.attr("type") == "error";
    });
}

// Submits a muc#roomconfig form with these fields; returns the iq answer.
inline std::optional<Element> configure_answer(TestClient& c, const std::string& room,
                                               const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string xml = "<iq type='set' to='" + room +
                      "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>"
                      "<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>";
    for (const auto& [var, value] : fields) xml += "<field var='" + var + "'><value>" + value + "</value></field>";
    xml += "</x></query></iq>";
    return c.request(*parse_fragment(xml));
}

inline bool configure(TestClient& c, const std::string& room,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
    auto answer = configure_answer(c, room, fields);
    if (answer) INFO(to_xml(*answer));
    return answer && answer->attr("type") == "result";
}

// Accepts the default configuration (an instant room, §10.1.2).
inline bool make_instant(TestClient& c, const std::string& room) {
    auto answer = c.request(*parse_fragment("<iq type='set' to='" + room +
                                            "'><query xmlns='http://jabber.org/protocol/muc#owner'>"
                                            "<x xmlns='jabber:x:data' type='submit'/></query></iq>"));
    return answer && answer->attr("type") == "result";
}

// A muc#admin set with one item; returns the iq answer.
inline std::optional<Element> admin(TestClient& c, const std::string& room, const std::string& item) {
    return c.request(*parse_fragment("<iq type='set' to='" + room +
                                     "'><query xmlns='http://jabber.org/protocol/muc#admin'>" + item + "</query></iq>"));
}

}  // namespace parley::test::muc
