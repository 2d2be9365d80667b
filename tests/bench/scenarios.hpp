#pragma once
// The generator's options and its two scenarios. Each scenario runs the io_context
// itself and returns when all its connections are closed.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_client.hpp"
#include "proc_stats.hpp"

namespace parley::bench {

struct Options {
    ServerAddress server;
    std::string users_prefix = "user";
    std::string password = "secret";
    std::string scenario = "login";
    unsigned connections = 200;
    double duration_s = 10;     // chat: the measured phase; login: no new logins after it
    unsigned window = 16;       // chat: messages in flight per sender
    double rate = 0;            // chat: offered messages/s in total; 0 = as fast as possible
    unsigned concurrency = 50;  // logins in progress at once
    double drain_s = 3;         // chat: wait for messages in flight after the measured phase
    double login_timeout_s = 20;
    bool to_bare = false;       // chat: address messages to the bare JID
    int server_pid = 0;
    std::string json_file;
};

// What was measured, as (name, value) pairs kept in order for the summary and JSON.
struct Report {
    std::string scenario;
    std::vector<std::pair<std::string, double>> figures;
    std::vector<std::pair<std::string, std::string>> notes;
    void add(std::string name, double value) { figures.emplace_back(std::move(name), value); }
    void note(std::string name, std::string text) { notes.emplace_back(std::move(name), std::move(text)); }
    double get(const std::string& name) const;
};

struct Env {
    boost::asio::io_context io;
    boost::asio::ssl::context tls{boost::asio::ssl::context::tls_client};
    ScramKeyCache keys;
    Options options;
};

// Logs accounts [first, first + count) in, `concurrency` at a time, keeping them open.
// Failed logins leave a null entry and count in `failures`; the first error is kept.
struct LoginBatch {
    std::vector<std::unique_ptr<BenchClient>> clients;
    std::size_t failures = 0;
    std::string first_error;
    double first_ok_ms = 0, last_ok_ms = 0;  // steady clock
};

Report run_login(Env& env);
Report run_chat(Env& env);

// Shared by both scenarios (login_scenario.cpp).
// Each runs inside the scenario's top-level coroutine.
boost::asio::awaitable<LoginBatch> login_all(Env& env, std::size_t count, bool keep_open, double stop_at_ms);
boost::asio::awaitable<void> close_all(Env& env, std::vector<std::unique_ptr<BenchClient>>& clients);
// Runs `task` on env.io until it and everything it started have finished.
void run_to_completion(Env& env, boost::asio::awaitable<void> task);
void add_process_figures(Report& r, const Env& env, const ProcSample& before, const ProcSample& after,
                         double self_cpu_before, double wall_ms, double work_units, const char* per_name);

}  // namespace parley::bench
