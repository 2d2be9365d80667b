// XEP-0280 Message Carbons (with XEP-0334 <no-copy/>): enable/disable, received and
// sent copies, what is not copied, and roster pushes reaching every interested
// resource of one account.
#include <doctest/doctest.h>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view carbons_ns = "urn:xmpp:carbons:2";
constexpr std::string_view forward_ns = "urn:xmpp:forward:0";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

// Waits for the result of a ping to the server: everything the client sent before has
// been handled.
void barrier(TestClient& client) {
    auto r = client.request(stanza("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(r);
    REQUIRE(r->attr("type") == "result");
}

std::string carbons_iq(TestClient& client, std::string_view what, std::string_view to = {}) {
    std::string xml = "<iq type='set'";
    if (!to.empty()) xml += " to='" + std::string(to) + "'";
    xml += "><" + std::string(what) + " xmlns='urn:xmpp:carbons:2'/></iq>";
    auto reply = client.request(stanza(xml));
    REQUIRE(reply);
    INFO(to_xml(*reply));
    if (reply->attr("type") == "result") return "result";
    return stanza_error_condition(*reply);
}

// The message inside <sent|received><forwarded>, nullptr when `el` is no such carbon.
const Element* forwarded_message(const Element& el, std::string_view direction) {
    if (el.name() != "message") return nullptr;
    const Element* wrapper = el.find_child(direction, carbons_ns);
    if (!wrapper) return nullptr;
    const Element* forwarded = wrapper->find_child("forwarded", forward_ns);
    if (!forwarded) return nullptr;
    return forwarded->find_child("message", "jabber:client");
}

// A carbon (sent or received) of the message whose body is `body`.
Match carbon_of(std::string direction, std::string body) {
    return [direction = std::move(direction), body = std::move(body)](const Element& el) {
        const Element* inner = forwarded_message(el, direction);
        return inner && inner->child_text("body") == body;
    };
}

Match any_carbon_of(std::string body) {
    return [body = std::move(body)](const Element& el) {
        for (const char* d : {"sent", "received"}) {
            const Element* inner = forwarded_message(el, d);
            if (inner && inner->child_text("body") == body) return true;
        }
        return false;
    };
}

Match roster_push(std::string jid) {
    return [jid = std::move(jid)](const Element& el) {
        if (el.name() != "iq" || el.attr("type") != "set") return false;
        const Element* q = el.find_child("query", "jabber:iq:roster");
        const Element* item = q ? q->find_child("item", "jabber:iq:roster") : nullptr;
        return item && item->attr("jid") == jid;
    };
}

struct Scene {
    ServerProcess server;
    TestClient phone{server, "alice-phone"}, laptop{server, "alice-laptop"}, bob{server, "bob"};

    Scene() {
        server.add_user("alice", "wonderland");
        server.add_user("bob", "builder");
        REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
        REQUIRE(laptop.login("alice@localhost/laptop", "wonderland"));
        REQUIRE(bob.login("bob@localhost/desk", "builder"));
        phone.send_presence(5);
        laptop.send_presence(1);
        bob.send_presence();
        barrier(phone);
        barrier(laptop);
        barrier(bob);
    }
};

}  // namespace

TEST_CASE("carbons: the server advertises urn:xmpp:carbons:2 and only the owner switches them") {
    Scene s;
    auto info = s.phone.request(stanza("<iq type='get' to='localhost'>"
                                       "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    bool found = false;
    if (const Element* q = info->find_child("query", "http://jabber.org/protocol/disco#info")) {
        for (const auto& c : q->children()) {
            if (!c.is_text() && c.name() == "feature" && c.attr("var") == carbons_ns) found = true;
        }
    }
    CHECK_MESSAGE(found, to_xml(*info));

    CHECK(carbons_iq(s.phone, "enable") == "result");
    CHECK(carbons_iq(s.phone, "enable") == "result");  // twice is not an error (§8.1)
    CHECK(carbons_iq(s.phone, "disable", "alice@localhost") == "result");
    CHECK(carbons_iq(s.phone, "disable", "alice@localhost") == "result");
    CHECK(carbons_iq(s.laptop, "enable", "localhost") == "result");  // to the server works too
    // bob cannot switch alice's carbons.
    CHECK(carbons_iq(s.bob, "enable", "alice@localhost") == "not-allowed");
    // Only <enable/> and <disable/>.
    auto bad = s.phone.request(stanza("<iq type='set'><frobnicate xmlns='urn:xmpp:carbons:2'/></iq>"));
    REQUIRE(bad);
    CHECK(stanza_error_condition(*bad) == "bad-request");
}

TEST_CASE("carbons: alice's two resources see both sides of her conversation with bob") {
    Scene s;
    REQUIRE(carbons_iq(s.phone, "enable") == "result");
    REQUIRE(carbons_iq(s.laptop, "enable") == "result");

    // bob → alice (bare): phone has the higher priority, laptop gets a received copy.
    s.bob.send(stanza("<message to='alice@localhost' type='chat' id='m1'><body>hi alice</body></message>"));
    auto original = s.phone.wait_for(message_with_body("hi alice"));
    REQUIRE(original);
    CHECK(original->attr("from") == "bob@localhost/desk");
    auto received = s.laptop.wait_for(carbon_of("received", "hi alice"));
    REQUIRE(received);
    INFO(to_xml(*received));
    CHECK(received->attr("from") == "alice@localhost");
    CHECK(received->attr("to") == "alice@localhost/laptop");
    CHECK(received->attr("type") == "chat");
    const Element* inner = forwarded_message(*received, "received");
    CHECK(inner->attr("from") == "bob@localhost/desk");
    CHECK(inner->attr("to") == "alice@localhost");
    CHECK(inner->attr("id") == "m1");

    // bob → alice/laptop (full): laptop gets it, phone the copy.
    s.bob.send(stanza("<message to='alice@localhost/laptop' type='chat'><body>to laptop</body></message>"));
    REQUIRE(s.laptop.wait_for(message_with_body("to laptop")));
    REQUIRE(s.phone.wait_for(carbon_of("received", "to laptop")));

    // A normal message with a body is copied as well.
    s.bob.send(stanza("<message to='alice@localhost'><body>normal one</body></message>"));
    REQUIRE(s.phone.wait_for(message_with_body("normal one")));
    REQUIRE(s.laptop.wait_for(carbon_of("received", "normal one")));

    // alice/phone → bob: bob gets it, laptop a sent copy, phone nothing.
    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>hi bob</body></message>"));
    auto to_bob = s.bob.wait_for(message_with_body("hi bob"));
    REQUIRE(to_bob);
    CHECK(to_bob->attr("from") == "alice@localhost/phone");
    auto sent = s.laptop.wait_for(carbon_of("sent", "hi bob"));
    REQUIRE(sent);
    INFO(to_xml(*sent));
    CHECK(sent->attr("from") == "alice@localhost");
    CHECK(sent->attr("to") == "alice@localhost/laptop");
    const Element* sent_inner = forwarded_message(*sent, "sent");
    CHECK(sent_inner->attr("from") == "alice@localhost/phone");
    CHECK(sent_inner->attr("to") == "bob@localhost");

    // Nothing came back to the resource that had the original.
    barrier(s.phone);
    CHECK(s.phone.count(any_carbon_of("hi alice")) == 0);
    CHECK(s.phone.count(any_carbon_of("hi bob")) == 0);
    CHECK(s.laptop.count(message_with_body("hi alice")) == 0);
    CHECK(s.bob.count(any_carbon_of("hi bob")) == 0);
}

TEST_CASE("carbons: private, no-copy, groupchat-like and bodiless messages are not copied") {
    Scene s;
    REQUIRE(carbons_iq(s.phone, "enable") == "result");
    REQUIRE(carbons_iq(s.laptop, "enable") == "result");

    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>secret in</body>"
                      "<private xmlns='urn:xmpp:carbons:2'/></message>"));
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>hint in</body>"
                      "<no-copy xmlns='urn:xmpp:hints'/></message>"));
    s.bob.send(stanza("<message to='alice@localhost'><subject>no body</subject></message>"));
    s.bob.send(stanza("<message to='alice@localhost' type='headline'><body>news</body></message>"));
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>pm</body>"
                      "<x xmlns='http://jabber.org/protocol/muc#user'/></message>"));
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>marker in</body></message>"));
    auto secret = s.phone.wait_for(message_with_body("secret in"));
    REQUIRE(secret);
    // §7: the recipient's server removes <private/> before delivery.
    CHECK(secret->find_child("private", carbons_ns) == nullptr);
    REQUIRE(s.phone.wait_for(message_with_body("hint in")));
    REQUIRE(s.laptop.wait_for(message_with_body("news")));  // headline: every resource
    // The copy of the last message came after any copies of the ones before it.
    REQUIRE(s.laptop.wait_for(carbon_of("received", "marker in")));
    CHECK(s.laptop.count(any_carbon_of("secret in")) == 0);
    CHECK(s.laptop.count(any_carbon_of("hint in")) == 0);
    CHECK(s.laptop.count(any_carbon_of("news")) == 0);
    CHECK(s.laptop.count(any_carbon_of("pm")) == 0);
    CHECK(s.laptop.count([](const Element& el) { return el.find_child("received", carbons_ns) != nullptr; }) == 1);

    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>secret out</body>"
                        "<private xmlns='urn:xmpp:carbons:2'/></message>"));
    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>hint out</body>"
                        "<no-copy xmlns='urn:xmpp:hints'/></message>"));
    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>marker out</body></message>"));
    auto secret_out = s.bob.wait_for(message_with_body("secret out"));
    REQUIRE(secret_out);
    CHECK(secret_out->find_child("private", carbons_ns) == nullptr);
    REQUIRE(s.laptop.wait_for(carbon_of("sent", "marker out")));
    CHECK(s.laptop.count(any_carbon_of("secret out")) == 0);
    CHECK(s.laptop.count(any_carbon_of("hint out")) == 0);
}

TEST_CASE("carbons: a resource without carbons gets no copies, and none after disable") {
    Scene s;
    REQUIRE(carbons_iq(s.phone, "enable") == "result");
    // laptop never enabled: nothing for it, while phone gets copies of laptop's messages.
    s.laptop.send(stanza("<message to='bob@localhost' type='chat'><body>from laptop</body></message>"));
    REQUIRE(s.bob.wait_for(message_with_body("from laptop")));
    REQUIRE(s.phone.wait_for(carbon_of("sent", "from laptop")));
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>one</body></message>"));
    REQUIRE(s.phone.wait_for(message_with_body("one")));
    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>two</body></message>"));
    REQUIRE(s.bob.wait_for(message_with_body("two")));
    barrier(s.laptop);
    barrier(s.bob);
    CHECK(s.laptop.count(any_carbon_of("one")) == 0);
    CHECK(s.laptop.count(any_carbon_of("two")) == 0);

    // laptop enables, gets a copy, disables, gets none.
    REQUIRE(carbons_iq(s.laptop, "enable") == "result");
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>three</body></message>"));
    REQUIRE(s.laptop.wait_for(carbon_of("received", "three")));
    REQUIRE(carbons_iq(s.laptop, "disable") == "result");
    s.bob.send(stanza("<message to='alice@localhost' type='chat'><body>four</body></message>"));
    s.phone.send(stanza("<message to='bob@localhost' type='chat'><body>five</body></message>"));
    REQUIRE(s.phone.wait_for(message_with_body("four")));
    REQUIRE(s.bob.wait_for(message_with_body("five")));
    // phone disables too; a message it then gets is a barrier for what laptop might get.
    REQUIRE(carbons_iq(s.phone, "disable") == "result");
    s.bob.send(stanza("<message to='alice@localhost/laptop' type='chat'><body>six</body></message>"));
    REQUIRE(s.laptop.wait_for(message_with_body("six")));
    barrier(s.phone);
    CHECK(s.laptop.count(any_carbon_of("four")) == 0);
    CHECK(s.laptop.count(any_carbon_of("five")) == 0);
    CHECK(s.phone.count(any_carbon_of("six")) == 0);
}

TEST_CASE("carbons: no copies of a message nobody receives") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient phone(server, "alice-phone"), bob(server, "bob");
    REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    phone.send_presence(-1);  // negative priority: never gets bare-JID messages
    bob.send_presence();
    barrier(phone);
    REQUIRE(carbons_iq(phone, "enable") == "result");
    bob.send(stanza("<message to='alice@localhost' type='chat'><body>nobody home</body></message>"));
    // Either stored offline or bounced; no carbon in any case.
    bob.send(stanza("<message to='alice@localhost/phone' type='chat'><body>direct</body></message>"));
    REQUIRE(phone.wait_for(message_with_body("direct")));
    CHECK(phone.count(any_carbon_of("nobody home")) == 0);
    CHECK(phone.count(message_with_body("nobody home")) == 0);
}

TEST_CASE("carbons: a roster set from one resource is pushed to every interested resource") {
    Scene s;
    for (TestClient* c : {&s.phone, &s.laptop}) {
        auto roster = c->request(stanza("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
        REQUIRE(roster);
        REQUIRE(roster->attr("type") == "result");
    }
    auto set = s.phone.request(stanza("<iq type='set'><query xmlns='jabber:iq:roster'>"
                                      "<item jid='bob@localhost' name='Bob'/></query></iq>"));
    REQUIRE(set);
    REQUIRE(set->attr("type") == "result");
    for (TestClient* c : {&s.phone, &s.laptop}) {
        auto push = c->wait_for(roster_push("bob@localhost"));
        REQUIRE_MESSAGE(push, c->name());
        CHECK(push->attr("to") == "alice@localhost/" + std::string(c == &s.phone ? "phone" : "laptop"));
        const Element* item = push->find_child("query", "jabber:iq:roster")->find_child("item", "jabber:iq:roster");
        CHECK(item->attr("name") == "Bob");
    }
}
