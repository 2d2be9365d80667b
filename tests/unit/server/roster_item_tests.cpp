// The roster set rules of RFC 6121 §2.1.5 and §2.3.3, and the item XML.
#include <doctest/doctest.h>

#include "server/modules/roster/roster_item.hpp"

using namespace parley::server::modules::roster;
using parley::protocol::Jid;
using parley::protocol::StanzaError;
using parley::protocol::StanzaErrorCondition;
using parley::protocol::xml::Element;

namespace {

const Jid alice = *Jid::parse("alice@localhost/phone");

Element query(std::initializer_list<Element> items) {
    Element q("query", std::string(ns_roster));
    for (const auto& i : items) q.add_child(i);
    return q;
}

Element item(std::string jid, std::vector<std::string> groups = {}) {
    Element i("item", std::string(ns_roster));
    if (!jid.empty()) i.set_attr("jid", std::move(jid));
    for (auto& g : groups) i.add_child("group").add_text(std::move(g));
    return i;
}

StanzaErrorCondition error_of(const Element& q) {
    auto r = parse_roster_set(q, alice);
    REQUIRE(std::holds_alternative<StanzaError>(r));
    return std::get<StanzaError>(r).condition;
}

RosterSet set_of(const Element& q) {
    auto r = parse_roster_set(q, alice);
    REQUIRE(std::holds_alternative<RosterSet>(r));
    return std::get<RosterSet>(r);
}

}  // namespace

TEST_CASE("a roster set with one item gives its prepared jid, name and groups") {
    Element i = item("Bob@LocalHost", {"Friends", "Work"});
    i.set_attr("name", "Bob");
    RosterSet s = set_of(query({i}));
    CHECK(s.jid.to_string() == "bob@localhost");
    CHECK_FALSE(s.remove);
    REQUIRE(s.name);
    CHECK(*s.name == "Bob");
    CHECK(s.groups == std::vector<std::string>{"Friends", "Work"});
}

TEST_CASE("an empty name counts as no name") {
    Element i = item("bob@localhost");
    i.set_attr("name", "");
    CHECK_FALSE(set_of(query({i})).name);
}

TEST_CASE("zero or several items are bad-request") {
    CHECK(error_of(query({})) == StanzaErrorCondition::bad_request);
    CHECK(error_of(query({item("bob@localhost"), item("carol@localhost")})) == StanzaErrorCondition::bad_request);
}

TEST_CASE("an item without jid is bad-request, an invalid one jid-malformed") {
    CHECK(error_of(query({item("")})) == StanzaErrorCondition::bad_request);
    CHECK(error_of(query({item("@localhost")})) == StanzaErrorCondition::jid_malformed);
    CHECK(error_of(query({item("bob@")})) == StanzaErrorCondition::jid_malformed);
}

TEST_CASE("subscription='remove' removes; any other subscription value is ignored") {
    Element rm = item("bob@localhost");
    rm.set_attr("subscription", "remove");
    CHECK(set_of(query({rm})).remove);
    for (const char* value : {"both", "to", "from", "none", "foobar"}) {
        Element i = item("bob@localhost");
        i.set_attr("subscription", value);
        i.set_attr("ask", "subscribe");
        CHECK_FALSE(set_of(query({i})).remove);
    }
}

TEST_CASE("the account's own JID is not-allowed as an item") {
    CHECK(error_of(query({item("alice@localhost")})) == StanzaErrorCondition::not_allowed);
    CHECK(error_of(query({item("alice@localhost/laptop")})) == StanzaErrorCondition::not_allowed);
}

TEST_CASE("groups: duplicates are bad-request, empty or too long not-acceptable") {
    CHECK(error_of(query({item("bob@localhost", {"A", "B", "A"})})) == StanzaErrorCondition::bad_request);
    CHECK(error_of(query({item("bob@localhost", {"A", ""})})) == StanzaErrorCondition::not_acceptable);
    CHECK(error_of(query({item("bob@localhost", {std::string(max_group_bytes + 1, 'g')})})) ==
          StanzaErrorCondition::not_acceptable);
    CHECK(set_of(query({item("bob@localhost", {std::string(max_group_bytes, 'g')})})).groups.size() == 1);
    Element named = item("bob@localhost");
    named.set_attr("name", std::string(max_name_bytes + 1, 'n'));
    CHECK(error_of(query({named})) == StanzaErrorCondition::not_acceptable);
}

TEST_CASE("items are written with their subscription state and groups") {
    parley::storage::roster_store::Item it;
    it.jid = "bob@localhost";
    it.name = "Bob";
    it.subscription = "to";
    it.ask = true;
    it.approved = true;
    it.groups = {"Friends"};
    Element el = item_element(it);
    CHECK(el.xmlns() == ns_roster);
    CHECK(el.attr("jid") == "bob@localhost");
    CHECK(el.attr("name") == "Bob");
    CHECK(el.attr("subscription") == "to");
    CHECK(el.attr("ask") == "subscribe");
    CHECK(el.attr("approved") == "true");
    CHECK(el.child_text("group", ns_roster) == "Friends");

    parley::storage::roster_store::Item plain;
    plain.jid = "carol@localhost";
    Element p = item_element(plain);
    CHECK_FALSE(p.has_attr("name"));
    CHECK_FALSE(p.has_attr("ask"));
    CHECK_FALSE(p.has_attr("approved"));
    CHECK(p.attr("subscription") == "none");

    Element rm = removed_item_element("dave@localhost");
    CHECK(rm.attr("subscription") == "remove");
    CHECK(rm.attr("jid") == "dave@localhost");
}

TEST_CASE("versions: only plain non-negative decimals are ours") {
    CHECK(parse_version("0") == 0);
    CHECK(parse_version("42") == 42);
    CHECK_FALSE(parse_version(""));
    CHECK_FALSE(parse_version("-1"));
    CHECK_FALSE(parse_version("+1"));
    CHECK_FALSE(parse_version("12abc"));
    CHECK_FALSE(parse_version("99999999999999999999"));
}
