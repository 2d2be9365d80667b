#pragma once
// Where to connect for a remote domain (RFC 6120 §3.2 with XEP-0368), through our own
// small DNS client, so that only the DNS servers named in config are ever asked (tests
// point it at a loopback responder; nothing reaches the machine's resolver then).
//
// resolve_server("example.org") asks _xmpps-server._tcp and _xmpp-server._tcp at once and
// merges the two SRV sets: ordered by priority, at equal priority xmpps (direct TLS)
// before xmpp (XEP-0368 lets the initiator prefer one), and within one priority and
// service by RFC 2782's weighted random choice. A lone "." target means the service is
// not offered: for xmpp-server that is `no_service` (unless xmpps has records), for
// xmpps-server it only rules out direct TLS, and then no A/AAAA fallback is made
// (XEP-0368 §5). Neither service having SRV records gives {domain, 5269, plain}.
//
// Queries go over UDP to each server in turn, each waiting `timeout`, the whole round
// repeated `attempts` times; a response counts only if it comes from the server asked,
// carries the query's random id and echoes its question. Not done: TCP fallback when a
// response has TC set (the records that fit are used), EDNS0, DNSSEC.
//
// Thread rule: any thread may call; each lookup runs on the executor given at
// construction and its handler is called there. The Resolver may be destroyed while
// lookups run (they own what they use).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::server::s2s {

enum class ResolveErrc {
    no_service = 1,  // SRV target "." (RFC 2782): the domain decidedly offers no s2s
    not_found,       // NXDOMAIN, or no address records
    timeout,         // no valid response from any server in time
    server_failure,  // SERVFAIL, REFUSED or another error rcode from every server
    bad_name,        // not a name that DNS can carry
    no_servers,      // no DNS server configured and none in /etc/resolv.conf
};
const boost::system::error_category& resolve_category();
inline boost::system::error_code make_error_code(ResolveErrc e) { return {static_cast<int>(e), resolve_category()}; }

struct Target {
    std::string host;
    std::uint16_t port = 5269;
    bool direct_tls = false;  // from _xmpps-server: TLS from the first byte
    bool operator==(const Target&) const = default;
};

// One SRV record of either service, before ordering.
struct SrvCandidate {
    std::uint16_t priority = 0;
    std::uint16_t weight = 0;
    std::uint16_t port = 0;
    std::string target;
    bool direct_tls = false;
};
// RFC 2782 order (see above) with `seed` for the weighted choices. Exposed for tests.
std::vector<Target> order_srv(std::vector<SrvCandidate> records, std::uint32_t seed);

struct ResolverOptions {
    std::chrono::milliseconds timeout{2000};  // per query and server
    int attempts = 2;                         // rounds over all servers
};

class Resolver {
public:
    using Endpoint = boost::asio::ip::udp::endpoint;
    using TargetsHandler = std::function<void(boost::system::error_code, std::vector<Target>)>;
    using AddressesHandler = std::function<void(boost::system::error_code, std::vector<boost::asio::ip::address>)>;

    // An empty `servers` means the system's: system_servers().
    Resolver(boost::asio::any_io_executor ex, std::vector<Endpoint> servers, ResolverOptions options = {});

    // "127.0.0.1:5353", "[::1]:5353", "192.0.2.1" and "::1" (port 53); nullopt otherwise.
    static std::optional<Endpoint> parse_server(std::string_view text);
    // The nameservers of a resolv.conf file, port 53; 127.0.0.1:53 when it names none or
    // cannot be read (what glibc does).
    static std::vector<Endpoint> system_servers(const std::string& path = "/etc/resolv.conf");

    const std::vector<Endpoint>& servers() const { return shared_->servers; }

    // The ordered connection targets for `domain`, or an error (ResolveErrc).
    void resolve_server(std::string domain, TargetsHandler done);
    // AAAA then A addresses of `host` (CNAMEs followed); an IP literal is returned as
    // it is, and "localhost" and names under it are 127.0.0.1 and ::1 without asking
    // (RFC 6761 §6.3).
    void resolve_address(std::string host, AddressesHandler done);

    // resolve_server as an asynchronous operation:
    // auto [ec, targets] = co_await resolver.resolve(domain, as_tuple(use_awaitable));
    template <class Token>
    auto resolve(std::string domain, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::vector<Target>)>(
            [this](auto handler, std::string domain) {
                auto ex = boost::asio::get_associated_executor(handler, ex_);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                resolve_server(std::move(domain), [ex, shared](boost::system::error_code ec, std::vector<Target> t) {
                    boost::asio::post(ex, [shared, ec, t = std::move(t)]() mutable { (*shared)(ec, std::move(t)); });
                });
            },
            token, std::move(domain));
    }
    // resolve_address as an asynchronous operation.
    template <class Token>
    auto resolve_addresses(std::string host, Token&& token) {
        using Addresses = std::vector<boost::asio::ip::address>;
        return boost::asio::async_initiate<Token, void(boost::system::error_code, Addresses)>(
            [this](auto handler, std::string host) {
                auto ex = boost::asio::get_associated_executor(handler, ex_);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                resolve_address(std::move(host), [ex, shared](boost::system::error_code ec, Addresses a) {
                    boost::asio::post(ex, [shared, ec, a = std::move(a)]() mutable { (*shared)(ec, std::move(a)); });
                });
            },
            token, std::move(host));
    }

    struct Shared {
        std::vector<Endpoint> servers;
        ResolverOptions options;
    };

private:
    boost::asio::any_io_executor ex_;
    std::shared_ptr<const Shared> shared_;
};

}  // namespace parley::server::s2s

template <>
struct boost::system::is_error_code_enum<parley::server::s2s::ResolveErrc> : std::true_type {};
