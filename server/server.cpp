#include "server/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <malloc.h>
#include <sys/resource.h>

#include <condition_variable>
#include <csignal>
#include <future>
#include <thread>

#include "server/c2s/c2s_context.hpp"
#include "server/c2s/session.hpp"
#include "server/log.hpp"
#include "server/modules/module.hpp"
#include "server/net/io_pool.hpp"
#include "server/net/listener.hpp"
#include "server/net/tls.hpp"
#include "server/routing/router.hpp"
#include "server/s2s/s2s_manager.hpp"
#include "storage/archive_queue.hpp"
#include "storage/archive_store.hpp"
#include "storage/database.hpp"

namespace parley::server {

namespace asio = boost::asio;

struct Server::State {
    explicit State(const Config& c)
        : pool(c.threads ? c.threads : std::max(1u, std::thread::hardware_concurrency())),
          db(c.storage.postgres, c.storage.threads),
          router(c, sessions, hooks, iq) {}
    // The pool outlives the database: a database job finishing during shutdown posts its
    // completion to an I/O context, which must still exist (stopped is fine).
    net::IoPool pool;
    storage::Database db;
    std::unique_ptr<storage::ArchiveQueue> archive;  // after db, so drained before db closes
    modules::Hooks hooks;
    routing::IqDispatcher iq;
    routing::SessionRegistry sessions;
    routing::Router router;
    std::unique_ptr<modules::ModuleContext> module_ctx;
    std::vector<std::unique_ptr<modules::Module>> modules;
    std::unique_ptr<c2s::C2sContext> c2s;
    std::unique_ptr<s2s::S2sManager> s2s;  // null when federation is off
    std::vector<std::unique_ptr<net::Listener>> listeners;
};

namespace {

// A process here may open a limited number of files: use all we are allowed.
void raise_file_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
    const auto before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) == 0) {
        spdlog::info("file_limit_raised from={} to={}", before, lim.rlim_cur);
    }
}

// The archive's write queue counts what went wrong; the operator hears of it once a
// second while it lasts (failed writes are retried, refused rows were answered with
// resource-constraint to their senders), and once more when the backlog is written.
struct ArchiveReporter {
    storage::ArchiveQueue::Stats last;
    bool troubled = false;
    void check(const storage::ArchiveQueue::Stats& now) {
        if (now.retries != last.retries) {
            spdlog::warn("archive_write_failed attempts={} queued={} (PostgreSQL unreachable or failing; retrying)",
                         now.retries - last.retries, now.queued);
            troubled = true;
        }
        if (now.rejected != last.rejected) {
            spdlog::error("archive_queue_full refused={} queued={} (senders were told resource-constraint)",
                          now.rejected - last.rejected, now.queued);
            troubled = true;
        }
        if (troubled && now.queued == 0 && now.retries == last.retries) {
            spdlog::info("archive_caught_up written={} refused={}", now.written, now.rejected);
            troubled = false;
        }
        last = now;
    }
};

}  // namespace

Server::Server(Config config) : config_(std::move(config)) {}
Server::~Server() = default;

int Server::run() {
    raise_file_limit();
    state_ = std::make_unique<State>(config_);
    auto& st = *state_;
    if (auto r = st.db.migrate(); !r) {
        spdlog::critical("database_unavailable conninfo='{}' error={}", config_.storage.postgres, r.error().message());
        return 1;
    }
    std::shared_ptr<asio::ssl::context> tls;
    try {
        tls = net::make_server_tls_context(config_);
    } catch (const std::exception& e) {
        spdlog::critical("tls_config_failed error={}", e.what());
        return 1;
    }
    auto max_id = st.db.run_sync<std::int64_t>("archive", [](pqxx::connection& c) { return storage::archive_store::max_id(c); });
    if (!max_id) {
        spdlog::critical("database_unavailable reading=archive_max_id error={}", max_id.error().message());
        return 1;
    }
    st.archive = std::make_unique<storage::ArchiveQueue>(storage::ArchiveQueue::Options{
        config_.storage.postgres, config_.archive.queue_capacity, config_.archive.batch_size, config_.archive.writers});
    st.archive->start(*max_id);
    st.module_ctx = std::make_unique<modules::ModuleContext>(config_, st.hooks, st.iq, st.router, st.sessions, st.db,
                                                             *st.archive);
    st.modules = modules::all_modules();
    for (auto& m : st.modules) {
        m->start(*st.module_ctx);
        spdlog::debug("module_started name={}", m->name());
    }
    st.c2s = std::make_unique<c2s::C2sContext>(config_, st.sessions, st.router, st.hooks, st.db, tls);
    st.c2s->bound_features = st.module_ctx->stream_features();
    if (config_.archive.enabled) st.c2s->intake_paused = [q = st.archive.get()] { return q->congested(); };
    if (config_.s2s.enabled) {
        st.s2s = std::make_unique<s2s::S2sManager>(config_, st.router, st.pool, tls);
        st.router.set_remote([m = st.s2s.get()](routing::Stanza s) { m->send(std::move(s)); });
    }

    auto& accept_ctx = st.pool.at(0);
    auto make_listener = [&](std::uint16_t port, bool direct_tls) {
        if (port == 0) return;
        auto on_accept = [&st, direct_tls](asio::ip::tcp::socket socket) {
            boost::system::error_code ec;
            auto endpoint = socket.remote_endpoint(ec);
            if (ec) return;
            std::string ip = endpoint.address().to_string();
            const bool admitted = st.c2s->admit(ip);
            if (!admitted) {
                spdlog::warn("connection_refused ip={} reason=limit connections={}", ip, st.c2s->connections());
                // The client still learns why: policy-violation after its stream header.
                st.c2s->admit_anyway(ip);
            }
            auto ex = socket.get_executor();
            asio::post(ex, [&st, s = std::move(socket), ip = std::move(ip), direct_tls, admitted]() mutable {
                std::make_shared<c2s::Session>(*st.c2s, std::move(s), std::move(ip), direct_tls, !admitted)->start();
            });
        };
        try {
            st.listeners.push_back(std::make_unique<net::Listener>(
                accept_ctx, st.pool, config_.c2s.address, port, direct_tls ? "c2s_direct_tls" : "c2s", on_accept));
        } catch (const std::exception& e) {
            spdlog::critical("listen_failed error={}", e.what());
            throw;
        }
    };
    try {
        make_listener(config_.c2s.port, false);
        make_listener(config_.c2s.direct_tls_port, true);
        if (st.s2s) {
            try {
                auto s2s_listener = [&](std::uint16_t port, const char* name, bool direct_tls) {
                    if (port == 0) return;
                    st.listeners.push_back(std::make_unique<net::Listener>(
                        accept_ctx, st.pool, config_.s2s.address, port, name,
                        [m = st.s2s.get(), direct_tls](asio::ip::tcp::socket socket) {
                            m->accept(std::move(socket), direct_tls);
                        }));
                };
                s2s_listener(config_.s2s.port, "s2s", false);
                s2s_listener(config_.s2s.direct_tls_port, "s2s_direct_tls", true);  // XEP-0368
            } catch (const std::exception& e) {
                spdlog::critical("listen_failed error={}", e.what());
                throw;
            }
        }
    } catch (const std::exception&) {
        return 1;
    }
    for (auto& l : st.listeners) l->start();

    std::promise<void> stop_requested;
    auto stop_future = stop_requested.get_future();
    asio::signal_set signals(accept_ctx, SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal;
    on_signal = [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            try {
                Config fresh = load_config(config_.file);
                auto fresh_tls = net::make_server_tls_context(fresh);
                st.c2s->set_tls(fresh_tls);
                if (st.s2s) st.s2s->set_tls(fresh_tls);
                set_log_level(fresh.log.level);
                spdlog::info("reloaded certificate={} log_level={}", fresh.tls.certificate.string(), fresh.log.level);
            } catch (const std::exception& e) {
                spdlog::error("reload_failed error={} (keeping the running configuration)", e.what());
            }
            signals.async_wait(on_signal);
            return;
        }
        spdlog::info("shutdown_requested signal={}", sig);
        stop_requested.set_value();
    };
    signals.async_wait(on_signal);

    st.pool.start();
    spdlog::info("server_started hosts={} threads={}", config_.hosts.size(), st.pool.size());
    // glibc keeps memory freed by hibernating sessions and TLS handshakes inside its
    // heap, between live allocations: the otherwise idle main thread gives whole free
    // pages back every second, so what the server holds follows what its connections
    // need (and no I/O thread stalls for it).
    ArchiveReporter archive_reporter{st.archive->stats()};
    while (stop_future.wait_for(std::chrono::seconds(1)) == std::future_status::timeout) {
        malloc_trim(0);
        archive_reporter.check(st.archive->stats());
    }

    // Shutdown in order: listeners, modules' stop(), streams (system-shutdown), a bounded
    // wait, the archive's queue.
    asio::post(accept_ctx, [&] {
        for (auto& l : st.listeners) l->stop();
        signals.cancel();
    });
    // Modules say goodbye while the streams are still open (MUC: 332 to every occupant).
    for (auto& m : st.modules) {
        auto done = asio::co_spawn(st.pool.at(0), m->stop(), asio::use_future);
        if (done.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
            spdlog::warn("module_stop_slow name={}", m->name());
        }
    }
    for (auto& ref : st.c2s->open_streams()) ref.close(protocol::StreamErrorCondition::system_shutdown);
    if (st.s2s) st.s2s->shutdown();
    auto open = [&st] { return st.c2s->connections() + (st.s2s ? st.s2s->open_streams() : 0); };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (open() > 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    st.pool.stop();
    st.pool.join();
    // Everything routed was queued; write it before the process ends (XEP-0313 promise).
    const auto queued = st.archive->stats().queued;
    const std::size_t unwritten = st.archive->drain(std::chrono::duration_cast<std::chrono::milliseconds>(config_.archive.drain_timeout));
    if (unwritten > 0) {
        spdlog::error("archive_drain_incomplete unwritten={} (PostgreSQL unreachable for archive.drain_timeout)", unwritten);
    } else {
        spdlog::info("archive_drained rows={}", queued);
    }
    spdlog::info("server_stopped");
    return 0;
}

}  // namespace parley::server
