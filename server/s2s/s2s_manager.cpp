#include "server/s2s/s2s_manager.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>

#include "server/log.hpp"
#include "server/net/io_pool.hpp"
#include "server/s2s/dialback.hpp"
#include "server/s2s/incoming_stream.hpp"
#include "server/s2s/outgoing_stream.hpp"
#include "server/s2s/resolver.hpp"
#include "server/s2s/s2s_tls.hpp"

namespace parley::server::s2s {

namespace asio = boost::asio;
using protocol::StanzaErrorCondition;

S2sManager::S2sManager(const Config& config, routing::Router& router, net::IoPool& pool,
                       std::shared_ptr<asio::ssl::context> server_tls)
    : config_(config),
      router_(router),
      pool_(pool),
      hashed_secret_(hash_secret(config.s2s.dialback_secret.empty() ? random_hex(32) : config.s2s.dialback_secret)) {
    set_tls(std::move(server_tls));
    for (const auto& text : config.s2s.dns_servers) {
        if (auto endpoint = Resolver::parse_server(text)) dns_servers_.push_back(*endpoint);
    }
}

S2sManager::~S2sManager() = default;

std::string S2sManager::dialback_key(std::string_view receiving, std::string_view originating,
                                     std::string_view stream_id) const {
    return s2s::dialback_key(hashed_secret_, receiving, originating, stream_id);
}

asio::awaitable<std::vector<RouteTarget>> S2sManager::resolve_targets(std::string domain) const {
    if (const auto* route = config_.s2s.route_for(domain)) {
        co_return std::vector<RouteTarget>{RouteTarget{route->host, route->port, route->direct_tls}};
    }
    auto ex = co_await asio::this_coro::executor;
    Resolver resolver(ex, dns_servers_);
    auto token = asio::as_tuple(asio::use_awaitable);
    auto [ec, found] = co_await resolver.resolve(domain, token);
    std::vector<RouteTarget> targets;
    if (ec) {
        spdlog::info("s2s_dns_failed remote={} error={}", domain, ec.message());
        co_return targets;
    }
    for (auto& t : found) targets.push_back(RouteTarget{std::move(t.host), t.port, t.direct_tls});
    co_return targets;
}

std::vector<RouteTarget> S2sManager::targets_for(const std::string& domain) const {
    if (const auto* route = config_.s2s.route_for(domain)) return {RouteTarget{route->host, route->port, route->direct_tls}};
    if (!config_.s2s.dns_servers.empty()) return {};
    return {RouteTarget{domain, 5269, false}};
}

bool S2sManager::may_use_system_resolver(const std::string& domain) const {
    // Tests and split-horizon set-ups name their own DNS servers or static routes: the
    // machine's resolver must then never be asked about the domain.
    return config_.s2s.dns_servers.empty() && config_.s2s.route_for(domain) == nullptr;
}

std::shared_ptr<asio::ssl::context> S2sManager::server_tls() const {
    std::lock_guard lock(mutex_);
    return server_tls_;
}

void S2sManager::set_tls(std::shared_ptr<asio::ssl::context> ctx) {
    auto made = make_s2s_tls(config_, ctx ? ctx->native_handle() : nullptr);
    std::lock_guard lock(mutex_);
    server_tls_ = std::move(made.server);
    client_tls_ = std::move(made.client);
}

std::shared_ptr<asio::ssl::context> S2sManager::client_tls() const {
    std::lock_guard lock(mutex_);
    return client_tls_;
}

std::uint64_t S2sManager::next_stream_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

bool S2sManager::shutting_down() const {
    std::lock_guard lock(mutex_);
    return shutting_down_;
}

std::shared_ptr<OutgoingStream> S2sManager::outgoing_for(const std::string& local, const std::string& remote) {
    std::shared_ptr<OutgoingStream> stream;
    {
        std::lock_guard lock(mutex_);
        if (shutting_down_) return nullptr;
        auto& slot = outgoing_[{local, remote}];
        if (slot) return slot;
        // One I/O context per remote domain, so a peer's streams share a thread.
        slot = std::make_shared<OutgoingStream>(*this, pool_.for_key(remote), local, remote);
        stream = slot;
    }
    stream->start();
    return stream;
}

void S2sManager::send(routing::Stanza stanza) {
    const std::string remote = stanza.to.domain();
    const std::string local = stanza.from.domain();
    if (!config_.is_local(local)) {
        spdlog::warn("s2s_dropped reason=not_from_a_local_domain from={} to={}", stanza.from.to_string(), remote);
        return;
    }
    if (!config_.s2s.allows(remote)) {
        router_.bounce(stanza, protocol::stanza_error(StanzaErrorCondition::remote_server_not_found,
                                                      "federation with that domain is not allowed here"));
        return;
    }
    auto stream = outgoing_for(local, remote);
    if (!stream) {
        router_.bounce(stanza, protocol::stanza_error(StanzaErrorCondition::remote_server_not_found));
        return;
    }
    asio::post(stream->executor(), [stream, s = std::move(stanza)]() mutable { stream->enqueue(std::move(s)); });
}

void S2sManager::verify(std::string local, std::string remote, std::string stream_id, std::string key,
                        VerifyDone done) {
    auto stream = outgoing_for(local, remote);
    if (!stream) {
        done(Verdict::error);
        return;
    }
    OutgoingStream::VerifyJob job{std::move(stream_id), std::move(key), std::move(done)};
    asio::post(stream->executor(), [stream, job = std::move(job)]() mutable { stream->add_verify(std::move(job)); });
}

void S2sManager::accept(asio::ip::tcp::socket socket, bool direct_tls) {
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (ec || shutting_down()) return;
    std::string ip = endpoint.address().to_string();
    std::optional<protocol::StreamErrorCondition> refusal;
    {
        std::lock_guard lock(mutex_);
        const auto& c = config_.s2s;
        // RFC 6120 §4.9.3: too many connections in all is the server's resource limit
        // (resource-constraint); too many from one address is local policy.
        if (incoming_admitted_ >= c.max_incoming) {
            refusal = protocol::StreamErrorCondition::resource_constraint;
        } else if (c.max_incoming_per_ip != 0 && incoming_per_ip_[ip] >= c.max_incoming_per_ip) {
            refusal = protocol::StreamErrorCondition::policy_violation;
        } else {
            ++incoming_admitted_;
            ++incoming_per_ip_[ip];
        }
        if (refusal) {
            ++refusals_unlogged_;
            const auto now = std::chrono::steady_clock::now();
            if (now - refusal_logged_at_ >= std::chrono::seconds(10)) {
                spdlog::warn("s2s_incoming_refused ip={} reason={} refused={} incoming={}", ip,
                             *refusal == protocol::StreamErrorCondition::resource_constraint ? "max_incoming"
                                                                                            : "max_incoming_per_ip",
                             refusals_unlogged_, incoming_admitted_);
                refusal_logged_at_ = now;
                refusals_unlogged_ = 0;
            }
        }
    }
    auto ex = socket.get_executor();
    asio::post(ex, [this, s = std::move(socket), ip = std::move(ip), direct_tls, refusal]() mutable {
        std::make_shared<IncomingStream>(*this, std::move(s), std::move(ip), direct_tls, refusal)->start();
    });
}

void S2sManager::release_incoming(const std::string& ip) {
    std::lock_guard lock(mutex_);
    if (incoming_admitted_ > 0) --incoming_admitted_;
    auto it = incoming_per_ip_.find(ip);
    if (it != incoming_per_ip_.end() && --it->second == 0) incoming_per_ip_.erase(it);
}

void S2sManager::incoming_opened(const std::shared_ptr<IncomingStream>& s) {
    std::lock_guard lock(mutex_);
    incoming_[s->id()] = s;
}

void S2sManager::incoming_closed(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    incoming_.erase(id);
}

void S2sManager::outgoing_closed(const std::string& local, const std::string& remote, const OutgoingStream* s) {
    std::lock_guard lock(mutex_);
    auto it = outgoing_.find({local, remote});
    if (it != outgoing_.end() && it->second.get() == s) outgoing_.erase(it);
}

void S2sManager::shutdown() {
    std::vector<std::shared_ptr<S2sStream>> streams;
    {
        std::lock_guard lock(mutex_);
        shutting_down_ = true;
        for (auto& [key, s] : outgoing_) streams.push_back(s);
        for (auto& [id, weak] : incoming_) {
            if (auto s = weak.lock()) streams.push_back(s);
        }
    }
    for (auto& s : streams) {
        asio::post(s->executor(), [s] { s->close(protocol::StreamErrorCondition::system_shutdown); });
    }
}

std::size_t S2sManager::open_streams() const {
    std::lock_guard lock(mutex_);
    return outgoing_.size() + incoming_.size();
}

}  // namespace parley::server::s2s
