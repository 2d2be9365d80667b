#include <doctest/doctest.h>

#include <string>

#include "protocol/xml/element.hpp"
#include "protocol/xml/stream_parser.hpp"

using namespace parley::protocol;
using namespace parley::protocol::xml;

namespace {

bool same_tree(const Element& a, const Element& b) {
    if (a.name() != b.name() || a.xmlns() != b.xmlns() || a.text_content() != b.text_content()) return false;
    if (a.attributes().size() != b.attributes().size()) return false;
    for (std::size_t i = 0; i < a.attributes().size(); ++i) {
        if (a.attributes()[i].name != b.attributes()[i].name) return false;
        if (a.attributes()[i].value != b.attributes()[i].value) return false;
    }
    if (a.children().size() != b.children().size()) return false;
    for (std::size_t i = 0; i < a.children().size(); ++i) {
        if (!same_tree(a.children()[i], b.children()[i])) return false;
    }
    return true;
}

struct Collector : StreamParser::Handler {
    std::vector<Element> stanzas;
    void on_stream_open(StreamHeader) override {}
    void on_stanza(Element e) override { stanzas.push_back(std::move(e)); }
    void on_stream_close() override {}
};

// Serializes `el` into a jabber:client stream and parses it back.
Element round_trip(const Element& el) {
    std::string wire =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    serialize(el, wire, "jabber:client");
    Collector c;
    StreamParser parser(c, {});
    const auto err = parser.feed(wire);
    REQUIRE_FALSE(err.has_value());
    REQUIRE(c.stanzas.size() == 1);
    return c.stanzas[0];
}

}  // namespace

TEST_CASE("element: attributes") {
    Element el("message", "jabber:client");
    CHECK(el.attr("to").empty());
    CHECK(el.find_attr("to") == nullptr);
    el.set_attr("to", "a@b").set_attr("type", "chat");
    CHECK(el.attr("to") == "a@b");
    CHECK(el.has_attr("type"));
    el.set_attr("to", "c@d");
    CHECK(el.attributes().size() == 2);
    CHECK(el.attr("to") == "c@d");
    el.remove_attr("to");
    CHECK_FALSE(el.has_attr("to"));
    CHECK(el.attributes().size() == 1);
}

TEST_CASE("element: children and text") {
    Element msg("message", "jabber:client");
    Element& body = msg.add_child("body");
    CHECK(body.xmlns() == "jabber:client");
    body.add_text("Hello, ").add_text("world");
    CHECK(body.children().size() == 1);  // adjacent text merges
    body.append_text("!");
    CHECK(body.children().size() == 1);
    msg.add_child("x", "jabber:x:oob");
    msg.add_child(Element("delay", "urn:xmpp:delay"));
    msg.add_text("  ");

    CHECK(msg.child_text("body") == "Hello, world!");
    CHECK(msg.child_text("body", "other:ns").empty());
    CHECK(msg.child_text("missing").empty());
    CHECK(msg.find_child("x", "jabber:x:oob") != nullptr);
    CHECK(msg.find_child("x", "jabber:client") == nullptr);
    CHECK(msg.find_child_ns("urn:xmpp:delay")->name() == "delay");
    CHECK(msg.first_child_element()->name() == "body");
    CHECK(msg.child_element_count() == 3);
    CHECK(msg.text() == "  ");
    msg.remove_children("x", "jabber:x:oob");
    CHECK(msg.child_element_count() == 2);
    msg.remove_children("body", {});
    CHECK(msg.first_child_element()->name() == "delay");
    CHECK(Element::text_node("t").is_text());
}

TEST_CASE("serialize: namespaces written only where they change") {
    Element iq("iq", "jabber:client");
    iq.set_attr("type", "result").set_attr("id", "1");
    iq.add_child("query", "jabber:iq:roster").add_child("item").set_attr("jid", "a@b");
    CHECK(to_string(iq, "jabber:client") ==
          "<iq type='result' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>");
    CHECK(to_string(iq) ==
          "<iq xmlns='jabber:client' type='result' id='1'><query xmlns='jabber:iq:roster'><item jid='a@b'/></query></iq>");
    CHECK(to_string(Element("ping", "urn:xmpp:ping"), "jabber:client") == "<ping xmlns='urn:xmpp:ping'/>");
    // A child without a namespace inherits.
    Element p("presence", "jabber:client");
    p.add_child(Element("show")).add_text("away");
    CHECK(to_string(p, "jabber:client") == "<presence><show>away</show></presence>");
}

TEST_CASE("serialize: jabber:client and jabber:server are interchangeable at the top") {
    Element msg("message", "jabber:client");
    msg.set_attr("to", "bob@example.net");
    msg.add_child("body").add_text("hi");
    Element& fwd = msg.add_child("forwarded", "urn:xmpp:forward:0");
    fwd.add_child("message", "jabber:client").add_child("body").add_text("old");
    CHECK(to_string(msg, "jabber:server") ==
          "<message to='bob@example.net'><body>hi</body><forwarded xmlns='urn:xmpp:forward:0'>"
          "<message xmlns='jabber:client'><body>old</body></message></forwarded></message>");
    // Only between the two stanza namespaces.
    CHECK(to_string(Element("iq", "jabber:client"), "jabber:component:accept") == "<iq xmlns='jabber:client'/>");
}

TEST_CASE("serialize: the stream namespace uses the stream: prefix") {
    Element features("features", "http://etherx.jabber.org/streams");
    features.add_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls").add_child("required");
    features.add_child("bind", "urn:ietf:params:xml:ns:xmpp-bind");
    features.add_child("sm", "jabber:client");
    CHECK(to_string(features, "jabber:client") ==
          "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
          "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm/></stream:features>");
}

TEST_CASE("serialize: escaping") {
    std::string out;
    escape_text("a<b>&c'\"\n", out);
    CHECK(out == "a&lt;b&gt;&amp;c'\"\n");
    out.clear();
    escape_attr("a<b>&c'\"\t\n\r", out);
    CHECK(out == "a&lt;b&gt;&amp;c&apos;&quot;&#x9;&#xA;&#xD;");

    Element el("message", "jabber:client");
    el.set_attr("xml:lang", "en").set_attr("id", "it's \"quoted\"");
    el.add_child("body").add_text("1 < 2 & 3 > 2");
    CHECK(to_string(el, "jabber:client") ==
          "<message xml:lang='en' id='it&apos;s &quot;quoted&quot;'><body>1 &lt; 2 &amp; 3 &gt; 2</body></message>");
}

TEST_CASE("serialize then parse gives the same tree") {
    Element msg("message", "jabber:client");
    msg.set_attr("to", "juliet@example.com/balcony");
    msg.set_attr("id", "q'\"<>&\t\n\r  x");
    msg.set_attr("xml:lang", "en");
    msg.add_child("body").add_text("line1\nline2\r\n\ttab & <tag> ]]> 'q' \"dq\" \xC3\xA9\xF0\x9F\x98\x80");
    Element& x = msg.add_child("x", "jabber:x:data");
    x.set_attr("type", "submit");
    Element& field = x.add_child("field");
    field.set_attr("var", "a&b");
    field.add_child("value").add_text("v");
    x.add_child("empty");
    Element& mixed = msg.add_child("html", "http://jabber.org/protocol/xhtml-im")
                         .add_child("body", "http://www.w3.org/1999/xhtml");
    mixed.add_text("a");
    mixed.add_child("b").add_text("bold");
    mixed.add_text("c");

    const Element back = round_trip(msg);
    CHECK(same_tree(back, msg));
    CHECK(back.attr("id") == "q'\"<>&\t\n\r  x");
    CHECK(back.child_text("body").find("\r\n") != std::string::npos);
}

TEST_CASE("serialize is linear and appends") {
    Element msg("message", "jabber:client");
    std::string big(100000, 'x');
    big[500] = '&';
    msg.add_child("body").add_text(big);
    std::string out = "prefix";
    serialize(msg, out, "jabber:client");
    CHECK(out.rfind("prefix<message><body>", 0) == 0);
    CHECK(out.size() == 6 + 15 + 100000 + 4 + 17);
}
