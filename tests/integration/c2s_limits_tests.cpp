// The limits an operator sets in [limits] and [c2s], each met by a client that
// crosses it: the stream ends with the RFC 6120 condition, and the server goes on
// serving everybody else. Also the keepalive and the SIGHUP certificate reload.
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <doctest/doctest.h>

#include <filesystem>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view header =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>";

void expect_ping_works(const ServerProcess& server, std::string_view resource) {
    auto alice = raw_login(server, "alice", "wonderland", resource);
    alice->send("<iq type='get' to='localhost' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto pong = alice->wait_for(iq_reply_to("alive"));
    REQUIRE_MESSAGE(pong, alice->received());
    CHECK(pong->attr("type") == "result");
}

// Waits without expecting anything, so that time passes while the socket is read.
void let_time_pass(RawClient& client, std::chrono::milliseconds how_long) {
    client.wait_for([](const Element&) { return false; }, how_long);
}

std::string peer_certificate_digest(RawClient& client) {
    X509* cert = SSL_get1_peer_certificate(client.ssl());
    REQUIRE(cert);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert, EVP_sha256(), md, &len);
    X509_free(cert);
    return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

TEST_CASE("an element with more attributes than max_attributes gets policy-violation") {
    ServerOptions options;
    options.max_attributes = 8u;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    server.add_user("mallory", "evil");

    auto mallory = raw_login(server, "mallory", "evil");
    mallory->send("<message to='alice@localhost' a1='1' a2='2' a3='3' a4='4' a5='5' a6='6' a7='7' a8='8' a9='9'/>");
    auto error = mallory->wait_stream_error();
    REQUIRE_MESSAGE(error, mallory->received());
    CHECK(*error == "policy-violation");
    CHECK(mallory->wait_closed());
    expect_ping_works(server, "after");
}

TEST_CASE("a bound client that sends nothing for idle_timeout gets connection-timeout") {
    ServerOptions options;
    options.idle_timeout = 2;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto sleepy = raw_login(server, "alice", "wonderland", "sleepy");
    auto error = sleepy->wait_stream_error(6s);
    REQUIRE_MESSAGE(error, sleepy->received());
    CHECK(*error == "connection-timeout");
    CHECK(sleepy->wait_closed());
}

TEST_CASE("a quiet stream gets a whitespace keepalive every keepalive_interval") {
    ServerOptions options;
    options.keepalive_interval = 1;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto alice = raw_login(server, "alice", "wonderland");
    const std::size_t before = alice->received().size();
    let_time_pass(*alice, 2500ms);
    const std::string after = alice->received().substr(before);
    CHECK_MESSAGE(after.find(' ') != std::string::npos, "received: '" << after << "'");
    CHECK(after.find_first_not_of(" \n\t") == std::string::npos);  // nothing but whitespace
    CHECK_FALSE(alice->is_closed());
}

TEST_CASE("max_connections_per_ip refuses the extra connection with policy-violation") {
    ServerOptions options;
    options.max_connections_per_ip = 2u;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    // Two admitted connections (retrying while the harness's probes still count).
    std::vector<std::unique_ptr<RawClient>> admitted_clients;
    for (int attempt = 0; attempt < 50 && admitted_clients.size() < 2; ++attempt) {
        auto candidate = std::make_unique<RawClient>(server.port());
        candidate->send(header);
        if (candidate->wait_for(named("features", std::string(parley::protocol::xml::stream_namespace)), 200ms)) {
            admitted_clients.push_back(std::move(candidate));
        }
    }
    REQUIRE(admitted_clients.size() == 2);

    RawClient third(server.port());
    third.send(header);
    auto error = third.wait_stream_error();
    REQUIRE_MESSAGE(error, third.received());
    CHECK(*error == "policy-violation");
    CHECK(third.wait_closed());

    // A closed connection frees its place (once the server has seen it go: bounded retries).
    admitted_clients.front()->close();
    bool admitted = false;
    for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
        RawClient probe(server.port());
        probe.send(header);
        auto features = probe.wait_for(named("features", std::string(parley::protocol::xml::stream_namespace)), 200ms);
        admitted = features.has_value();
    }
    CHECK(admitted);
}

TEST_CASE("max_connections refuses connections over the total with policy-violation") {
    ServerOptions options;
    options.max_connections = 1u;
    ServerProcess server(options);

    // The harness's readiness probes may hold the one place for a moment: retry until
    // a connection is admitted (it gets stream features).
    std::unique_ptr<RawClient> first;
    for (int attempt = 0; attempt < 50 && !first; ++attempt) {
        auto candidate = std::make_unique<RawClient>(server.port());
        candidate->send(header);
        if (candidate->wait_for(named("features", std::string(parley::protocol::xml::stream_namespace)), 200ms)) {
            first = std::move(candidate);
        }
    }
    REQUIRE(first);
    RawClient second(server.port());
    second.send(header);
    auto error = second.wait_stream_error();
    REQUIRE_MESSAGE(error, second.received());
    CHECK(*error == "policy-violation");
    CHECK(server.wait_for_log("connection_refused", 5s));
}

TEST_CASE("a reader too slow for max_outbound_bytes is closed with policy-violation") {
    ServerOptions options;
    options.max_stanza_bytes = 20000u;
    options.max_outbound_bytes = 20000u;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");

    auto bob = raw_login(server, "bob", "builder", "slow");  // and then never reads
    auto alice = raw_login(server, "alice", "wonderland", "flood");
    const std::string body(15000, 'x');
    bool overflowed = false;
    // Kernel buffers take a few megabytes first; bounded at 40 MB of messages.
    for (int i = 0; i < 2700 && !overflowed; ++i) {
        REQUIRE(alice->send("<message to='bob@localhost/slow' type='chat'><body>" + body + "</body></message>"));
        if (i % 20 == 19) {
            let_time_pass(*alice, 1ms);  // read the bounces so that alice's own queue stays short
            overflowed = server.log().find("session_outbound_overflow") != std::string::npos;
        }
    }
    REQUIRE_MESSAGE(overflowed, "bob's queue never overflowed");
    // Bob reads at last: what was queued, then the error, then the end of the stream.
    auto error = bob->wait_stream_error(10s);
    if (error) CHECK(*error == "policy-violation");
    CHECK(bob->wait_closed(10s));
    // Alice was not harmed.
    alice->send("<iq type='get' to='localhost' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto pong = alice->wait_for(iq_reply_to("alive"), 10s);
    REQUIRE_MESSAGE(pong, "alice lost her stream too");
}

TEST_CASE("SIGHUP reloads the certificate for new connections") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    RawClient before(server.direct_tls_port());
    REQUIRE(before.start_tls("xmpp-client"));
    const std::string old_digest = peer_certificate_digest(before);

    // With no certificate configured, a reload makes a new self-signed one if it is gone.
    std::filesystem::remove(server.state_dir() / "tls" / "self-signed.crt");
    std::filesystem::remove(server.state_dir() / "tls" / "self-signed.key");
    server.send_signal(SIGHUP);
    REQUIRE(server.wait_for_log("reloaded", 5s));

    RawClient after(server.direct_tls_port());
    REQUIRE(after.start_tls("xmpp-client"));
    CHECK(peer_certificate_digest(after) != old_digest);
    // The connection made before the reload still works.
    before.send(header);
    CHECK(before.wait_header());
    expect_ping_works(server, "after-reload");
}
