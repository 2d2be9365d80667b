// RFC 6121 across two federated Parley instances: a subscription handshake between
// alice@parley.example and bob@other.example, presence both ways (initial, probes at
// login, updates, unavailable), directed presence, and iq to a remote account (vCard).
#include <doctest/doctest.h>

#include "support/federation_pair.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);

Match presence_of(std::string type, std::string from) {
    return [type, from](const Element& el) {
        return el.name() == "presence" && el.attr("type") == type && el.attr("from") == from;
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
    auto r = c.request(*parse_fragment("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
    REQUIRE(r);
    REQUIRE(r->attr("type") == "result");
}

}  // namespace

TEST_CASE("s2s presence: alice and bob on two servers subscribe to each other and see each other come and go") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice"), bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    roster_get(alice);
    roster_get(bob);
    alice.send_presence();
    bob.send_presence();

    // §3.1: the request crosses to bob's server, which stores and delivers it.
    alice.send("<presence type='subscribe' to='bob@other.example'><status>alice here</status></presence>");
    REQUIRE(alice.wait_for(push_about("bob@other.example", "none", true)));
    auto request = bob.wait_for(presence_of("subscribe", "alice@parley.example"), federation_wait);
    REQUIRE_MESSAGE(request, "no request at bob; a's log:\n" << pair.a().log() << "\nb's log:\n" << pair.b().log());
    CHECK(request->child_text("status") == "alice here");

    bob.send("<presence type='subscribed' to='alice@parley.example'/>");
    REQUIRE(bob.wait_for(push_about("alice@parley.example", "from")));
    REQUIRE(alice.wait_for(presence_of("subscribed", "bob@other.example"), federation_wait));
    REQUIRE(alice.wait_for(push_about("bob@other.example", "to")));
    // §3.1.5: bob's server sends his presence once it approved.
    REQUIRE(alice.wait_for(presence_of("", "bob@other.example/work"), federation_wait));

    bob.send("<presence type='subscribe' to='alice@parley.example'/>");
    REQUIRE(alice.wait_for(presence_of("subscribe", "bob@other.example"), federation_wait));
    alice.send("<presence type='subscribed' to='bob@other.example'/>");
    REQUIRE(alice.wait_for(push_about("bob@other.example", "both")));
    REQUIRE(bob.wait_for(push_about("alice@parley.example", "both"), federation_wait));
    REQUIRE(bob.wait_for(presence_of("", "alice@parley.example/home"), federation_wait));

    // §4.4: an update reaches the remote subscriber.
    alice.send("<presence><show>away</show><status>lunch</status></presence>");
    auto update = bob.wait_for(
        [](const Element& el) {
            return el.name() == "presence" && el.attr("from") == "alice@parley.example/home" &&
                   el.child_text("show") == "away";
        },
        federation_wait);
    REQUIRE(update);
    CHECK(update->child_text("status") == "lunch");

    // §4.5: logging out sends unavailable across.
    alice.send("<presence type='unavailable'/>");
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@parley.example/home"), federation_wait));
    alice.disconnect();

    // §4.2/§4.3: a new login broadcasts to bob and probes his server, which answers with
    // his presence.
    TestClient alice2(pair.a(), "alice");
    REQUIRE(alice2.login("alice@parley.example/phone", "wonderland"));
    alice2.send_presence();
    REQUIRE(bob.wait_for(presence_of("", "alice@parley.example/phone"), federation_wait));
    REQUIRE(alice2.wait_for(presence_of("", "bob@other.example/work"), federation_wait));

    // A dropped connection is an unavailable presence for the remote contact too.
    bob.disconnect();
    REQUIRE(alice2.wait_for(presence_of("unavailable", "bob@other.example/work"), federation_wait));
}

TEST_CASE("s2s presence: a request to an account the other server does not have is declined by that server") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    TestClient alice(pair.a(), "alice");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    roster_get(alice);
    alice.send_presence();
    alice.send("<presence type='subscribe' to='nobody@other.example'/>");
    // §3.1.3: the contact's server answers unsubscribed on the missing user's behalf, and
    // alice's roster drops the pending ask.
    REQUIRE(alice.wait_for(presence_of("unsubscribed", "nobody@other.example"), federation_wait));
    REQUIRE(alice.wait_for(push_about("nobody@other.example", "none", false), federation_wait));
}

TEST_CASE("s2s presence: directed presence reaches a remote full JID, and its unavailable follows at logout") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice"), bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    alice.send_presence();
    bob.send_presence();
    alice.send("<presence to='bob@other.example/work'><status>psst</status></presence>");
    auto directed = bob.wait_for(presence_of("", "alice@parley.example/home"), federation_wait);
    REQUIRE(directed);
    CHECK(directed->child_text("status") == "psst");
    alice.disconnect();  // §4.6.3: the server tells everyone it sent directed presence to
    REQUIRE(bob.wait_for(presence_of("unavailable", "alice@parley.example/home"), federation_wait));
}

TEST_CASE("s2s presence: alice reads bob's vCard from his server") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice"), bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    auto set = bob.request(*parse_fragment(
        "<iq type='set'><vCard xmlns='vcard-temp'><FN>Bob the Builder</FN></vCard></iq>"));
    REQUIRE(set);
    REQUIRE(set->attr("type") == "result");
    auto card = alice.request(
        *parse_fragment("<iq type='get' to='bob@other.example'><vCard xmlns='vcard-temp'/></iq>"), federation_wait);
    REQUIRE(card);
    REQUIRE(card->attr("type") == "result");
    CHECK(card->attr("from") == "bob@other.example");
    const Element* v = card->find_child("vCard", "vcard-temp");
    REQUIRE(v);
    CHECK(v->child_text("FN") == "Bob the Builder");

    // disco#info of the remote server comes from that server.
    auto info = alice.request(
        *parse_fragment("<iq type='get' to='other.example'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        federation_wait);
    REQUIRE(info);
    CHECK(info->attr("type") == "result");
    CHECK(info->attr("from") == "other.example");
    // Bob does not share his presence with alice, so his account hides what it is
    // (the same answer a local stranger gets).
    auto hidden = alice.request(
        *parse_fragment("<iq type='get' to='bob@other.example'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        federation_wait);
    REQUIRE(hidden);
    CHECK(hidden->attr("type") == "error");
}
