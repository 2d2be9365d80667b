#pragma once
// Server-to-server federation (RFC 6120 §4–§5, XEP-0220 dialback, XEP-0185 keys): the
// outgoing stream per (local domain, remote domain) pair, created by the first stanza
// and holding stanzas while it is set up; the incoming streams accepted on the s2s
// listener; dialback verification in both roles. Callable from any I/O thread.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "server/config.hpp"
#include "server/routing/router.hpp"

namespace parley::server::net {
class IoPool;
}

namespace parley::server::s2s {

class IncomingStream;
class OutgoingStream;

// Where to connect for a remote domain, in order.
struct RouteTarget {
    std::string host;  // an IP address or a host name
    std::uint16_t port = 5269;
    bool direct_tls = false;  // XEP-0368: TLS from the first byte
};

class S2sManager {
public:
    S2sManager(const Config& config, routing::Router& router, net::IoPool& pool,
               std::shared_ptr<boost::asio::ssl::context> server_tls);
    ~S2sManager();
    S2sManager(const S2sManager&) = delete;
    S2sManager& operator=(const S2sManager&) = delete;

    // The router's handler for remote destinations: queues the stanza on the outgoing
    // stream of its (from domain, to domain) pair, creating the stream if needed.
    void send(routing::Stanza stanza);
    // A connection accepted on the s2s listener, or with `direct_tls` on the XEP-0368
    // one (the socket is on its I/O context). Past [s2s] max_incoming or
    // max_incoming_per_ip the stream is refused with a stream error at once.
    void accept(boost::asio::ip::tcp::socket socket, bool direct_tls = false);

    // Receiving-server role (XEP-0220 §2.1.2): asks the authoritative server of
    // `remote` whether `key` is the one it made for (local, remote, stream id). `done`
    // runs on any thread.
    enum class Verdict { valid, invalid, error };
    using VerifyDone = std::function<void(Verdict)>;
    void verify(std::string local, std::string remote, std::string stream_id, std::string key, VerifyDone done);
    // The key this server, as originating/authoritative server, gives for the pair.
    std::string dialback_key(std::string_view receiving, std::string_view originating,
                             std::string_view stream_id) const;

    // The ordered targets for `domain` (runs on the caller's executor): its static route,
    // else DNS SRV (RFC 6120 §3.2.1, XEP-0368; s2s/resolver.hpp) asking [s2s]
    // dns_servers (the system's nameservers when none are named); none when the domain
    // does not offer the service or DNS fails.
    boost::asio::awaitable<std::vector<RouteTarget>> resolve_targets(std::string domain) const;
    // Without DNS: the static route, else {domain, 5269} — none when DNS servers are
    // configured (the system's resolver must then not be asked).
    std::vector<RouteTarget> targets_for(const std::string& domain) const;
    // [s2s] dns_servers as endpoints; empty = the system's nameservers.
    const std::vector<boost::asio::ip::udp::endpoint>& dns_servers() const { return dns_servers_; }
    // True when a target host may be resolved through the system resolver.
    bool may_use_system_resolver(const std::string& domain) const;

    // Ends every stream (system-shutdown) and refuses new ones; any thread.
    void shutdown();
    std::size_t open_streams() const;
    bool shutting_down() const;

    const Config& config() const { return config_; }
    routing::Router& router() { return router_; }
    net::IoPool& pool() { return pool_; }
    // The s2s contexts (s2s_tls.hpp), made from the c2s context given to the
    // constructor or to set_tls() (a reload): the same certificate either way.
    std::shared_ptr<boost::asio::ssl::context> server_tls() const;
    void set_tls(std::shared_ptr<boost::asio::ssl::context> ctx);
    std::shared_ptr<boost::asio::ssl::context> client_tls() const;
    std::uint64_t next_stream_id();

    // Bookkeeping called by the streams themselves.
    void incoming_opened(const std::shared_ptr<IncomingStream>& s);
    void incoming_closed(std::uint64_t id);
    // An admitted incoming connection from `ip` is over (its slot is free again).
    void release_incoming(const std::string& ip);
    void outgoing_closed(const std::string& local, const std::string& remote, const OutgoingStream* s);

private:
    std::shared_ptr<OutgoingStream> outgoing_for(const std::string& local, const std::string& remote);

    const Config& config_;
    routing::Router& router_;
    net::IoPool& pool_;
    std::string hashed_secret_;
    std::vector<boost::asio::ip::udp::endpoint> dns_servers_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> server_tls_, client_tls_;
    // Admitted incoming connections, in all and per address.
    std::size_t incoming_admitted_ = 0;
    std::unordered_map<std::string, std::size_t> incoming_per_ip_;
    // Refusals are logged at most once per few seconds, with how many there were.
    std::chrono::steady_clock::time_point refusal_logged_at_{};
    std::size_t refusals_unlogged_ = 0;
    bool shutting_down_ = false;
    std::atomic<std::uint64_t> next_id_{1};
    std::map<std::pair<std::string, std::string>, std::shared_ptr<OutgoingStream>> outgoing_;
    std::unordered_map<std::uint64_t, std::weak_ptr<IncomingStream>> incoming_;
};

}  // namespace parley::server::s2s
