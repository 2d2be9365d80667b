#include "server/s2s/resolver.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <random>
#include <sstream>
#include <tuple>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "protocol/dns/dns_message.hpp"

namespace parley::server::s2s {

namespace asio = boost::asio;
namespace dns = protocol::dns;
using boost::system::error_code;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;

namespace {

class ResolveCategory : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "parley.s2s.resolve"; }
    std::string message(int ev) const override {
        switch (static_cast<ResolveErrc>(ev)) {
        case ResolveErrc::no_service: return "the domain offers no server-to-server service";
        case ResolveErrc::not_found: return "no such domain or no address";
        case ResolveErrc::timeout: return "no DNS server answered in time";
        case ResolveErrc::server_failure: return "the DNS servers failed to answer";
        case ResolveErrc::bad_name: return "not a valid domain name";
        case ResolveErrc::no_servers: return "no DNS server configured";
        }
        return "unknown resolve error";
    }
};

std::uint32_t random32() {
    std::uint32_t v = 0;
    // Query ids must be unpredictable to off-path attackers (RFC 5452 §9.2).
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) v = std::random_device{}();
    return v;
}

// The response to one query, already checked to be the answer to it.
struct QueryOutcome {
    error_code ec;
    dns::Message message;
};

bool is_answer_to(const dns::Message& m, std::uint16_t id, const std::string& name, dns::RecordType type) {
    return m.is_response && m.id == id && m.opcode == 0 && m.questions.size() == 1 &&
           m.questions[0].type == type && m.questions[0].qclass == dns::class_in &&
           dns::names_equal(m.questions[0].name, name);
}

awaitable<QueryOutcome> query_server(Resolver::Endpoint server, std::string name, dns::RecordType type,
                                     std::chrono::milliseconds timeout) {
    auto ex = co_await asio::this_coro::executor;
    const std::uint16_t id = static_cast<std::uint16_t>(random32());
    auto query = dns::make_query(id, name, type);
    if (!query) co_return QueryOutcome{ResolveErrc::bad_name, {}};
    // A fresh socket per query: a random source port for every query (RFC 5452 §9.2).
    asio::ip::udp::socket socket(ex);
    error_code ec;
    socket.open(server.protocol(), ec);
    if (ec) co_return QueryOutcome{ec, {}};
    auto request = asio::buffer(*query);
    auto [send_ec, sent] = co_await socket.async_send_to(request, server, asio::as_tuple(asio::use_awaitable));
    if (send_ec) co_return QueryOutcome{send_ec, {}};

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::uint8_t> buf(65536);
    asio::steady_timer timer(ex);
    for (;;) {
        timer.expires_at(deadline);
        Resolver::Endpoint sender;
        auto receive = socket.async_receive_from(asio::buffer(buf), sender, asio::as_tuple(asio::use_awaitable));
        auto wait = timer.async_wait(asio::as_tuple(asio::use_awaitable));
        auto first = co_await (std::move(receive) || std::move(wait));
        if (first.index() == 1) co_return QueryOutcome{ResolveErrc::timeout, {}};
        auto [receive_ec, n] = std::get<0>(first);
        if (receive_ec) co_return QueryOutcome{receive_ec, {}};
        if (sender != server) {
            spdlog::warn("dns_response_ignored reason=wrong_source server={}:{} from={}:{}",
                         server.address().to_string(), server.port(), sender.address().to_string(), sender.port());
            continue;
        }
        auto decoded = dns::decode(std::span(buf.data(), n));
        // A TC response cut inside a record still gives the records that fit.
        bool usable = decoded.ok() || (decoded.message && decoded.message->truncated);
        if (!usable || !is_answer_to(*decoded.message, id, name, type)) {
            spdlog::warn("dns_response_ignored reason={} name={}", usable ? "not_the_answer" : to_string(decoded.error),
                         name);
            continue;
        }
        dns::Message& m = *decoded.message;
        if (m.truncated) spdlog::debug("dns_response_truncated name={} answers={}", name, m.answers.size());
        if (m.rcode != dns::Rcode::no_error && m.rcode != dns::Rcode::name_error)
            co_return QueryOutcome{ResolveErrc::server_failure, {}};
        co_return QueryOutcome{{}, std::move(m)};
    }
}

// Each server in turn, the whole round `attempts` times; the last failure is reported.
awaitable<QueryOutcome> query(std::shared_ptr<const Resolver::Shared> shared, std::string name, dns::RecordType type) {
    if (shared->servers.empty()) co_return QueryOutcome{ResolveErrc::no_servers, {}};
    QueryOutcome last{ResolveErrc::timeout, {}};
    for (int attempt = 0; attempt < std::max(1, shared->options.attempts); ++attempt) {
        for (const auto& server : shared->servers) {
            auto timeout = shared->options.timeout;
            last = co_await query_server(server, name, type, timeout);
            if (!last.ec || last.ec == ResolveErrc::bad_name) co_return last;
            spdlog::debug("dns_query_failed name={} server={}:{} error={}", name, server.address().to_string(),
                          server.port(), last.ec.message());
        }
    }
    co_return last;
}

// `name` and the names it is an alias of through the CNAMEs in the answer section.
std::vector<std::string> alias_chain(const dns::Message& m, const std::string& name) {
    std::vector<std::string> chain{name};
    for (std::size_t hop = 0; hop < 8; ++hop) {
        bool advanced = false;
        for (const auto& rec : m.answers) {
            if (auto* c = std::get_if<dns::CnameData>(&rec.data); c && dns::names_equal(rec.name, chain.back())) {
                if (std::none_of(chain.begin(), chain.end(), [&](const auto& n) { return dns::names_equal(n, c->target); })) {
                    chain.push_back(c->target);
                    advanced = true;
                }
                break;
            }
        }
        if (!advanced) break;
    }
    return chain;
}

bool owner_in(const std::vector<std::string>& chain, const std::string& owner) {
    return std::any_of(chain.begin(), chain.end(), [&](const auto& n) { return dns::names_equal(n, owner); });
}

struct SrvSet {
    error_code ec;
    bool not_offered = false;  // the single "." record
    std::vector<SrvCandidate> records;
};

SrvSet srv_set(const QueryOutcome& outcome, const std::string& qname, bool direct_tls) {
    SrvSet set{outcome.ec, false, {}};
    if (outcome.ec || outcome.message.rcode == dns::Rcode::name_error) return set;
    auto chain = alias_chain(outcome.message, qname);
    std::vector<dns::SrvData> all;
    for (const auto& rec : outcome.message.answers)
        if (auto* srv = std::get_if<dns::SrvData>(&rec.data); srv && owner_in(chain, rec.name)) all.push_back(*srv);
    if (all.size() == 1 && all[0].target == ".") {
        set.not_offered = true;
        return set;
    }
    for (auto& srv : all)
        if (srv.target != ".") set.records.push_back({srv.priority, srv.weight, srv.port, std::move(srv.target), direct_tls});
    return set;
}

struct ServerResult {
    error_code ec;
    std::vector<Target> targets;
};

awaitable<ServerResult> run_resolve_server(std::shared_ptr<const Resolver::Shared> shared, std::string domain) {
    if (domain.size() > 1 && domain.back() == '.') domain.pop_back();
    if (!dns::is_valid_name(domain) || domain == ".") co_return ServerResult{ResolveErrc::bad_name, {}};
    const std::string xmpps_name = "_xmpps-server._tcp." + domain;
    const std::string xmpp_name = "_xmpp-server._tcp." + domain;
    auto xmpps_query = query(shared, xmpps_name, dns::RecordType::srv);
    auto xmpp_query = query(shared, xmpp_name, dns::RecordType::srv);
    auto both = co_await (std::move(xmpps_query) && std::move(xmpp_query));
    SrvSet xmpps = srv_set(std::get<0>(both), xmpps_name, true);
    SrvSet xmpp = srv_set(std::get<1>(both), xmpp_name, false);

    std::vector<SrvCandidate> records = std::move(xmpps.records);
    records.insert(records.end(), xmpp.records.begin(), xmpp.records.end());
    if (!records.empty()) co_return ServerResult{{}, order_srv(std::move(records), random32())};
    // Nothing usable: a failed lookup cannot tell "no SRV" from "could not ask".
    if (xmpp.ec) co_return ServerResult{xmpp.ec, {}};
    if (xmpps.ec) co_return ServerResult{xmpps.ec, {}};
    if (xmpp.not_offered || xmpps.not_offered) co_return ServerResult{ResolveErrc::no_service, {}};
    co_return ServerResult{{}, {Target{domain, 5269, false}}};
}

struct AddressResult {
    error_code ec;
    std::vector<asio::ip::address> addresses;
};

// The addresses of one type, following a CNAME chain that leaves the response.
awaitable<AddressResult> lookup_addresses(std::shared_ptr<const Resolver::Shared> shared, std::string name,
                                          dns::RecordType type) {
    for (int hop = 0; hop < 4; ++hop) {
        auto outcome = co_await query(shared, name, type);
        if (outcome.ec) co_return AddressResult{outcome.ec, {}};
        if (outcome.message.rcode == dns::Rcode::name_error) co_return AddressResult{ResolveErrc::not_found, {}};
        auto chain = alias_chain(outcome.message, name);
        AddressResult result;
        for (const auto& rec : outcome.message.answers) {
            if (!owner_in(chain, rec.name)) continue;
            if (auto* v4 = std::get_if<dns::Ipv4>(&rec.data); v4 && type == dns::RecordType::a)
                result.addresses.push_back(asio::ip::address_v4(*v4));
            if (auto* v6 = std::get_if<dns::Ipv6>(&rec.data); v6 && type == dns::RecordType::aaaa)
                result.addresses.push_back(asio::ip::address_v6(*v6));
        }
        if (!result.addresses.empty() || chain.size() == 1) co_return result;
        name = chain.back();  // an alias whose target the server did not include
    }
    co_return AddressResult{};
}

bool is_localhost(std::string_view host) {
    std::string lower(host);
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return lower == "localhost" || (lower.size() > 10 && lower.ends_with(".localhost"));
}

awaitable<AddressResult> run_resolve_address(std::shared_ptr<const Resolver::Shared> shared, std::string host) {
    error_code parse_ec;
    auto literal = asio::ip::make_address(host, parse_ec);
    if (!parse_ec) co_return AddressResult{{}, {literal}};
    if (is_localhost(host))
        co_return AddressResult{{}, {asio::ip::address_v4::loopback(), asio::ip::address_v6::loopback()}};
    if (host.size() > 1 && host.back() == '.') host.pop_back();
    if (!dns::is_valid_name(host) || host == ".") co_return AddressResult{ResolveErrc::bad_name, {}};
    auto v6_lookup = lookup_addresses(shared, host, dns::RecordType::aaaa);
    auto v4_lookup = lookup_addresses(shared, host, dns::RecordType::a);
    auto both = co_await (std::move(v6_lookup) && std::move(v4_lookup));
    AddressResult& v6 = std::get<0>(both);
    AddressResult& v4 = std::get<1>(both);
    AddressResult result;
    result.addresses = std::move(v6.addresses);
    result.addresses.insert(result.addresses.end(), v4.addresses.begin(), v4.addresses.end());
    if (!result.addresses.empty()) co_return result;
    // NXDOMAIN from one type settles it; otherwise report why nothing came back.
    if (v4.ec == ResolveErrc::not_found || v6.ec == ResolveErrc::not_found) result.ec = ResolveErrc::not_found;
    else if (v4.ec) result.ec = v4.ec;
    else if (v6.ec) result.ec = v6.ec;
    else result.ec = ResolveErrc::not_found;
    co_return result;
}

}  // namespace

const boost::system::error_category& resolve_category() {
    static const ResolveCategory category;
    return category;
}

std::vector<Target> order_srv(std::vector<SrvCandidate> records, std::uint32_t seed) {
    std::mt19937 rng(seed);
    // Groups of equal priority, direct TLS first within a priority.
    std::stable_sort(records.begin(), records.end(), [](const SrvCandidate& a, const SrvCandidate& b) {
        return std::tie(a.priority, b.direct_tls) < std::tie(b.priority, a.direct_tls);
    });
    std::vector<Target> out;
    out.reserve(records.size());
    auto group_begin = records.begin();
    while (group_begin != records.end()) {
        auto group_end = std::find_if(group_begin, records.end(), [&](const SrvCandidate& r) {
            return r.priority != group_begin->priority || r.direct_tls != group_begin->direct_tls;
        });
        std::vector<SrvCandidate> group(std::make_move_iterator(group_begin), std::make_move_iterator(group_end));
        // RFC 2782: weight-0 records first, then pick by a random point in the running sum.
        std::stable_partition(group.begin(), group.end(), [](const SrvCandidate& r) { return r.weight == 0; });
        while (!group.empty()) {
            std::uint32_t total = 0;
            for (const auto& r : group) total += r.weight;
            std::uint32_t point = std::uniform_int_distribution<std::uint32_t>(0, total)(rng);
            std::uint32_t running = 0;
            auto chosen = group.begin();
            for (auto it = group.begin(); it != group.end(); ++it) {
                running += it->weight;
                if (running >= point) {
                    chosen = it;
                    break;
                }
            }
            out.push_back({std::move(chosen->target), chosen->port, chosen->direct_tls});
            group.erase(chosen);
        }
        group_begin = group_end;
    }
    return out;
}

Resolver::Resolver(asio::any_io_executor ex, std::vector<Endpoint> servers, ResolverOptions options)
    : ex_(std::move(ex)) {
    if (servers.empty()) servers = system_servers();
    shared_ = std::make_shared<const Shared>(Shared{std::move(servers), options});
}

std::optional<Resolver::Endpoint> Resolver::parse_server(std::string_view text) {
    std::string host(text);
    std::uint16_t port = 53;
    error_code ec;
    if (auto whole = asio::ip::make_address(host, ec); !ec) return Endpoint(whole, port);  // no port given
    std::string port_text;
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        if (close == std::string::npos || close + 1 >= host.size() || host[close + 1] != ':') return std::nullopt;
        port_text = host.substr(close + 2);
        host = host.substr(1, close - 1);
    } else {
        auto colon = host.rfind(':');
        if (colon == std::string::npos || host.find(':') != colon) return std::nullopt;
        port_text = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    unsigned long value = std::stoul(port_text);
    if (value == 0 || value > 65535) return std::nullopt;
    port = static_cast<std::uint16_t>(value);
    auto address = asio::ip::make_address(host, ec);
    if (ec) return std::nullopt;
    return Endpoint(address, port);
}

std::vector<Resolver::Endpoint> Resolver::system_servers(const std::string& path) {
    std::vector<Endpoint> servers;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string keyword, address;
        if (!(words >> keyword >> address) || keyword != "nameserver") continue;
        if (auto percent = address.find('%'); percent != std::string::npos) address.resize(percent);  // scope id
        error_code ec;
        auto ip = asio::ip::make_address(address, ec);
        if (!ec) servers.emplace_back(ip, 53);
    }
    if (servers.empty()) servers.emplace_back(asio::ip::address_v4::loopback(), 53);
    return servers;
}

void Resolver::resolve_server(std::string domain, TargetsHandler done) {
    auto shared = shared_;
    asio::co_spawn(ex_, run_resolve_server(std::move(shared), std::move(domain)),
                   [done = std::move(done)](std::exception_ptr e, ServerResult r) {
                       if (e) {
                           // Only a bug or memory exhaustion lands here; the caller sees a failure.
                           spdlog::error("dns_resolve_failed what=exception");
                           done(ResolveErrc::server_failure, {});
                           return;
                       }
                       done(r.ec, std::move(r.targets));
                   });
}

void Resolver::resolve_address(std::string host, AddressesHandler done) {
    auto shared = shared_;
    asio::co_spawn(ex_, run_resolve_address(std::move(shared), std::move(host)),
                   [done = std::move(done)](std::exception_ptr e, AddressResult r) {
                       if (e) {
                           spdlog::error("dns_resolve_failed what=exception");
                           done(ResolveErrc::server_failure, {});
                           return;
                       }
                       done(r.ec, std::move(r.addresses));
                   });
}

}  // namespace parley::server::s2s
