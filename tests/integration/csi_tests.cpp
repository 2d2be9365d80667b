// XEP-0352 Client State Indication: the stream feature after authentication, presence
// held while inactive (the latest per sender), released on <active/> or before a
// message from the same sender; messages are never held.
#include <doctest/doctest.h>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view csi_ns = "urn:xmpp:csi:0";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

void barrier(TestClient& client) {
    auto r = client.request(stanza("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(r);
    REQUIRE(r->attr("type") == "result");
}

// Pings the server from the raw client and returns everything that arrived before the
// answer, in order.
std::vector<Element> raw_barrier(RawClient& client, std::string id) {
    REQUIRE(client.send("<iq type='get' id='" + id + "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
    std::vector<Element> before;
    for (;;) {
        auto el = client.next();
        REQUIRE_MESSAGE(el, "no answer to ping " << id << "; received: " << client.received());
        if (el->name() == "iq" && el->attr("id") == id) return before;
        before.push_back(std::move(*el));
    }
}

bool is_presence_with_status(const Element& el, std::string_view from, std::string_view status) {
    return el.name() == "presence" && el.attr("from") == from && el.child_text("status") == status;
}

void send_directed_presence(TestClient& from, std::string_view status) {
    from.send(stanza("<presence to='alice@localhost/phone'><status>" + std::string(status) + "</status></presence>"));
}

// alice logs in by hand so the test sees her post-authentication features.
struct RawAlice {
    std::unique_ptr<RawClient> client;
    Element pre_auth_features;
    Element bound_features;
};

RawAlice login_alice(const ServerProcess& server) {
    auto tls = open_tls_stream(server, Transport::starttls);
    ScramClientOptions scram;
    scram.mechanism = "SCRAM-SHA-256";
    scram.username = "alice";
    scram.password = "wonderland";
    auto outcome = sasl_scram(*tls.client, scram);
    REQUIRE_MESSAGE(outcome.success, outcome.failure << " " << outcome.problem);
    auto features = restart_stream(*tls.client, server.domain());
    REQUIRE(features);
    REQUIRE(bind_resource(*tls.client, "phone") == "alice@localhost/phone");
    return {std::move(tls.client), tls.features, *features};
}

}  // namespace

TEST_CASE("csi: the feature is offered after authentication only") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    auto alice = login_alice(server);
    CHECK(alice.pre_auth_features.find_child("csi", csi_ns) == nullptr);
    CHECK_MESSAGE(alice.bound_features.find_child("csi", csi_ns) != nullptr, to_xml(alice.bound_features));
}

TEST_CASE("csi: while alice is inactive bob's presence waits and carol's message does not") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    auto alice = login_alice(server);
    RawClient& a = *alice.client;
    REQUIRE(a.send("<presence/>"));
    TestClient bob(server, "bob"), carol(server, "carol");
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    REQUIRE(carol.login("carol@localhost/home", "singer"));
    raw_barrier(a, "p0");  // whatever came so far (her own presence) is set aside

    // Active (the start state): directed presence arrives at once.
    send_directed_presence(bob, "here");
    barrier(bob);
    auto at_once = raw_barrier(a, "p1");
    REQUIRE(at_once.size() == 1);
    CHECK(is_presence_with_status(at_once[0], "bob@localhost/desk", "here"));

    REQUIRE(a.send("<inactive xmlns='urn:xmpp:csi:0'/>"));
    CHECK(raw_barrier(a, "p2").empty());  // a nonza gets no answer
    send_directed_presence(bob, "busy");
    send_directed_presence(bob, "away");
    send_directed_presence(bob, "lunch");
    barrier(bob);  // bob's presences reached alice's session before carol's message
    carol.send(stanza("<message to='alice@localhost/phone' type='chat'><body>urgent</body></message>"));
    auto urgent = a.next();
    REQUIRE(urgent);
    INFO(to_xml(*urgent));
    CHECK(urgent->name() == "message");
    CHECK(urgent->child_text("body") == "urgent");
    CHECK(raw_barrier(a, "p3").empty());  // iq results are not held either

    // Active again: only bob's latest presence.
    REQUIRE(a.send("<active xmlns='urn:xmpp:csi:0'/>"));
    auto released = raw_barrier(a, "p4");
    REQUIRE(released.size() == 1);
    CHECK(is_presence_with_status(released[0], "bob@localhost/desk", "lunch"));
    send_directed_presence(bob, "back");
    barrier(bob);
    auto live = raw_barrier(a, "p5");
    REQUIRE(live.size() == 1);
    CHECK(is_presence_with_status(live[0], "bob@localhost/desk", "back"));

    // Inactive again: a message from bob brings his held presence first, carol's stays.
    REQUIRE(a.send("<inactive xmlns='urn:xmpp:csi:0'/>"));
    raw_barrier(a, "p6");
    send_directed_presence(carol, "carol-1");
    send_directed_presence(bob, "typing soon");
    send_directed_presence(bob, "typing now");
    barrier(carol);
    bob.send(stanza("<message to='alice@localhost/phone' type='chat'><body>hello</body></message>"));
    auto first = a.next();
    REQUIRE(first);
    CHECK_MESSAGE(is_presence_with_status(*first, "bob@localhost/desk", "typing now"), to_xml(*first));
    auto second = a.next();
    REQUIRE(second);
    CHECK(second->name() == "message");
    CHECK(second->child_text("body") == "hello");
    CHECK(raw_barrier(a, "p7").empty());

    // Going inactive twice changes nothing; active releases carol's.
    REQUIRE(a.send("<inactive xmlns='urn:xmpp:csi:0'/>"));
    REQUIRE(a.send("<active xmlns='urn:xmpp:csi:0'/>"));
    REQUIRE(a.send("<active xmlns='urn:xmpp:csi:0'/>"));
    auto rest = raw_barrier(a, "p8");
    REQUIRE(rest.size() == 1);
    CHECK(is_presence_with_status(rest[0], "carol@localhost/home", "carol-1"));
}

TEST_CASE("csi: a later unavailable replaces held presence; other top-level elements still close the stream") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    auto alice = login_alice(server);
    RawClient& a = *alice.client;
    REQUIRE(a.send("<presence/>"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    raw_barrier(a, "p0");
    REQUIRE(a.send("<inactive xmlns='urn:xmpp:csi:0'/>"));
    raw_barrier(a, "p1");
    send_directed_presence(bob, "held");
    bob.send(stanza("<presence to='alice@localhost/phone' type='unavailable'/>"));
    barrier(bob);
    // Only the latest (unavailable) is kept for bob.
    REQUIRE(a.send("<active xmlns='urn:xmpp:csi:0'/>"));
    auto released = raw_barrier(a, "p2");
    REQUIRE(released.size() == 1);
    CHECK(released[0].attr("type") == "unavailable");

    REQUIRE(a.send("<bogus xmlns='urn:xmpp:csi:0'/>"));
    CHECK(a.wait_stream_error() == std::optional<std::string>("unsupported-stanza-type"));
}
