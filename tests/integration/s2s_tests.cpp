// Federation between two Parley instances on loopback (RFC 6120 server-to-server
// streams, XEP-0220 dialback): stanzas both ways, bounces when a remote server cannot
// be reached, and a raw peer that lies about its domain or sends a bad key.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/dns_responder.hpp"
#include "support/federation_pair.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);

// A TCP port that accepts connections (the kernel completes them) but never reads or
// answers: a server that stopped responding.
class SilentListener {
public:
    SilentListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~SilentListener() { ::close(fd_); }
    std::uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

Match dialback_result() { return named("result", "jabber:server:dialback"); }

}  // namespace

TEST_CASE("s2s: alice and bob on two federated servers write to each other") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice");
    TestClient bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send_presence();  // available: messages to her bare JID reach this session
    bob.send_presence();

    alice.send("<message to='bob@other.example/laptop' type='chat' id='m1'><body>hello across</body></message>");
    auto got = bob.wait_for(message_with_body("hello across"), federation_wait);
    REQUIRE_MESSAGE(got, "bob received nothing; a's log:\n" << pair.a().log());
    CHECK(got->attr("from") == "alice@parley.example/phone");
    CHECK(got->attr("to") == "bob@other.example/laptop");

    // The answer takes b's own outgoing stream (a's incoming one).
    bob.send("<message to='alice@parley.example' type='chat' id='m2'><body>hello back</body></message>");
    auto back = alice.wait_for(message_with_body("hello back"), federation_wait);
    REQUIRE(back);
    CHECK(back->attr("from") == "bob@other.example/laptop");

    // Once set up, the streams carry more without a new handshake.
    for (int i = 0; i < 5; ++i) {
        alice.send("<message to='bob@other.example' type='chat'><body>n" + std::to_string(i) + "</body></message>");
    }
    CHECK(bob.wait_for(message_with_body("n4"), federation_wait));
    CHECK(pair.a().log().find("s2s_outgoing_established") != std::string::npos);
}

TEST_CASE("s2s: alice pings the other server and gets its answer") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    TestClient alice(pair.a(), "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    auto pong = alice.request(*parse_fragment("<iq type='get' to='other.example' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>"),
                              federation_wait);
    REQUIRE(pong);
    CHECK(pong->attr("type") == "result");
    CHECK(pong->attr("from") == "other.example");

    // An account that does not exist there is answered by that server, not by ours.
    auto nobody = alice.request(
        *parse_fragment("<iq type='get' to='nobody@other.example/x' id='ping2'><ping xmlns='urn:xmpp:ping'/></iq>"),
        federation_wait);
    REQUIRE(nobody);
    CHECK(nobody->attr("type") == "error");
    CHECK(stanza_error_condition(*nobody) == "service-unavailable");
}

TEST_CASE("s2s: a message to a server whose port is closed bounces with remote-server-not-found") {
    const std::uint16_t closed = pick_free_port();
    ServerProcess server(federated_options("parley.example", {{"closed.example", "127.0.0.1:" + std::to_string(closed)}}));
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send("<message to='someone@closed.example' type='chat' id='lost'><body>anyone?</body></message>");
    auto bounce = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("type") == "error"; }),
                                 federation_wait);
    REQUIRE(bounce);
    CHECK(bounce->attr("id") == "lost");
    CHECK(bounce->attr("from") == "someone@closed.example");
    CHECK(stanza_error_condition(*bounce) == "remote-server-not-found");
}

TEST_CASE("s2s: a domain whose DNS servers cannot be reached bounces with remote-server-not-found, at once") {
    // No route and no responder: the lookup goes to the harness's dead loopback port.
    ServerProcess server(federated_options("parley.example", {}));
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    const auto sent_at = std::chrono::steady_clock::now();
    alice.send("<message to='someone@unrouted.example' type='chat' id='nodns'><body>anyone?</body></message>");
    auto bounce = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("type") == "error"; }),
                                 federation_wait);
    REQUIRE_MESSAGE(bounce, server.log());
    CHECK(bounce->attr("id") == "nodns");
    CHECK(stanza_error_condition(*bounce) == "remote-server-not-found");
    CHECK(std::chrono::steady_clock::now() - sent_at < std::chrono::seconds(5));
}

TEST_CASE("s2s: a server that accepts the connection and never answers times out: remote-server-timeout") {
    SilentListener silent;
    ServerProcess server(federated_options("parley.example",
                                           {{"silent.example", "127.0.0.1:" + std::to_string(silent.port())}},
                                           "connect_timeout = 2\n"));
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    const auto sent = std::chrono::steady_clock::now();
    alice.send("<message to='x@silent.example' type='chat' id='q1'><body>one</body></message>");
    alice.send("<message to='y@silent.example' type='chat' id='q2'><body>two</body></message>");
    auto first = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "q1"; }),
                                federation_wait);
    auto second = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "q2"; }),
                                 federation_wait);
    REQUIRE(first);
    REQUIRE(second);
    CHECK(stanza_error_condition(*first) == "remote-server-timeout");
    CHECK(stanza_error_condition(*second) == "remote-server-timeout");
    CHECK(std::chrono::steady_clock::now() - sent >= std::chrono::milliseconds(1500));  // not before the timeout
}

TEST_CASE("s2s: a stream to a domain we do not serve gets host-unknown") {
    ServerProcess server(federated_options("parley.example", {}));
    RawClient peer(server.s2s_port());
    peer.reset_parser();
    REQUIRE(peer.send(s2s_header("evil.example", "unknown.example")));
    CHECK(peer.wait_stream_error() == "host-unknown");
    CHECK(peer.wait_closed());
}

TEST_CASE("s2s: dialback is refused before TLS, then offered after it") {
    ServerProcess server(federated_options("parley.example", {}));
    auto plain = open_s2s_stream(server.s2s_port(), "other.example", "parley.example", false);
    REQUIRE(plain->send("<db:result from='other.example' to='parley.example'>abcd</db:result>"));
    CHECK(plain->wait_stream_error() == "policy-violation");
    auto secure = open_s2s_stream(server.s2s_port(), "other.example", "parley.example", true);
    CHECK(secure->is_tls());
}

TEST_CASE("s2s: a dialback key that does not verify is refused and the stream closes") {
    FederationPair pair;
    auto peer = open_s2s_stream(pair.a().s2s_port(), domain_b, domain_a);
    REQUIRE(peer->send("<db:result from='other.example' to='parley.example'>0123456789abcdef</db:result>"));
    auto result = peer->wait_for(dialback_result(), federation_wait);
    REQUIRE_MESSAGE(result, "no dialback answer; a's log:\n" << pair.a().log());
    CHECK(result->attr("type") == "invalid");
    CHECK(result->attr("from") == "parley.example");
    CHECK(result->attr("to") == "other.example");
    CHECK(peer->wait_closed());
}

TEST_CASE("s2s: on an authenticated stream, a stanza from another domain gets invalid-from") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    TestClient alice(pair.a(), "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send_presence();

    // We speak for other.example with its secret: a checks the key with b (db:verify).
    auto peer = open_s2s_stream(pair.a().s2s_port(), domain_b, domain_a);
    const std::string key = dialback_key(secret_b, domain_a, domain_b, peer->header()->id);
    REQUIRE(peer->send("<db:result from='other.example' to='parley.example'>" + key + "</db:result>"));
    auto result = peer->wait_for(dialback_result(), federation_wait);
    REQUIRE_MESSAGE(result, "no dialback answer; a's log:\n" << pair.a().log());
    CHECK(result->attr("type") == "valid");

    // The authenticated pair carries stanzas to alice...
    REQUIRE(peer->send("<message from='carol@other.example/pad' to='alice@parley.example' type='chat'>"
                       "<body>via raw peer</body></message>"));
    auto got = alice.wait_for(message_with_body("via raw peer"), federation_wait);
    REQUIRE(got);
    CHECK(got->attr("from") == "carol@other.example/pad");

    // ...but not a stanza claiming a domain nobody authenticated here.
    REQUIRE(peer->send("<message from='mallory@evil.example' to='alice@parley.example' type='chat'>"
                       "<body>forged</body></message>"));
    CHECK(peer->wait_stream_error() == "invalid-from");
    CHECK_FALSE(alice.wait_for(message_with_body("forged"), std::chrono::milliseconds(500)));
}

TEST_CASE("s2s: a verification request is answered from the secret (authoritative server role)") {
    FederationPair pair;
    auto peer = open_s2s_stream(pair.b().s2s_port(), domain_a, domain_b);
    const std::string good = dialback_key(secret_b, "parley.example", "other.example", "stream-1");
    REQUIRE(peer->send("<db:verify from='parley.example' to='other.example' id='stream-1'>" + good + "</db:verify>"));
    auto valid = peer->wait_for(named("verify", "jabber:server:dialback"));
    REQUIRE(valid);
    CHECK(valid->attr("type") == "valid");
    CHECK(valid->attr("id") == "stream-1");
    REQUIRE(peer->send("<db:verify from='parley.example' to='other.example' id='stream-2'>" + good + "</db:verify>"));
    auto invalid = peer->wait_for(named("verify", "jabber:server:dialback"));
    REQUIRE(invalid);
    CHECK(invalid->attr("type") == "invalid");
}

TEST_CASE("s2s: while a stream is set up, stanzas past max_queued_stanzas bounce with resource-constraint") {
    SilentListener silent;
    ServerProcess server(federated_options("parley.example",
                                           {{"silent.example", "127.0.0.1:" + std::to_string(silent.port())}},
                                           "connect_timeout = 3\nmax_queued_stanzas = 1\n"));
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send("<message to='x@silent.example' type='chat' id='held'><body>one</body></message>");
    alice.send("<message to='x@silent.example' type='chat' id='over'><body>two</body></message>");
    auto over = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "over"; }),
                               std::chrono::milliseconds(2500));
    REQUIRE(over);  // at once, not after the set-up timeout
    CHECK(stanza_error_condition(*over) == "resource-constraint");
    auto held = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "held"; }),
                               federation_wait);
    REQUIRE(held);
    CHECK(stanza_error_condition(*held) == "remote-server-timeout");
}

TEST_CASE("s2s: a denied domain is not contacted: remote-server-not-found") {
    SilentListener silent;
    ServerProcess server(federated_options("parley.example",
                                           {{"denied.example", "127.0.0.1:" + std::to_string(silent.port())}},
                                           "deny = [\"denied.example\"]\n"));
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send("<message to='x@denied.example' type='chat' id='d1'><body>no</body></message>");
    auto bounce = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "d1"; }),
                                 std::chrono::seconds(3));
    REQUIRE(bounce);
    CHECK(stanza_error_condition(*bounce) == "remote-server-not-found");
    CHECK(server.log().find("s2s_outgoing_connecting") == std::string::npos);
}

TEST_CASE("s2s: an idle stream closes after idle_timeout, and the next stanza opens a new one") {
    FederationOptions options;
    options.extra_s2s_a = "idle_timeout = 1\n";
    FederationPair pair(options);
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice");
    TestClient bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send("<message to='bob@other.example/laptop' type='chat'><body>first</body></message>");
    REQUIRE(bob.wait_for(message_with_body("first"), federation_wait));
    CHECK(pair.a().wait_for_log("s2s_outgoing_idle", std::chrono::seconds(5)));
    alice.send("<message to='bob@other.example/laptop' type='chat'><body>second</body></message>");
    CHECK(bob.wait_for(message_with_body("second"), federation_wait));
}

TEST_CASE("s2s: one stream carries several authenticated domain pairs (XEP-0220 multiplexing)") {
    FederationOptions options;
    options.more_hosts_a = {"second.example"};
    FederationPair pair(options);
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.a().add_user("dave@second.example", "diver");
    TestClient alice(pair.a(), "alice");
    TestClient dave(pair.a(), "dave");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(dave.login("dave@second.example/pad", "diver"));

    auto peer = open_s2s_stream(pair.a().s2s_port(), domain_b, domain_a);
    const std::string id = peer->header()->id;
    REQUIRE(peer->send("<db:result from='other.example' to='parley.example'>" +
                       dialback_key(secret_b, domain_a, domain_b, id) + "</db:result>"));
    auto first = peer->wait_for(dialback_result(), federation_wait);
    REQUIRE(first);
    CHECK(first->attr("type") == "valid");
    // The second pair, (other.example, second.example), on the same stream.
    REQUIRE(peer->send("<db:result from='other.example' to='second.example'>" +
                       dialback_key(secret_b, "second.example", domain_b, id) + "</db:result>"));
    auto second = peer->wait_for(dialback_result(), federation_wait);
    REQUIRE(second);
    CHECK(second->attr("type") == "valid");
    CHECK(second->attr("from") == "second.example");

    REQUIRE(peer->send("<message from='carol@other.example/pad' to='alice@parley.example/phone' type='chat'>"
                       "<body>to alice</body></message>"));
    REQUIRE(peer->send("<message from='carol@other.example/pad' to='dave@second.example/pad' type='chat'>"
                       "<body>to dave</body></message>"));
    CHECK(alice.wait_for(message_with_body("to alice"), federation_wait));
    CHECK(dave.wait_for(message_with_body("to dave"), federation_wait));
}

TEST_CASE("s2s: a stanza for a pair that was never authenticated on the stream gets invalid-from") {
    FederationPair pair;
    auto peer = open_s2s_stream(pair.a().s2s_port(), domain_b, domain_a);
    // No dialback at all: even a stanza naming the stream's own domains is refused.
    REQUIRE(peer->send("<message from='carol@other.example' to='alice@parley.example' type='chat'>"
                       "<body>too early</body></message>"));
    CHECK(peer->wait_stream_error() == "invalid-from");
}

TEST_CASE("s2s: on an authenticated stream, a stanza to a domain we do not serve gets host-unknown") {
    FederationPair pair;
    auto peer = open_s2s_stream(pair.a().s2s_port(), domain_b, domain_a);
    REQUIRE(peer->send("<db:result from='other.example' to='parley.example'>" +
                       dialback_key(secret_b, domain_a, domain_b, peer->header()->id) + "</db:result>"));
    auto result = peer->wait_for(dialback_result(), federation_wait);
    REQUIRE(result);
    REQUIRE(result->attr("type") == "valid");
    // Relaying through us to a third server is not ours to do (RFC 6120 §10.4).
    REQUIRE(peer->send("<message from='carol@other.example' to='zed@third.example' type='chat'>"
                       "<body>relay me</body></message>"));
    CHECK(peer->wait_stream_error() == "host-unknown");
}

TEST_CASE("s2s: without static routes, each server finds the other through DNS SRV from the configured servers") {
    DnsResponder dns;  // the only resolver either server may ask
    const std::uint16_t port_a = pick_free_port();
    const std::uint16_t port_b = pick_free_port({port_a});
    // One SRV record each, both with a host name that needs an address lookup too.
    dns.add_srv("_xmpp-server._tcp.parley.example", 10, 0, port_a, "xmpp.parley.example");
    dns.add_a("xmpp.parley.example", "127.0.0.1");
    dns.add_srv("_xmpp-server._tcp.other.example", 10, 0, port_b, "xmpp.other.example");
    dns.add_a("xmpp.other.example", "127.0.0.1");
    const std::string servers = "dns_servers = [\"127.0.0.1:" + std::to_string(dns.port()) + "\"]\n";
    auto oa = federated_options(std::string(domain_a), {}, servers);
    oa.s2s_port = port_a;
    auto ob = federated_options(std::string(domain_b), {}, servers);
    ob.s2s_port = port_b;
    ServerProcess a(oa), b(ob);
    a.add_user("alice@parley.example", "wonderland");
    b.add_user("bob@other.example", "builder");
    TestClient alice(a, "alice"), bob(b, "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();
    alice.send("<message to='bob@other.example' type='chat'><body>found you by SRV</body></message>");
    auto got = bob.wait_for(message_with_body("found you by SRV"), federation_wait);
    REQUIRE(got);
    CHECK(got->attr("from") == "alice@parley.example/phone");
    bob.send("<message to='alice@parley.example' type='chat'><body>and you me</body></message>");
    REQUIRE(alice.wait_for(message_with_body("and you me"), federation_wait));
    CHECK(dns.queries() >= 4);  // SRV and A for each direction (dialback verifies too)

    // A domain the responder does not know: no DNS answer, so the message bounces.
    alice.send("<message to='carol@nowhere.example' type='chat' id='lost'><body>?</body></message>");
    auto bounced = alice.wait_for(both(named("message"), [](const Element& e) { return e.attr("id") == "lost"; }),
                                  federation_wait);
    REQUIRE(bounced);
    CHECK(stanza_error_condition(*bounced) == "remote-server-not-found");
}
