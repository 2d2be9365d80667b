// RFC 6121 §3 and §4 in scenes: a subscription handshake, presence broadcast and probes,
// unavailable on logout and on a dropped connection, pending requests at login,
// pre-approval, directed presence, presence to one's own bare JID, and what removing a
// roster item does to the subscriptions it carried.
#include <doctest/doctest.h>

#include <thread>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

Element stanza(const std::string& xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

Match presence_of(std::string type, std::string from) {
    return [type, from](const Element& el) {
        return el.name() == "presence" && el.attr("type") == type &&
               (from.empty() || el.attr("from") == from);
    };
}

Match push_about(std::string jid, std::string subscription, bool ask = false) {
    return [=](const Element& el) {
        if (el.name() != "iq" || el.attr("type") != "set") return false;
        const Element* q = el.find_child("query", "jabber:iq:roster");
        const Element* item = q ? q->find_child("item", "jabber:iq:roster") : nullptr;
        return item && item->attr("jid") == jid && item->attr("subscription") == subscription &&
               (item->attr("ask") == "subscribe") == ask;
    };
}

void roster_get(TestClient& c) {
    auto r = c.request(stanza("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
    REQUIRE(r);
    REQUIRE(r->attr("type") == "result");
}

// alice and bob see each other's presence ('both'), built with real stanzas. Both must
// be available: subscription stanzas go to available resources (§3.1.3).
void befriend(TestClient& alice, TestClient& bob) {
    alice.send("<presence type='subscribe' to='bob@localhost'/>");
    REQUIRE(bob.wait_for(presence_of("subscribe", "alice@localhost")));
    bob.send("<presence type='subscribed' to='alice@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("subscribed", "bob@localhost")));
    bob.send("<presence type='subscribe' to='alice@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("subscribe", "bob@localhost")));
    alice.send("<presence type='subscribed' to='bob@localhost'/>");
    REQUIRE(bob.wait_for(presence_of("subscribed", "alice@localhost")));
}

}  // namespace

TEST_CASE("alice and bob subscribe to each other and see each other come and go") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    roster_get(alice);
    roster_get(bob);
    alice.send_presence();
    bob.send_presence();

    alice.send("<presence type='subscribe' to='bob@localhost'><status>hi, it is alice</status></presence>");
    // §3.1.2: alice's roster gets the contact with ask='subscribe'.
    REQUIRE(alice.wait_for(push_about("bob@localhost", "none", true)));
    // §3.1.3: bob gets the request from alice's bare JID, her status text kept.
    auto request = bob.wait_for(presence_of("subscribe", "alice@localhost"));
    REQUIRE(request);
    CHECK(request->child_text("status") == "hi, it is alice");

    bob.send("<presence type='subscribed' to='alice@localhost'/>");
    REQUIRE(bob.wait_for(push_about("alice@localhost", "from")));
    REQUIRE(alice.wait_for(presence_of("subscribed", "bob@localhost")));
    REQUIRE(alice.wait_for(push_about("bob@localhost", "to")));
    // §3.1.5: once approved, bob's current presence reaches alice — also after the
    // approval, where a client takes it into account.
    REQUIRE(alice.wait_for(presence_of("", "bob@localhost/work")));
    REQUIRE(alice.wait_count(presence_of("", "bob@localhost/work"), 2));
    std::size_t subscribed_at = 0, last_presence_at = 0;
    for (std::size_t i = 0; i < alice.received().size(); ++i) {
        const auto& r = alice.received()[i];
        if (!r.element) continue;
        if (presence_of("subscribed", "bob@localhost")(*r.element)) subscribed_at = i;
        if (presence_of("", "bob@localhost/work")(*r.element)) last_presence_at = i;
    }
    CHECK(last_presence_at > subscribed_at);

    bob.send("<presence type='subscribe' to='alice@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("subscribe", "bob@localhost")));
    alice.send("<presence type='subscribed' to='bob@localhost'/>");
    REQUIRE(alice.wait_for(push_about("bob@localhost", "both")));
    REQUIRE(bob.wait_for(push_about("alice@localhost", "both")));

    // §4.4: a presence update goes to the subscribers.
    alice.send("<presence><show>away</show><status>lunch</status></presence>");
    auto update = bob.wait_for([](const Element& el) {
        return el.name() == "presence" && el.attr("from") == "alice@localhost/home" && el.child_text("show") == "away";
    });
    REQUIRE(update);
    CHECK(update->child_text("status") == "lunch");

    // §4.5: logging out sends unavailable to them.
    alice.send("<presence type='unavailable'><status>bye</status></presence>");
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@localhost/home")));
    alice.disconnect();

    // §4.2 and §4.3: a new login broadcasts to bob and probes him, so it learns his presence.
    TestClient alice2(server, "alice");
    REQUIRE(alice2.login("alice@localhost/phone", "secret"));
    alice2.send_presence();
    REQUIRE(bob.wait_for(presence_of("", "alice@localhost/phone")));
    REQUIRE(alice2.wait_for(presence_of("", "bob@localhost/work")));

    // §4.5.2 / RFC 6120 §4.4: a connection that drops is an unavailable presence.
    bob.send("<presence><status>still here</status></presence>");
    REQUIRE(alice2.wait_for(presence_of("", "bob@localhost/work")));
    alice2.disconnect();
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@localhost/phone")));
}

TEST_CASE("a dropped connection makes its resource unavailable to the contacts") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    alice.send_presence();
    bob.send_presence();
    befriend(alice, bob);

    // Raw alice: logs in, sends presence, then the TCP connection just ends.
    auto raw = raw_login(server, "alice", "secret", "raw");
    REQUIRE(raw);
    raw->send("<presence/>");
    REQUIRE(bob.wait_for(presence_of("", "alice@localhost/raw")));
    raw->close();
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@localhost/raw")));
}

TEST_CASE("a request made while bob was away reaches him when he comes online") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    roster_get(alice);
    alice.send_presence();
    alice.send("<presence type='subscribe' to='bob@localhost'/>");
    REQUIRE(alice.wait_for(push_about("bob@localhost", "none", true)));

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    bob.send_presence();
    REQUIRE(bob.wait_for(presence_of("subscribe", "alice@localhost")));
    // Still pending: the next login gets it again until bob answers.
    bob.disconnect();
    TestClient bob2(server, "bob");
    REQUIRE(bob2.login("bob@localhost/work", "secret"));
    bob2.send_presence();
    REQUIRE(bob2.wait_for(presence_of("subscribe", "alice@localhost")));
    bob2.send("<presence type='unsubscribed' to='alice@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("unsubscribed", "bob@localhost")));
    REQUIRE(alice.wait_for(push_about("bob@localhost", "none", false)));
    bob2.disconnect();
    TestClient bob3(server, "bob");
    REQUIRE(bob3.login("bob@localhost/work", "secret"));
    bob3.send_presence();
    CHECK_FALSE(bob3.wait_for(presence_of("subscribe", "alice@localhost"), 500ms));
}

TEST_CASE("a subscription request to an account that does not exist is declined") {
    ServerProcess server;
    server.add_user("alice", "secret");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    alice.send_presence();
    alice.send("<presence type='subscribe' to='nobody@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("unsubscribed", "nobody@localhost")));
}

TEST_CASE("bob pre-approves alice, whose request is then granted without asking him") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    roster_get(bob);
    alice.send_presence();
    bob.send_presence();
    bob.send("<presence type='subscribed' to='alice@localhost'/>");
    auto push = bob.wait_for(push_about("alice@localhost", "none"));
    REQUIRE(push);
    CHECK(push->find_child("query", "jabber:iq:roster")->find_child("item", "jabber:iq:roster")->attr("approved") ==
          "true");
    CHECK_FALSE(alice.wait_for(presence_of("subscribed", "bob@localhost"), 300ms));  // not routed

    alice.send("<presence type='subscribe' to='bob@localhost'/>");
    REQUIRE(alice.wait_for(presence_of("subscribed", "bob@localhost")));
    REQUIRE(bob.wait_for(push_about("alice@localhost", "from")));
    CHECK(bob.count(presence_of("subscribe", "alice@localhost")) == 0);
}

TEST_CASE("the pre-approval stream feature is offered") {
    ServerProcess server;
    server.add_user("alice", "secret");
    auto tls = open_tls_stream(server);
    ScramClientOptions opts;
    opts.username = "alice";
    opts.password = "secret";
    REQUIRE(sasl_scram(*tls.client, opts).success);
    auto features = restart_stream(*tls.client, "localhost");
    REQUIRE(features);
    CHECK(features->find_child("sub", "urn:xmpp:features:pre-approval"));
}

TEST_CASE("directed presence is undone when its sender goes offline") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("carol", "secret");
    TestClient alice(server, "alice"), carol(server, "carol");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(carol.login("carol@localhost/desk", "secret"));
    alice.send_presence();
    carol.send_presence();
    alice.send("<presence to='carol@localhost'><status>let us talk</status></presence>");
    auto got = carol.wait_for(presence_of("", "alice@localhost/home"));
    REQUIRE(got);
    CHECK(got->child_text("status") == "let us talk");
    alice.disconnect();
    REQUIRE(carol.wait_for(presence_of("unavailable", "alice@localhost/home")));
}

TEST_CASE("presence reaches the account's other resources, and to its own bare JID too") {
    ServerProcess server;
    server.add_user("alice", "secret");
    TestClient phone(server, "phone"), laptop(server, "laptop");
    REQUIRE(phone.login("alice@localhost/phone", "secret"));
    REQUIRE(laptop.login("alice@localhost/laptop", "secret"));
    phone.send_presence();
    laptop.send_presence();
    REQUIRE(phone.wait_for(presence_of("", "alice@localhost/laptop")));
    // The first to arrive learns about the second, and the second about the first.
    REQUIRE(laptop.wait_for(presence_of("", "alice@localhost/phone")));
    phone.send("<presence to='alice@localhost'><status>note to self</status></presence>");
    auto note = laptop.wait_for([](const Element& el) {
        return el.name() == "presence" && el.child_text("status") == "note to self";
    });
    REQUIRE(note);
    CHECK(note->attr("from") == "alice@localhost/phone");
}

TEST_CASE("removing a contact from the roster ends both subscriptions") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    roster_get(alice);
    roster_get(bob);
    alice.send_presence();
    bob.send_presence();
    befriend(alice, bob);
    REQUIRE(bob.wait_for(push_about("alice@localhost", "both")));

    auto r = alice.request(stanza(
        "<iq type='set'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>"));
    REQUIRE(r);
    CHECK(r->attr("type") == "result");
    // §2.5.2: bob is told both ways and stops seeing alice.
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@localhost/home")));
    REQUIRE(bob.wait_for(presence_of("unsubscribe", "alice@localhost")));
    REQUIRE(bob.wait_for(presence_of("unsubscribed", "alice@localhost")));
    REQUIRE(bob.wait_for(push_about("alice@localhost", "none")));
    // And alice's later updates no longer reach him.
    alice.send("<presence><status>after</status></presence>");
    CHECK_FALSE(bob.wait_for([](const Element& el) { return el.child_text("status") == "after"; }, 400ms));
}

TEST_CASE("available presence carries the avatar hash of the account (XEP-0398 section 4)") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/home", "secret"));
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    alice.send_presence();
    bob.send_presence();
    befriend(alice, bob);

    // A vCard PHOTO becomes the PEP avatar; its id is the SHA-1 of the image.
    auto set = alice.request(stanza("<iq type='set'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE>"
                                    "<BINVAL>iVBORw0KGgpwYXJsZXk=</BINVAL></PHOTO></vCard></iq>"));
    REQUIRE(set);
    REQUIRE(set->attr("type") == "result");
    auto meta = alice.request(stanza("<iq type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                                     "<items node='urn:xmpp:avatar:metadata'/></pubsub></iq>"));
    REQUIRE(meta);
    REQUIRE(meta->attr("type") == "result");
    const Element* items = meta->find_child("pubsub", "http://jabber.org/protocol/pubsub")
                               ->find_child("items", "http://jabber.org/protocol/pubsub");
    REQUIRE(items);
    const Element* item = items->find_child("item", "http://jabber.org/protocol/pubsub");
    REQUIRE(item);
    const std::string hash(item->attr("id"));
    REQUIRE(hash.size() == 40);

    auto photo_of = [](const Element& el) {
        const Element* x = el.find_child("x", "vcard-temp:x:update");
        const Element* photo = x ? x->find_child("photo", "vcard-temp:x:update") : nullptr;
        return photo ? std::optional<std::string>(photo->text()) : std::nullopt;
    };
    alice.send("<presence><status>with avatar</status></presence>");
    auto seen = bob.wait_for([](const Element& el) { return el.child_text("status") == "with avatar"; });
    REQUIRE(seen);
    CHECK(photo_of(*seen) == hash);
    // An empty <photo/> from the client is left alone ("no avatar to show").
    alice.send("<presence><status>hidden</status><x xmlns='vcard-temp:x:update'><photo/></x></presence>");
    auto hidden = bob.wait_for([](const Element& el) { return el.child_text("status") == "hidden"; });
    REQUIRE(hidden);
    CHECK(photo_of(*hidden) == std::string());
}

TEST_CASE("a pending request survives a restart of the server") {
    ServerProcess server;
    server.add_user("alice", "secret");
    server.add_user("bob", "secret");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/home", "secret"));
        roster_get(alice);
        alice.send("<presence type='subscribe' to='bob@localhost'/>");
        REQUIRE(alice.wait_for(push_about("bob@localhost", "none", true)));
        alice.disconnect();
    }
    server.restart();
    // At start-up the server learns again which accounts have requests waiting.
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/work", "secret"));
    bob.send_presence();
    REQUIRE(bob.wait_for(presence_of("subscribe", "alice@localhost")));
}
