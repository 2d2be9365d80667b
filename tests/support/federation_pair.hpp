#pragma once
// Federation scenes: two parleyd instances on loopback, parley.example (a) and
// other.example (b), each with a static route to the other's s2s port (names are
// never looked up in DNS), and a raw server-to-server peer for the tests that must
// say what no honest server would.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/raw_client.hpp"
#include "support/server_process.hpp"
#include "support/test_ca.hpp"

namespace parley::test {

inline constexpr std::string_view domain_a = "parley.example";
inline constexpr std::string_view domain_b = "other.example";
// b's dialback secret, so that a test can make b's keys (XEP-0185).
inline constexpr std::string_view secret_b = "other-example-dialback-secret";

struct FederationOptions {
    std::string extra_s2s_a, extra_s2s_b;                        // lines for [s2s]
    std::vector<std::pair<std::string, std::string>> routes_a;  // more [s2s.routes] for a
    std::vector<std::string> more_hosts_a;                      // a serves these too
    // [tls] certificate and key of each (e.g. from a TestCa); empty = self-signed.
    IssuedCertificate certificate_a, certificate_b;
};

class FederationPair {
public:
    explicit FederationPair(FederationOptions options = {});
    ServerProcess& a() { return *a_; }
    ServerProcess& b() { return *b_; }

private:
    std::unique_ptr<ServerProcess> a_, b_;
};

// Options for one federated instance serving `domain` (s2s on, with these routes).
ServerOptions federated_options(std::string domain, std::vector<std::pair<std::string, std::string>> routes,
                                std::string extra_s2s = {});

// XEP-0185: hex HMAC-SHA256(hex SHA256(secret), receiving ' ' originating ' ' id).
std::string dialback_key(std::string_view secret, std::string_view receiving, std::string_view originating,
                         std::string_view stream_id);

// A raw peer on `port` (an s2s listener): opens a jabber:server stream from `from` to
// `to` and, when `tls`, goes through STARTTLS and reopens the stream. Afterwards
// header() is the server's latest stream header (its id keys dialback) and the
// features that followed it have been read. FAILs the test when a step fails.
std::unique_ptr<RawClient> open_s2s_stream(std::uint16_t port, std::string_view from, std::string_view to,
                                           bool tls = true);
// The s2s stream header a peer sends.
std::string s2s_header(std::string_view from, std::string_view to);

}  // namespace parley::test
