// The login scenario: N accounts log in (TLS, SASL, bind, presence), a
// bounded number at a time. A first, cold pass fills the generator's SCRAM key cache
// (PBKDF2 is the client's cost, not the server's); the measured pass repeats it warm.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstdio>
#include <exception>

#include "scenarios.hpp"
#include "wait_group.hpp"

namespace parley::bench {

namespace asio = boost::asio;

namespace {

// Coroutine lambdas must not capture (the lambda dies before its frame): these take
// their state as parameters instead.
asio::awaitable<void> close_owned(std::unique_ptr<BenchClient> client) {
    co_await client->close(std::chrono::milliseconds(2000));
}

asio::awaitable<void> close_one(BenchClient* client, WaitGroup* group) {
    co_await client->close(std::chrono::milliseconds(2000));
    group->done();
}

}  // namespace

void run_to_completion(Env& env, asio::awaitable<void> task) {
    env.io.restart();
    asio::co_spawn(env.io, std::move(task), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    env.io.run();
}

asio::awaitable<LoginBatch> login_all(Env& env, std::size_t count, bool keep_open, double stop_at_ms) {
    LoginBatch batch;
    batch.clients.resize(count);
    std::size_t next = 0;
    WaitGroup workers(co_await asio::this_coro::executor);
    const auto timeout = std::chrono::milliseconds(static_cast<long>(env.options.login_timeout_s * 1000));
    auto worker = [&]() -> asio::awaitable<void> {
        while (next < count && now_ms() < stop_at_ms) {
            const std::size_t i = next++;
            auto client = std::make_unique<BenchClient>(
                env.io, env.tls, address_for(env.options, i),
                env.options.users_prefix + std::to_string(env.options.first_user + i), env.options.password, env.keys);
            try {
                co_await client->login(timeout);
            } catch (const std::exception& e) {
                ++batch.failures;
                if (batch.first_error.empty()) {
                    batch.first_error = client->bare_jid() + ": " + e.what();
                }
                client->abort();
                continue;
            }
            batch.last_ok_ms = now_ms();
            if (batch.first_ok_ms == 0) batch.first_ok_ms = batch.last_ok_ms;
            client->start_reading(nullptr);
            if (keep_open) {
                batch.clients[i] = std::move(client);
            } else {
                // Closed in the background, so the next login does not wait for it.
                asio::co_spawn(env.io, close_owned(std::move(client)), asio::detached);
            }
        }
        workers.done();
    };
    const unsigned n = std::max(1u, std::min<unsigned>(env.options.concurrency, static_cast<unsigned>(count)));
    workers.add(static_cast<int>(n));
    for (unsigned w = 0; w < n; ++w) asio::co_spawn(env.io, worker(), asio::detached);
    co_await workers.wait();
    // Accounts never tried because the time ran out count as failures too.
    batch.failures += count - next;
    co_return batch;
}

asio::awaitable<void> close_all(Env& env, std::vector<std::unique_ptr<BenchClient>>& clients) {
    WaitGroup closing(co_await asio::this_coro::executor);
    for (auto& c : clients) {
        if (!c) continue;
        closing.add();
        asio::co_spawn(env.io, close_one(c.get(), &closing), asio::detached);
    }
    co_await closing.wait();
}

Report run_login(Env& env) {
    Report r;
    r.scenario = "login";
    const auto& o = env.options;
    run_to_completion(env, [&]() -> asio::awaitable<void> {
        // Cold pass: connections are closed as soon as they are in.
        double start = now_ms();
        LoginBatch cold = co_await login_all(env, o.connections, false, start + o.duration_s * 1000);
        const double cold_ms = now_ms() - start;
        r.add("cold_logins_ok", static_cast<double>(o.connections - cold.failures));
        r.add("cold_logins_per_s", cold_ms > 0 ? (o.connections - cold.failures) * 1000.0 / cold_ms : 0);
        if (!cold.first_error.empty()) r.note("cold_first_error", cold.first_error);

        // Measured pass: the same accounts, warm key cache, all kept open until the end.
        co_await phase_gate(env);
        const ProcSample before = sample_process(o.server_pid);
        const double self_before = self_cpu_ms();
        start = now_ms();
        LoginBatch warm = co_await login_all(env, o.connections, true, start + o.duration_s * 1000);
        const double wall = now_ms() - start;
        const ProcSample after = sample_process(o.server_pid);
        phase_done(env);
        const double ok = static_cast<double>(o.connections - warm.failures);
        r.add("connections", o.connections);
        r.add("concurrency", o.concurrency);
        r.add("logins_ok", ok);
        r.add("logins_failed", static_cast<double>(warm.failures));
        r.add("seconds", wall / 1000);
        r.add("logins_per_s", wall > 0 ? ok * 1000.0 / wall : 0);
        add_process_figures(r, env, before, after, self_before, wall, ok, "server_cpu_ms_per_login");
        if (!warm.first_error.empty()) r.note("first_error", warm.first_error);
        co_await close_all(env, warm.clients);
    }());
    r.add("scram_cache_misses", static_cast<double>(env.keys.misses()));
    r.add("scram_cache_hits", static_cast<double>(env.keys.hits()));
    return r;
}

}  // namespace parley::bench
