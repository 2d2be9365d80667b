// Elements stored as XML text (XEP-0049 private storage, XEP-0054 vCards) come back
// exactly as they went in; reserved private-storage namespaces per XEP-0049 §2.3.
#include <doctest/doctest.h>

#include "server/modules/private/private_storage.hpp"
#include "server/modules/private/stored_xml.hpp"

using parley::protocol::xml::Element;
using namespace parley::server::modules;

TEST_CASE("a stored element parses back with its namespace, attributes, text and children") {
    Element storage("storage", "storage:bookmarks");
    Element& conf = storage.add_child("conference");
    conf.set_attr("jid", "tea@party.example").set_attr("name", "Tea & \"cake\" <3");
    conf.add_child("nick").add_text("al <i>ce</i> & co");
    storage.add_child("x", "urn:other").set_attr("xml:lang", "en");

    const std::string xml = to_stored_xml(storage);
    auto back = parse_stored_xml(xml);
    REQUIRE(back);
    CHECK(back->name() == "storage");
    CHECK(back->xmlns() == "storage:bookmarks");
    const Element* c = back->find_child("conference", "storage:bookmarks");
    REQUIRE(c);
    CHECK(c->attr("name") == "Tea & \"cake\" <3");
    CHECK(c->child_text("nick") == "al <i>ce</i> & co");
    const Element* x = back->find_child("x", "urn:other");
    REQUIRE(x);
    CHECK(x->attr("xml:lang") == "en");
    CHECK(to_stored_xml(*back) == xml);
}

TEST_CASE("text that is not exactly one well-formed element is refused") {
    CHECK_FALSE(parse_stored_xml(""));
    CHECK_FALSE(parse_stored_xml("<a xmlns='x'>"));
    CHECK_FALSE(parse_stored_xml("<a xmlns='x'/><b xmlns='x'/>"));
    CHECK_FALSE(parse_stored_xml("<a xmlns='x'></b>"));
    CHECK(parse_stored_xml("<vCard xmlns='vcard-temp'/>"));
}

TEST_CASE("reserved private storage namespaces") {
    CHECK(is_reserved_private_namespace("jabber:iq:private"));
    CHECK(is_reserved_private_namespace("jabber:client"));
    CHECK(is_reserved_private_namespace("jabber:server"));
    CHECK(is_reserved_private_namespace("http://jabber.org/protocol/muc"));
    CHECK(is_reserved_private_namespace("vcard-temp"));
    CHECK(is_reserved_private_namespace(""));
    CHECK_FALSE(is_reserved_private_namespace("storage:bookmarks"));
    CHECK_FALSE(is_reserved_private_namespace("exodus:prefs"));
    CHECK_FALSE(is_reserved_private_namespace("urn:xmpp:bookmarks:1"));
}
