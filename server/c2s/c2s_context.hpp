#pragma once
// What every client session shares: configuration, the session table, the router,
// storage, the current TLS context, and the connection counters.
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/config.hpp"
#include "server/modules/hooks.hpp"
#include "server/routing/router.hpp"
#include "server/routing/session_registry.hpp"
#include "storage/database.hpp"

namespace parley::server::c2s {

class C2sContext {
public:
    C2sContext(const Config& config, routing::SessionRegistry& sessions, routing::Router& router,
               modules::Hooks& hooks, storage::Database& db, std::shared_ptr<boost::asio::ssl::context> tls)
        : config(config), sessions(sessions), router(router), hooks(hooks), db(db), tls_(std::move(tls)) {}

    const Config& config;
    routing::SessionRegistry& sessions;
    routing::Router& router;
    modules::Hooks& hooks;
    storage::Database& db;
    // True while a sink behind routing (the archive's write queue) asks for
    // back-pressure: sessions then read no more from their clients until it clears.
    std::function<bool()> intake_paused;
    // Features the modules offer after authentication (ModuleContext::stream_features).
    std::vector<protocol::xml::Element> bound_features;

    std::shared_ptr<boost::asio::ssl::context> tls() const {
        std::lock_guard lock(mutex_);
        return tls_;
    }
    void set_tls(std::shared_ptr<boost::asio::ssl::context> ctx) {
        std::lock_guard lock(mutex_);
        tls_ = std::move(ctx);
    }

    std::uint64_t next_session_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    // Connection accounting; false when a limit refuses the new connection.
    bool admit(const std::string& ip);
    void release(const std::string& ip);
    // Counts a refused connection too, while it is told why it is refused.
    void admit_anyway(const std::string& ip);
    std::size_t connections() const { return connections_.load(std::memory_order_relaxed); }

    // Every open stream, bound or not, so that shutdown can reach each one.
    void track(routing::SessionRef ref);
    void untrack(std::uint64_t id);
    std::vector<routing::SessionRef> open_streams() const;

private:
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> tls_;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<std::size_t> connections_{0};
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::unordered_map<std::uint64_t, routing::SessionRef> open_;
};

}  // namespace parley::server::c2s
