#include "support/federation_pair.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <doctest/doctest.h>

namespace parley::test {

namespace {

std::string hex(const unsigned char* data, unsigned n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

std::string route_to(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

ServerOptions federated_options(std::string domain, std::vector<std::pair<std::string, std::string>> routes,
                                std::string extra_s2s) {
    ServerOptions o;
    o.hosts = {std::move(domain)};
    o.muc_domain.clear();
    o.s2s = true;
    o.s2s_routes = std::move(routes);
    o.extra_s2s = std::move(extra_s2s);
    return o;
}

FederationPair::FederationPair(FederationOptions options) {
    const std::uint16_t port_a = pick_free_port();
    const std::uint16_t port_b = pick_free_port({port_a});
    auto routes_a = options.routes_a;
    routes_a.emplace_back(std::string(domain_b), route_to(port_b));
    auto oa = federated_options(std::string(domain_a), std::move(routes_a), options.extra_s2s_a);
    oa.s2s_port = port_a;
    for (auto& h : options.more_hosts_a) oa.hosts.push_back(h);
    auto ob = federated_options(std::string(domain_b), {{std::string(domain_a), route_to(port_a)}},
                                "dialback_secret = \"" + std::string(secret_b) + "\"\n" + options.extra_s2s_b);
    ob.s2s_port = port_b;
    oa.tls_certificate = options.certificate_a.certificate;
    oa.tls_key = options.certificate_a.key;
    ob.tls_certificate = options.certificate_b.certificate;
    ob.tls_key = options.certificate_b.key;
    a_ = std::make_unique<ServerProcess>(std::move(oa));
    b_ = std::make_unique<ServerProcess>(std::move(ob));
}

std::string dialback_key(std::string_view secret, std::string_view receiving, std::string_view originating,
                         std::string_view stream_id) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(secret.data(), secret.size(), digest, &len, EVP_sha256(), nullptr);
    const std::string hashed = hex(digest, len);
    const std::string text = std::string(receiving) + " " + std::string(originating) + " " + std::string(stream_id);
    unsigned char mac[EVP_MAX_MD_SIZE];
    HMAC(EVP_sha256(), hashed.data(), static_cast<int>(hashed.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
    return hex(mac, len);
}

std::string s2s_header(std::string_view from, std::string_view to) {
    return "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
           "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' from='" +
           std::string(from) + "' to='" + std::string(to) + "' version='1.0'>";
}

std::unique_ptr<RawClient> open_s2s_stream(std::uint16_t port, std::string_view from, std::string_view to, bool tls) {
    auto peer = std::make_unique<RawClient>(port);
    peer->reset_parser();
    REQUIRE(peer->send(s2s_header(from, to)));
    REQUIRE_MESSAGE(peer->wait_header(), "no stream header; received: " << peer->received());
    auto features = peer->wait_for(named("features", "http://etherx.jabber.org/streams"));
    REQUIRE_MESSAGE(features, "no stream features; received: " << peer->received());
    if (!tls) return peer;
    REQUIRE(features->find_child("starttls", "urn:ietf:params:xml:ns:xmpp-tls"));
    REQUIRE(peer->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    REQUIRE(peer->wait_for(named("proceed", "urn:ietf:params:xml:ns:xmpp-tls")));
    REQUIRE_MESSAGE(peer->start_tls(), "TLS handshake failed: " << peer->tls_error());
    peer->reset_parser();
    REQUIRE(peer->send(s2s_header(from, to)));
    REQUIRE(peer->wait_header());
    features = peer->wait_for(named("features", "http://etherx.jabber.org/streams"));
    REQUIRE_MESSAGE(features, "no stream features after TLS; received: " << peer->received());
    CHECK(features->find_child("dialback", "urn:xmpp:features:dialback"));
    return peer;
}

}  // namespace parley::test
