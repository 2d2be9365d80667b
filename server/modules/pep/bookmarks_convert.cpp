// XEP-0402 / XEP-0048 bookmark conversions — see bookmarks_convert.hpp.
#include "server/modules/pep/bookmarks_convert.hpp"

#include <set>

namespace parley::server::modules::pep {

using protocol::xml::Element;

namespace {

bool is_true(std::string_view v) { return v == "true" || v == "1"; }

// The element and its descendants moved to namespace `to` where they were in `from`
// (children that inherit the parent's namespace are stored with it explicitly).
Element renamespace(Element el, std::string_view from, std::string_view to) {
    if (el.is_text()) return el;
    if (el.xmlns() == from) el.set_xmlns(std::string(to));
    for (Element& c : el.children()) c = renamespace(std::move(c), from, to);
    return el;
}

}  // namespace

std::vector<Bookmark> from_legacy(const Element& storage) {
    std::vector<Bookmark> out;
    std::set<std::string> seen;
    for (const Element& c : storage.children()) {
        if (c.is_text() || c.name() != "conference" || c.xmlns() != legacy_bookmarks_node) continue;
        std::string jid(c.attr("jid"));
        if (jid.empty() || !seen.insert(jid).second) continue;
        Bookmark b;
        b.jid = std::move(jid);
        b.name = std::string(c.attr("name"));
        b.autojoin = is_true(c.attr("autojoin"));
        for (const Element& p : c.children()) {
            if (p.is_text()) continue;
            if (p.xmlns() == legacy_bookmarks_node && p.name() == "nick") {
                b.nick = p.text();
            } else if (p.xmlns() == legacy_bookmarks_node && p.name() == "password") {
                b.password = p.text();
            } else {
                b.extensions.push_back(p);
            }
        }
        out.push_back(std::move(b));
    }
    return out;
}

std::vector<Element> legacy_extras(const Element& storage) {
    std::vector<Element> out;
    for (const Element& c : storage.children()) {
        if (c.is_text() || (c.name() == "conference" && c.xmlns() == legacy_bookmarks_node)) continue;
        out.push_back(c);
    }
    return out;
}

Element to_legacy(const std::vector<Bookmark>& bookmarks, const std::vector<Element>& extras) {
    const std::string ns(legacy_bookmarks_node);
    Element storage("storage", ns);
    for (const Bookmark& b : bookmarks) {
        Element& c = storage.add_child("conference", ns);
        c.set_attr("jid", b.jid);
        if (!b.name.empty()) c.set_attr("name", b.name);
        c.set_attr("autojoin", b.autojoin ? "true" : "false");
        if (b.nick) c.add_child("nick", ns).add_text(*b.nick);
        if (b.password) c.add_child("password", ns).add_text(*b.password);
        for (const Element& e : b.extensions) c.add_child(renamespace(e, bookmarks_node, ns));
    }
    for (const Element& e : extras) storage.add_child(e);
    return storage;
}

std::optional<Bookmark> from_native(std::string_view item_id, const Element& conference) {
    if (item_id.empty() || conference.name() != "conference" || conference.xmlns() != bookmarks_node) {
        return std::nullopt;
    }
    Bookmark b;
    b.jid = std::string(item_id);
    b.name = std::string(conference.attr("name"));
    b.autojoin = is_true(conference.attr("autojoin"));
    if (const Element* nick = conference.find_child("nick", bookmarks_node)) b.nick = nick->text();
    if (const Element* password = conference.find_child("password", bookmarks_node)) b.password = password->text();
    if (const Element* ext = conference.find_child("extensions", bookmarks_node)) {
        for (const Element& e : ext->children()) {
            if (!e.is_text()) b.extensions.push_back(e);
        }
    }
    return b;
}

Element to_native(const Bookmark& b) {
    const std::string ns(bookmarks_node);
    Element c("conference", ns);
    if (!b.name.empty()) c.set_attr("name", b.name);
    c.set_attr("autojoin", b.autojoin ? "true" : "false");
    if (b.nick) c.add_child("nick", ns).add_text(*b.nick);
    if (b.password) c.add_child("password", ns).add_text(*b.password);
    if (!b.extensions.empty()) {
        Element& ext = c.add_child("extensions", ns);
        for (const Element& e : b.extensions) ext.add_child(renamespace(e, legacy_bookmarks_node, ns));
    }
    return c;
}

}  // namespace parley::server::modules::pep
