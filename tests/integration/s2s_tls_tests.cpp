// Federation security with certificates (RFC 6120 §13.7.2, RFC 6125, XEP-0178,
// XEP-0220, XEP-0368): two Parley instances whose certificates come from one private CA
// (TestCa) authenticate each other with SASL EXTERNAL; a certificate for the wrong name
// is refused under require_valid_certificate and falls back to dialback otherwise;
// direct TLS listeners and routes; limits on incoming connections. A raw peer that
// presents a client certificate says what a lying or confused server would.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <thread>

#include "support/dns_responder.hpp"
#include "support/federation_pair.hpp"
#include "support/test_ca.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);

std::size_t count(const std::string& text, std::string_view needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
    return n;
}

std::string base64(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// A server-to-server peer on a blocking socket that can present a client certificate
// in its STARTTLS handshake (RawClient cannot). What it reads is kept as text; waits
// look for a piece of it after the last consumed point.
class CertPeer {
public:
    explicit CertPeer(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~CertPeer() {
        if (ssl_) SSL_free(ssl_);
        if (ctx_) SSL_CTX_free(ctx_);
        ::close(fd_);
    }
    CertPeer(const CertPeer&) = delete;
    CertPeer& operator=(const CertPeer&) = delete;

    void send(const std::string& text) {
        std::size_t done = 0;
        while (done < text.size()) {
            const long n = ssl_ ? SSL_write(ssl_, text.data() + done, static_cast<int>(text.size() - done))
                                : ::send(fd_, text.data() + done, text.size() - done, MSG_NOSIGNAL);
            REQUIRE_MESSAGE(n > 0, "the server closed the connection; received: " << received_);
            done += static_cast<std::size_t>(n);
        }
    }

    // Reads until `needle` appears after what earlier waits consumed; true when it did.
    bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            auto pos = received_.find(needle, consumed_);
            if (pos != std::string::npos) {
                last_ = received_.substr(consumed_, pos + needle.size() - consumed_);
                consumed_ = pos + needle.size();
                return true;
            }
            if (std::chrono::steady_clock::now() >= deadline || closed_) return false;
            char buf[4096];
            const long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                received_.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed_ = true;
            }
        }
    }
    // What the last successful wait_for consumed (from the previous point to its needle).
    const std::string& last() const { return last_; }
    const std::string& received() const { return received_; }

    // Opens the stream, goes through STARTTLS presenting `cert` (when given), reopens it
    // and reads the features; last() is then those features.
    void open_secure(const std::string& header, const IssuedCertificate* cert) {
        send(header);
        REQUIRE_MESSAGE(wait_for("</stream:features>"), "no features; received: " << received_);
        REQUIRE(last().find("starttls") != std::string::npos);
        send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        REQUIRE(wait_for("<proceed"));
        REQUIRE(wait_for(">"));
        ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
        if (cert) {
            REQUIRE(SSL_CTX_use_certificate_chain_file(ctx_, cert->certificate.c_str()) == 1);
            REQUIRE(SSL_CTX_use_PrivateKey_file(ctx_, cert->key.c_str(), SSL_FILETYPE_PEM) == 1);
        }
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd_);
        REQUIRE_MESSAGE(SSL_connect(ssl_) == 1, "TLS handshake failed: " << ERR_reason_error_string(ERR_get_error()));
        send(header);
        REQUIRE_MESSAGE(wait_for("</stream:features>"), "no features after TLS; received: " << received_);
    }

private:
    int fd_ = -1;
    SSL_CTX* ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string received_, last_;
    std::size_t consumed_ = 0;
    bool closed_ = false;
};

// Lines for [s2s] that make a server trust the test CA only for peers' certificates.
std::string trust(const TestCa& ca, bool require) {
    return "ca_file = \"" + ca.root().string() + "\"\nrequire_valid_certificate = " + (require ? "true" : "false") +
           "\n";
}

Match error_message(std::string id) {
    return both(named("message"), [id](const Element& e) { return e.attr("type") == "error" && e.attr("id") == id; });
}

}  // namespace

TEST_CASE("s2s tls: two servers with certificates from one CA authenticate each other with SASL EXTERNAL") {
    bool client_auth = true;
    SUBCASE("certificates for serverAuth and clientAuth") {}
    SUBCASE("serverAuth-only certificates, as public CAs issue them now") { client_auth = false; }
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    const auto cert_a = ca.issue({std::string(domain_a)}, client_auth);
    const auto cert_b = ca.issue({std::string(domain_b)}, client_auth);
    FederationOptions options;
    options.extra_s2s_a = trust(ca, true);
    options.extra_s2s_b = trust(ca, true);
    options.certificate_a = cert_a;
    options.certificate_b = cert_b;
    FederationPair pair(options);
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice");
    TestClient bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();

    alice.send("<message to='bob@other.example/laptop' type='chat' id='c1'><body>certified hello</body></message>");
    REQUIRE_MESSAGE(bob.wait_for(message_with_body("certified hello"), federation_wait),
                    "a's log:\n" << pair.a().log() << "\nb's log:\n" << pair.b().log());
    bob.send("<message to='alice@parley.example/phone' type='chat' id='c2'><body>certified back</body></message>");
    auto back = alice.wait_for(message_with_body("certified back"), federation_wait);
    REQUIRE_MESSAGE(back, "b's log:\n" << pair.b().log());
    CHECK(back->attr("from") == "bob@other.example/laptop");

    // Each side authenticated the other's stream by its certificate, and no dialback
    // was needed either way.
    for (ServerProcess* s : {&pair.a(), &pair.b()}) {
        const std::string log = s->log();
        CHECK_MESSAGE(log.find("s2s_incoming_authenticated") != std::string::npos, log);
        CHECK(log.find("mechanism=EXTERNAL") != std::string::npos);
        CHECK(log.find("s2s_outgoing_established") != std::string::npos);
        CHECK(log.find("mechanism=dialback") == std::string::npos);
        CHECK(log.find("s2s_dialback_verifying") == std::string::npos);
    }
    CHECK(pair.a().log().find("remote=other.example local=parley.example mechanism=EXTERNAL") != std::string::npos);
    CHECK(pair.b().log().find("remote=parley.example local=other.example mechanism=EXTERNAL") != std::string::npos);
}

TEST_CASE("s2s tls: a certificate for the wrong name is refused when valid certificates are required") {
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    FederationOptions options;
    options.certificate_a = ca.issue({std::string(domain_a)});
    options.certificate_b = ca.issue({"wrong.example"});  // b cannot prove other.example
    options.extra_s2s_a = trust(ca, true) + "connect_timeout = 5\n";
    options.extra_s2s_b = trust(ca, false) + "connect_timeout = 5\n";
    FederationPair pair(options);
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice");
    TestClient bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();

    // Outgoing: a does not talk to a server whose certificate does not verify.
    alice.send("<message to='bob@other.example/laptop' type='chat' id='w1'><body>to a liar?</body></message>");
    auto bounce = alice.wait_for(error_message("w1"), federation_wait);
    REQUIRE_MESSAGE(bounce, "a's log:\n" << pair.a().log());
    CHECK(stanza_error_condition(*bounce) == "remote-server-not-found");
    CHECK(pair.a().log().find("the peer's certificate does not verify") != std::string::npos);
    CHECK_FALSE(bob.wait_for(message_with_body("to a liar?"), std::chrono::milliseconds(300)));

    // Incoming: b falls back to dialback (its certificate cannot do EXTERNAL), and a
    // refuses that too: not-authorized, so b bounces bob's message.
    bob.send("<message to='alice@parley.example/phone' type='chat' id='w2'><body>let me in</body></message>");
    auto refused = bob.wait_for(error_message("w2"), federation_wait);
    REQUIRE_MESSAGE(refused, "b's log:\n" << pair.b().log());
    CHECK(pair.a().wait_for_log("reason=certificate"));
    CHECK_FALSE(alice.wait_for(message_with_body("let me in"), std::chrono::milliseconds(300)));
    CHECK(pair.a().log().find("s2s_incoming_authenticated") == std::string::npos);
}

TEST_CASE("s2s tls: a certificate for the wrong name falls back to dialback when certificates are not required") {
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    FederationOptions options;
    options.certificate_a = ca.issue({std::string(domain_a)});
    options.certificate_b = ca.issue({"wrong.example"});
    options.extra_s2s_a = trust(ca, false);
    options.extra_s2s_b = trust(ca, false);
    FederationPair pair(options);
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    TestClient alice(pair.a(), "alice");
    TestClient bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@other.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();
    alice.send("<message to='bob@other.example/laptop' type='chat'><body>dialback out</body></message>");
    REQUIRE_MESSAGE(bob.wait_for(message_with_body("dialback out"), federation_wait), "a's log:\n" << pair.a().log());
    bob.send("<message to='alice@parley.example/phone' type='chat'><body>dialback in</body></message>");
    REQUIRE_MESSAGE(alice.wait_for(message_with_body("dialback in"), federation_wait), "b's log:\n" << pair.b().log());
    // a proved nothing by b's certificate: dialback in both directions into a; b saw a's
    // good certificate but a's outgoing stream does not use EXTERNAL towards a server
    // whose own certificate it cannot verify.
    const std::string log_a = pair.a().log();
    CHECK(log_a.find("remote=other.example local=parley.example mechanism=dialback") != std::string::npos);
    CHECK(log_a.find("mechanism=EXTERNAL") == std::string::npos);
    CHECK(pair.b().log().find("remote=parley.example local=other.example mechanism=dialback") != std::string::npos);
}

TEST_CASE("s2s tls: EXTERNAL is offered only for a 'from' domain the client certificate proves") {
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    const auto cert_a = ca.issue({std::string(domain_a)});
    const auto peer_cert = ca.issue({std::string(domain_b)});
    auto options = federated_options(std::string(domain_a), {}, trust(ca, false));
    options.tls_certificate = cert_a.certificate;
    options.tls_key = cert_a.key;
    ServerProcess server(options);
    server.add_user("alice@parley.example", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send_presence();

    SUBCASE("the certified domain authenticates with '=' after a wrong authzid fails") {
        CertPeer peer(server.s2s_port());
        peer.open_secure(s2s_header(domain_b, domain_a), &peer_cert);
        CHECK(peer.last().find("<mechanism>EXTERNAL</mechanism>") != std::string::npos);
        CHECK(peer.last().find("urn:xmpp:features:dialback") != std::string::npos);
        // XEP-0178: an authorization identity other than the stream's 'from' fails...
        peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" + base64("evil.example") +
                  "</auth>");
        REQUIRE(peer.wait_for("</failure>"));
        CHECK(peer.last().find("<not-authorized/>") != std::string::npos);
        // ...and the stream stays open for another try (RFC 6120 §6.4.5).
        peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
        REQUIRE_MESSAGE(peer.wait_for("<success"), peer.received());
        peer.send(s2s_header(domain_b, domain_a));
        REQUIRE(peer.wait_for("</stream:features>"));
        CHECK(peer.last().find("EXTERNAL") == std::string::npos);  // done once
        peer.send("<message from='carol@other.example/pad' to='alice@parley.example' type='chat'>"
                  "<body>by certificate</body></message>");
        auto got = alice.wait_for(message_with_body("by certificate"), federation_wait);
        REQUIRE_MESSAGE(got, server.log());
        CHECK(got->attr("from") == "carol@other.example/pad");
        CHECK(server.log().find("remote=other.example local=parley.example mechanism=EXTERNAL") != std::string::npos);
        // Only the certified domain: another 'from' on the same stream is invalid-from.
        peer.send("<message from='mallory@third.example' to='alice@parley.example' type='chat'><body>x</body></message>");
        CHECK(peer.wait_for("invalid-from"));
    }
    SUBCASE("the authzid may also name the 'from' domain itself") {
        CertPeer peer(server.s2s_port());
        peer.open_secure(s2s_header(domain_b, domain_a), &peer_cert);
        peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>" + base64(domain_b) + "</auth>");
        CHECK(peer.wait_for("<success"));
    }
    SUBCASE("a 'from' the certificate does not name: no EXTERNAL, and trying it anyway fails") {
        CertPeer peer(server.s2s_port());
        peer.open_secure(s2s_header("third.example", domain_a), &peer_cert);
        CHECK(peer.last().find("EXTERNAL") == std::string::npos);
        CHECK(peer.last().find("urn:xmpp:features:dialback") != std::string::npos);
        peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
        REQUIRE(peer.wait_for("</failure>"));
        CHECK(peer.last().find("<not-authorized/>") != std::string::npos);
        CHECK(server.log().find("mechanism=EXTERNAL") == std::string::npos);
    }
    SUBCASE("no client certificate: no EXTERNAL") {
        CertPeer peer(server.s2s_port());
        peer.open_secure(s2s_header(domain_b, domain_a), nullptr);
        CHECK(peer.last().find("EXTERNAL") == std::string::npos);
        peer.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>");
        REQUIRE(peer.wait_for("</failure>"));
        CHECK(peer.last().find("<not-authorized/>") != std::string::npos);
    }
    SUBCASE("no 'from' in the stream header: no EXTERNAL") {
        CertPeer peer(server.s2s_port());
        const std::string header =
            "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
            "xmlns:db='jabber:server:dialback' to='parley.example' version='1.0'>";
        peer.open_secure(header, &peer_cert);
        CHECK(peer.last().find("EXTERNAL") == std::string::npos);
    }
}

TEST_CASE("s2s tls: a certificate from a CA that ca_file does not name proves nothing") {
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    TestCa stranger(tmp.path() / "stranger");
    const auto cert_a = ca.issue({std::string(domain_a)});
    const auto peer_cert = stranger.issue({std::string(domain_b)});
    auto options = federated_options(std::string(domain_a), {}, trust(ca, false));
    options.tls_certificate = cert_a.certificate;
    options.tls_key = cert_a.key;
    ServerProcess server(options);
    CertPeer peer(server.s2s_port());
    peer.open_secure(s2s_header(domain_b, domain_a), &peer_cert);
    CHECK(peer.last().find("EXTERNAL") == std::string::npos);
}

TEST_CASE("s2s tls: XEP-0368 direct TLS, by a tls:// static route and by _xmpps-server SRV records") {
    TempDir tmp;
    TestCa ca(tmp.path() / "ca");
    const auto cert_a = ca.issue({std::string(domain_a)});
    const auto cert_b = ca.issue({std::string(domain_b)});
    const std::uint16_t port_a = pick_free_port();
    const std::uint16_t tls_port_a = pick_free_port({port_a});
    const std::uint16_t port_b = pick_free_port({port_a, tls_port_a});
    DnsResponder dns;

    SUBCASE("static route") {
        auto oa = federated_options(std::string(domain_a), {{std::string(domain_b), "127.0.0.1:" + std::to_string(port_b)}},
                                    trust(ca, true) + "direct_tls_port = " + std::to_string(tls_port_a) + "\n");
        auto ob = federated_options(std::string(domain_b),
                                    {{std::string(domain_a), "tls://127.0.0.1:" + std::to_string(tls_port_a)}},
                                    trust(ca, true));
        oa.s2s_port = port_a;
        ob.s2s_port = port_b;
        oa.tls_certificate = cert_a.certificate;
        oa.tls_key = cert_a.key;
        ob.tls_certificate = cert_b.certificate;
        ob.tls_key = cert_b.key;
        ServerProcess a(oa), b(ob);
        a.add_user("alice@parley.example", "wonderland");
        b.add_user("bob@other.example", "builder");
        TestClient alice(a, "alice"), bob(b, "bob");
        REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
        REQUIRE(bob.login("bob@other.example/laptop", "builder"));
        alice.send_presence();
        bob.send_presence();
        bob.send("<message to='alice@parley.example/phone' type='chat'><body>over direct TLS</body></message>");
        REQUIRE_MESSAGE(alice.wait_for(message_with_body("over direct TLS"), federation_wait),
                        "b's log:\n" << b.log() << "\na's log:\n" << a.log());
        CHECK(b.log().find("direct_tls=true") != std::string::npos);
        CHECK(a.log().find("direct_tls=true") != std::string::npos);
        CHECK(a.log().find("remote=other.example local=parley.example mechanism=EXTERNAL") != std::string::npos);

        // The listener picks ALPN "xmpp-server" and speaks s2s at once, without STARTTLS.
        RawClient raw(tls_port_a);
        REQUIRE(raw.start_tls("xmpp-server"));
        const unsigned char* alpn = nullptr;
        unsigned int alpn_len = 0;
        SSL_get0_alpn_selected(raw.ssl(), &alpn, &alpn_len);
        CHECK(std::string(reinterpret_cast<const char*>(alpn), alpn_len) == "xmpp-server");
        raw.reset_parser();
        REQUIRE(raw.send(s2s_header(domain_b, domain_a)));
        REQUIRE(raw.wait_header());
        auto features = raw.wait_for(named("features", "http://etherx.jabber.org/streams"));
        REQUIRE(features);
        CHECK_FALSE(features->find_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"));
        CHECK(features->find_child("dialback", "urn:xmpp:features:dialback"));
    }
    SUBCASE("SRV: _xmpps-server._tcp targets are connected with direct TLS") {
        dns.add_srv("_xmpps-server._tcp.parley.example", 10, 0, tls_port_a, "localhost");
        dns.add_srv("_xmpp-server._tcp.other.example", 10, 0, port_b, "localhost");
        const std::string servers = "dns_servers = [\"" + dns.endpoint() + "\"]\n";
        auto oa = federated_options(std::string(domain_a), {},
                                    servers + trust(ca, true) + "direct_tls_port = " + std::to_string(tls_port_a) + "\n");
        auto ob = federated_options(std::string(domain_b), {}, servers + trust(ca, true));
        oa.s2s_port = port_a;
        ob.s2s_port = port_b;
        oa.tls_certificate = cert_a.certificate;
        oa.tls_key = cert_a.key;
        ob.tls_certificate = cert_b.certificate;
        ob.tls_key = cert_b.key;
        ServerProcess a(oa), b(ob);
        a.add_user("alice@parley.example", "wonderland");
        b.add_user("bob@other.example", "builder");
        TestClient alice(a, "alice"), bob(b, "bob");
        REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
        REQUIRE(bob.login("bob@other.example/laptop", "builder"));
        alice.send_presence();
        bob.send_presence();
        bob.send("<message to='alice@parley.example/phone' type='chat'><body>found by xmpps</body></message>");
        REQUIRE_MESSAGE(alice.wait_for(message_with_body("found by xmpps"), federation_wait),
                        "b's log:\n" << b.log() << "\na's log:\n" << a.log());
        CHECK(b.log().find(":" + std::to_string(tls_port_a) + " direct_tls=true") != std::string::npos);
        alice.send("<message to='bob@other.example/laptop' type='chat'><body>and back by xmpp</body></message>");
        REQUIRE(bob.wait_for(message_with_body("and back by xmpp"), federation_wait));
        CHECK(a.log().find(":" + std::to_string(port_b) + " direct_tls=false") != std::string::npos);
    }
}

TEST_CASE("s2s tls: incoming connections past max_incoming_per_ip get policy-violation, logged once") {
    ServerProcess server(federated_options("parley.example", {}, "max_incoming = 5\nmax_incoming_per_ip = 1\n"));
    (void)server.wait_for_log("s2s_incoming_closed");  // the start-up probe's connection is gone
    auto first = open_s2s_stream(server.s2s_port(), domain_b, domain_a, false);  // admitted: features
    for (int i = 0; i < 3; ++i) {
        RawClient over(server.s2s_port());
        over.reset_parser();
        CHECK(over.wait_stream_error() == "policy-violation");
        CHECK(over.wait_closed());
    }
    CHECK(count(server.log(), "s2s_incoming_refused") == 1);  // rate-limited
    CHECK(server.log().find("reason=max_incoming_per_ip") != std::string::npos);
    // The first one still works, and once it is gone its place is free again.
    REQUIRE(first->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    CHECK(first->wait_for(named("proceed", "urn:ietf:params:xml:ns:xmpp-tls")));
    first.reset();
    REQUIRE(server.wait_for_log("pairs=0"));
    for (int i = 0; i < 50 && count(server.log(), "s2s_incoming_closed") < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    auto again = open_s2s_stream(server.s2s_port(), domain_b, domain_a);
    CHECK(again->is_tls());
}

TEST_CASE("s2s tls: incoming connections past max_incoming get resource-constraint") {
    ServerProcess server(federated_options("parley.example", {}, "max_incoming = 1\nmax_incoming_per_ip = 0\n"));
    (void)server.wait_for_log("s2s_incoming_closed");  // the start-up probe's connection is gone
    auto first = open_s2s_stream(server.s2s_port(), domain_b, domain_a, false);
    RawClient over(server.s2s_port());
    over.reset_parser();
    CHECK(over.wait_stream_error() == "resource-constraint");
    CHECK(over.wait_closed());
    CHECK(server.log().find("reason=max_incoming ") != std::string::npos);
}
