// The idle scenario: N accounts log in and stay connected, doing nothing, for a few
// seconds; the server's resident memory (VmRSS) before and after gives its cost per
// idle connection, with TLS (the default) or without (--plain).
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "scenarios.hpp"

namespace parley::bench {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> sleep_for_ms(double ms) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::microseconds(static_cast<long>(ms * 1000)));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

asio::awaitable<void> warm_up(Env& env) {
    // A few logins first, so what a server allocates once (its first session, lazily
    // loaded code, caches) is in "before" and does not count per connection.
    const std::size_t n = std::min<std::size_t>(10, env.options.connections);
    LoginBatch batch = co_await login_all(env, n, true, now_ms() + 60000);
    co_await close_all(env, batch.clients);
    co_await sleep_for_ms(500);
}

void add_idle_figures(Report& r, const ProcSample& before, const ProcSample& after, double connections) {
    if (!before.ok || !after.ok) return;
    r.set("server_rss_kb_before", static_cast<double>(before.rss_kb));
    r.set("server_rss_kb_after", static_cast<double>(after.rss_kb));
    if (connections > 0) {
        r.set("server_kib_per_connection", static_cast<double>(after.rss_kb - before.rss_kb) / connections);
    }
}

Report run_idle(Env& env) {
    Report r;
    r.scenario = "idle";
    const auto& o = env.options;
    run_to_completion(env, [&]() -> asio::awaitable<void> {
        // A child's parent warms the server up and reads its memory itself.
        if (!o.child) co_await warm_up(env);
        const ProcSample before = sample_process(o.server_pid);
        const double self_before = self_cpu_ms();
        const double start = now_ms();
        LoginBatch batch = co_await login_all(env, o.connections, true, start + o.login_timeout_s * 1000 + 600000);
        const double login_ms = now_ms() - start;
        const double ok = static_cast<double>(o.connections - batch.failures);
        r.add("connections", o.connections);
        r.add("connections_ok", ok);
        r.add("logins_failed", static_cast<double>(batch.failures));
        r.add("login_seconds", login_ms / 1000);
        r.add("tls", o.server.plain ? 0 : 1);
        r.add("generator_cpu_ms", self_cpu_ms() - self_before);
        if (!batch.first_error.empty()) r.note("first_error", batch.first_error);
        if (o.child) {
            // The parent holds every child's connections open at once, then reads the RSS.
            co_await phase_gate(env);
            phase_done(env);
        } else {
            r.add("hold_seconds", o.hold_s);
            co_await sleep_for_ms(o.hold_s * 1000);
            add_idle_figures(r, before, sample_process(o.server_pid), ok);
        }
        std::size_t dropped = 0;
        for (const auto& c : batch.clients) dropped += c && !c->is_open();
        r.add("dropped_while_idle", static_cast<double>(dropped));
        co_await close_all(env, batch.clients);
    }());
    return r;
}

}  // namespace parley::bench
