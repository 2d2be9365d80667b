#include <doctest/doctest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "server/s2s/resolver.hpp"
#include "support/dns_responder.hpp"

using namespace parley::server::s2s;
using parley::test::DnsResponder;
using boost::system::error_code;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

const ResolverOptions fast{300ms, 2};

struct ServerLookup {
    error_code ec;
    std::vector<Target> targets;
};
struct AddressLookup {
    error_code ec;
    std::vector<std::string> addresses;
};

std::vector<Resolver::Endpoint> servers_of(const DnsResponder& dns) { return {*Resolver::parse_server(dns.endpoint())}; }

ServerLookup resolve(const std::vector<Resolver::Endpoint>& servers, const std::string& domain,
                     ResolverOptions options = fast) {
    asio::io_context io;
    Resolver resolver(io.get_executor(), servers, options);
    std::optional<ServerLookup> got;
    resolver.resolve_server(domain, [&](error_code ec, std::vector<Target> t) { got = ServerLookup{ec, std::move(t)}; });
    io.run_for(10s);
    REQUIRE(got.has_value());
    return *got;
}
ServerLookup resolve(const DnsResponder& dns, const std::string& domain) { return resolve(servers_of(dns), domain); }

AddressLookup addresses(const DnsResponder& dns, const std::string& host) {
    asio::io_context io;
    Resolver resolver(io.get_executor(), servers_of(dns), fast);
    std::optional<AddressLookup> got;
    resolver.resolve_address(host, [&](error_code ec, std::vector<asio::ip::address> a) {
        AddressLookup r{ec, {}};
        for (const auto& ip : a) r.addresses.push_back(ip.to_string());
        got = std::move(r);
    });
    io.run_for(10s);
    REQUIRE(got.has_value());
    return *got;
}

}  // namespace

TEST_CASE("s2s resolver: SRV targets ordered by priority") {
    DnsResponder dns;
    dns.add_srv("_xmpp-server._tcp.remote.example", 20, 0, 5270, "b.remote.example");
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "a.remote.example");
    dns.add_srv("_xmpp-server._tcp.remote.example", 30, 0, 5271, "c.remote.example");
    auto r = resolve(dns, "remote.example");
    REQUIRE_FALSE(r.ec);
    CHECK(r.targets == std::vector<Target>{{"a.remote.example", 5269, false},
                                           {"b.remote.example", 5270, false},
                                           {"c.remote.example", 5271, false}});
    CHECK(dns.queries() == 2);
    auto asked = dns.questions();
    std::sort(asked.begin(), asked.end());
    CHECK(asked == std::vector<std::string>{"_xmpp-server._tcp.remote.example/33", "_xmpps-server._tcp.remote.example/33"});
}

TEST_CASE("s2s resolver: xmpps and xmpp records merged, direct TLS first at equal priority") {
    DnsResponder dns;
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "plain.remote.example");
    dns.add_srv("_xmpps-server._tcp.remote.example", 10, 0, 5270, "tls.remote.example");
    dns.add_srv("_xmpp-server._tcp.remote.example", 5, 0, 5269, "first.remote.example");
    dns.add_srv("_xmpps-server._tcp.remote.example", 20, 0, 443, "last.remote.example");
    auto r = resolve(dns, "Remote.Example.");
    REQUIRE_FALSE(r.ec);
    CHECK(r.targets == std::vector<Target>{{"first.remote.example", 5269, false},
                                           {"tls.remote.example", 5270, true},
                                           {"plain.remote.example", 5269, false},
                                           {"last.remote.example", 443, true}});
}

TEST_CASE("s2s resolver: weights choose the first target (RFC 2782)") {
    // Pure ordering, seeded: weight 100 against weight 0 wins almost always (100/101).
    std::vector<SrvCandidate> records{{10, 0, 1, "light", false}, {10, 100, 2, "heavy", false}};
    int heavy_first = 0;
    for (std::uint32_t seed = 0; seed < 1000; ++seed)
        if (order_srv(records, seed).front().host == "heavy") ++heavy_first;
    CHECK(heavy_first > 950);
    CHECK(heavy_first < 1000);  // weight 0 still gets its small chance
    CHECK(order_srv(records, 7) == order_srv(records, 7));
    // 1:3 weights split about 25/75.
    std::vector<SrvCandidate> split{{10, 25, 1, "quarter", false}, {10, 75, 2, "rest", false}};
    int quarter_first = 0;
    for (std::uint32_t seed = 0; seed < 4000; ++seed)
        if (order_srv(split, seed).front().host == "quarter") ++quarter_first;
    CHECK(quarter_first > 800);
    CHECK(quarter_first < 1200);
    // Every record appears exactly once, priority still wins over weight.
    std::vector<SrvCandidate> mixed{{20, 1000, 1, "late", false}, {10, 1, 2, "x", false}, {10, 5, 3, "y", false}};
    auto ordered = order_srv(mixed, 3);
    REQUIRE(ordered.size() == 3);
    CHECK(ordered[2].host == "late");

    // End to end through the responder, with the resolver's own random numbers.
    DnsResponder dns;
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "light.remote.example");
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 100, 5269, "heavy.remote.example");
    int heavy_end_to_end = 0;
    for (int i = 0; i < 40; ++i) {
        auto r = resolve(dns, "remote.example");
        REQUIRE(r.targets.size() == 2);
        if (r.targets.front().host == "heavy.remote.example") ++heavy_end_to_end;
    }
    CHECK(heavy_end_to_end >= 34);  // expected 39.6; this fails with probability < 1e-6
}

TEST_CASE("s2s resolver: a lone '.' target means no service") {
    DnsResponder dns;
    SUBCASE("on xmpp-server, and no xmpps records") {
        dns.add_srv("_xmpp-server._tcp.remote.example", 0, 0, 0, ".");
        dns.add_a("remote.example", "127.0.0.1");
        auto r = resolve(dns, "remote.example");
        CHECK(r.ec == ResolveErrc::no_service);
        CHECK(r.targets.empty());
    }
    SUBCASE("on xmpps-server, xmpp records are still used") {
        dns.add_srv("_xmpps-server._tcp.remote.example", 0, 0, 0, ".");
        dns.add_srv("_xmpp-server._tcp.remote.example", 5, 0, 5269, "xmpp.remote.example");
        auto r = resolve(dns, "remote.example");
        REQUIRE_FALSE(r.ec);
        CHECK(r.targets == std::vector<Target>{{"xmpp.remote.example", 5269, false}});
    }
    SUBCASE("on xmpps-server without xmpp records: no A fallback (XEP-0368)") {
        dns.add_srv("_xmpps-server._tcp.remote.example", 0, 0, 0, ".");
        dns.add_a("remote.example", "127.0.0.1");
        CHECK(resolve(dns, "remote.example").ec == ResolveErrc::no_service);
    }
    SUBCASE("on xmpp-server, xmpps records are used") {
        dns.add_srv("_xmpp-server._tcp.remote.example", 0, 0, 0, ".");
        dns.add_srv("_xmpps-server._tcp.remote.example", 1, 0, 5270, "tls.remote.example");
        auto r = resolve(dns, "remote.example");
        REQUIRE_FALSE(r.ec);
        CHECK(r.targets == std::vector<Target>{{"tls.remote.example", 5270, true}});
    }
}

TEST_CASE("s2s resolver: without SRV records, the domain itself on port 5269") {
    DnsResponder dns;
    dns.add_a("remote.example", "127.0.0.1");
    auto r = resolve(dns, "remote.example");
    REQUIRE_FALSE(r.ec);
    CHECK(r.targets == std::vector<Target>{{"remote.example", 5269, false}});
    auto a = addresses(dns, "remote.example");
    REQUIRE_FALSE(a.ec);
    CHECK(a.addresses == std::vector<std::string>{"127.0.0.1"});
}

TEST_CASE("s2s resolver: NXDOMAIN") {
    DnsResponder dns;
    // No SRV for an unknown domain is the fallback case; its address then does not exist.
    auto r = resolve(dns, "nowhere.example");
    REQUIRE_FALSE(r.ec);
    CHECK(r.targets == std::vector<Target>{{"nowhere.example", 5269, false}});
    auto a = addresses(dns, "nowhere.example");
    CHECK(a.ec == ResolveErrc::not_found);
    CHECK(a.addresses.empty());
}

TEST_CASE("s2s resolver: addresses, AAAA first, CNAMEs followed, literals and localhost") {
    DnsResponder dns;
    dns.add_a("host.remote.example", "192.0.2.7");
    dns.add_aaaa("host.remote.example", "2001:db8::7");
    dns.add_cname("alias.remote.example", "host.remote.example");
    auto a = addresses(dns, "alias.remote.example");
    REQUIRE_FALSE(a.ec);
    CHECK(a.addresses == std::vector<std::string>{"2001:db8::7", "192.0.2.7"});

    auto before = dns.queries();
    CHECK(addresses(dns, "192.0.2.1").addresses == std::vector<std::string>{"192.0.2.1"});
    CHECK(addresses(dns, "localhost").addresses == std::vector<std::string>{"127.0.0.1", "::1"});
    CHECK(dns.queries() == before);  // neither asked DNS
}

TEST_CASE("s2s resolver: SERVFAIL is a failure, not a fallback") {
    DnsResponder dns;
    dns.set_rcode("_xmpp-server._tcp.remote.example", parley::protocol::dns::Rcode::server_failure);
    dns.set_rcode("_xmpps-server._tcp.remote.example", parley::protocol::dns::Rcode::server_failure);
    CHECK(resolve(dns, "remote.example").ec == ResolveErrc::server_failure);
}

TEST_CASE("s2s resolver: a server that never answers times out in bounded time") {
    DnsResponder dns;
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "a.remote.example");
    dns.set_silent(true);
    auto start = std::chrono::steady_clock::now();
    auto r = resolve(dns, "remote.example");
    auto elapsed = std::chrono::steady_clock::now() - start;
    CHECK(r.ec == ResolveErrc::timeout);
    CHECK(elapsed >= 550ms);  // two attempts of 300 ms, both services in parallel
    CHECK(elapsed < 2s);
    CHECK(dns.queries() == 4);
}

TEST_CASE("s2s resolver: servers are tried in turn") {
    DnsResponder silent;
    silent.set_silent(true);
    DnsResponder working;
    working.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "a.remote.example");
    auto r = resolve({*Resolver::parse_server(silent.endpoint()), *Resolver::parse_server(working.endpoint())},
                     "remote.example");
    REQUIRE_FALSE(r.ec);
    CHECK(r.targets == std::vector<Target>{{"a.remote.example", 5269, false}});
    CHECK(silent.queries() == 2);
    CHECK(working.queries() == 2);
}

TEST_CASE("s2s resolver: forged responses are ignored") {
    DnsResponder dns;
    dns.add_srv("_xmpp-server._tcp.remote.example", 10, 0, 5269, "real.remote.example");
    dns.add_a("real.remote.example", "127.0.0.1");
    for (auto forgery : {DnsResponder::Forgery::wrong_id, DnsResponder::Forgery::wrong_question,
                         DnsResponder::Forgery::wrong_source}) {
        CAPTURE(static_cast<int>(forgery));
        dns.set_forgery(forgery);
        auto start = std::chrono::steady_clock::now();
        auto r = resolve(dns, "remote.example");
        REQUIRE_FALSE(r.ec);
        CHECK(r.targets == std::vector<Target>{{"real.remote.example", 5269, false}});
        auto a = addresses(dns, "real.remote.example");
        REQUIRE_FALSE(a.ec);
        CHECK(a.addresses == std::vector<std::string>{"127.0.0.1"});
        CHECK(std::chrono::steady_clock::now() - start < 250ms);  // the real answer, not a timeout
    }
}

TEST_CASE("s2s resolver: awaitable form") {
    DnsResponder dns;
    dns.add_srv("_xmpps-server._tcp.remote.example", 1, 0, 5270, "tls.remote.example");
    asio::io_context io;
    Resolver resolver(io.get_executor(), servers_of(dns), fast);
    std::optional<ServerLookup> got;
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        std::string domain = "remote.example";
        auto [ec, targets] = co_await resolver.resolve(domain, asio::as_tuple(asio::use_awaitable));
        got = ServerLookup{ec, std::move(targets)};
    }, asio::detached);
    io.run_for(5s);
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->ec);
    CHECK(got->targets == std::vector<Target>{{"tls.remote.example", 5270, true}});
}

TEST_CASE("s2s resolver: bad names and server endpoints") {
    DnsResponder dns;
    CHECK(resolve(dns, "a..b").ec == ResolveErrc::bad_name);
    CHECK(resolve(dns, std::string(64, 'x') + ".example").ec == ResolveErrc::bad_name);
    CHECK(dns.queries() == 0);

    CHECK(Resolver::parse_server("127.0.0.1:5353") == Resolver::Endpoint(asio::ip::make_address("127.0.0.1"), 5353));
    CHECK(Resolver::parse_server("[::1]:5353") == Resolver::Endpoint(asio::ip::make_address("::1"), 5353));
    CHECK(Resolver::parse_server("::1") == Resolver::Endpoint(asio::ip::make_address("::1"), 53));
    CHECK(Resolver::parse_server("192.0.2.1") == Resolver::Endpoint(asio::ip::make_address("192.0.2.1"), 53));
    CHECK_FALSE(Resolver::parse_server("localhost:53"));
    CHECK_FALSE(Resolver::parse_server("127.0.0.1:0"));
    CHECK_FALSE(Resolver::parse_server("127.0.0.1:70000"));
    CHECK_FALSE(Resolver::parse_server("127.0.0.1:"));
    CHECK_FALSE(Resolver::parse_server("[::1]"));
    CHECK_FALSE(Resolver::parse_server(""));
}

TEST_CASE("s2s resolver: system servers from resolv.conf") {
    const std::string path = "/tmp/parley_resolver_test_resolv.conf." + std::to_string(::getpid());
    {
        std::ofstream out(path);
        out << "# comment\nsearch example.org\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\n"
               "nameserver not-an-ip\noptions edns0\n";
    }
    auto servers = Resolver::system_servers(path);
    std::remove(path.c_str());
    REQUIRE(servers.size() == 2);
    CHECK(servers[0] == Resolver::Endpoint(asio::ip::make_address("192.0.2.53"), 53));
    CHECK(servers[1].address().to_string() == "fe80::1");
    auto fallback = Resolver::system_servers("/nonexistent/resolv.conf");
    CHECK(fallback == std::vector<Resolver::Endpoint>{Resolver::Endpoint(asio::ip::address_v4::loopback(), 53)});
}
