// Resource binding (RFC 6120 §7) and the legacy session establishment that old clients
// still send (RFC 3921 §3, kept as a no-op by RFC 6121 Appendix E).
#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"
#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;

namespace {

// Logs in by hand up to the point where a resource can be bound.
std::unique_ptr<RawClient> authenticated(const ServerProcess& server, const std::string& user,
                                         const std::string& password) {
    auto tls = open_tls_stream(server);
    ScramClientOptions scram;
    scram.mechanism = "SCRAM-SHA-256-PLUS";
    scram.username = user;
    scram.password = password;
    auto outcome = sasl_scram(*tls.client, scram);
    REQUIRE_MESSAGE(outcome.success, outcome.failure << " " << outcome.problem);
    auto features = restart_stream(*tls.client, server.domain());
    REQUIRE_MESSAGE(features, tls.client->received());
    REQUIRE(features->find_child("bind", ns::bind));
    return std::move(tls.client);
}

}  // namespace

TEST_CASE("alice chooses her resource") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/garden", "wonderland"));
    CHECK(alice.bound_jid() == "alice@localhost/garden");

    auto raw = authenticated(server, "alice", "wonderland");
    CHECK(bind_resource(*raw, "rabbit-hole") == "alice@localhost/rabbit-hole");
}

TEST_CASE("the server picks a resource when alice asks for none") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    auto first = authenticated(server, "alice", "wonderland");
    std::string jid1 = bind_resource(*first, "");
    REQUIRE(jid1.starts_with("alice@localhost/"));
    CHECK(jid1.size() > std::string("alice@localhost/").size());

    auto second = authenticated(server, "alice", "wonderland");
    std::string jid2 = bind_resource(*second, "");
    REQUIRE(jid2.starts_with("alice@localhost/"));
    CHECK(jid2 != jid1);

    // libstrophe with a bare JID gets one too.
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost", "wonderland"));
    CHECK(alice.bound_jid().starts_with("alice@localhost/"));
    CHECK(alice.bound_jid().size() > std::string("alice@localhost/").size());
}

TEST_CASE("a second login with the same resource replaces the first one") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");

    TestClient old_alice(server, "old-alice");
    REQUIRE(old_alice.login("alice@localhost/phone", "wonderland"));
    TestClient new_alice(server, "new-alice");
    REQUIRE(new_alice.login("alice@localhost/phone", "wonderland"));
    CHECK(new_alice.bound_jid() == "alice@localhost/phone");

    // RFC 6120 §7.7.2.2: the older session gets <conflict/> and its stream closes.
    REQUIRE(old_alice.wait_disconnected(5s));
    CHECK(old_alice.stream_error() == "conflict");
    CHECK(new_alice.is_connected());

    // Bob's message to alice@localhost/phone reaches the new session.
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/site", "builder"));
    bob.send("<message to='alice@localhost/phone' type='chat'><body>still there?</body></message>");
    auto msg = new_alice.wait_for(message_with_body("still there?"));
    REQUIRE(msg);
    CHECK(msg->attr("from") == "bob@localhost/site");
}

TEST_CASE("the legacy session iq gets an empty result") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/old-client", "wonderland"));
    auto reply = alice.request(*parse_fragment(
        "<iq type='set'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>"));
    REQUIRE(reply);
    CHECK(reply->attr("type") == "result");

    // The same over a raw stream, right after bind, as RFC 3921 clients do it.
    auto raw = authenticated(server, "alice", "wonderland");
    REQUIRE(bind_resource(*raw, "older-client") == "alice@localhost/older-client");
    raw->send("<iq type='set' id='sess-1'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
    auto raw_reply = raw->wait_for(iq_reply_to("sess-1"));
    REQUIRE_MESSAGE(raw_reply, raw->received());
    CHECK(raw_reply->attr("type") == "result");
}
