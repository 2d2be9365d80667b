#pragma once
// The generator's options and its scenarios (login, idle, chat, muc, archive). Each scenario runs
// the io_context itself and returns when all its connections are closed. With
// --processes K the parent runs none itself: multi_process.cpp spreads the accounts
// over K children of the same program and merges what they report.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_client.hpp"
#include "latency_histogram.hpp"
#include "proc_stats.hpp"

namespace parley::bench {

struct Options {
    ServerAddress server;
    std::string users_prefix = "user";
    std::string password = "secret";
    std::string scenario = "login";
    unsigned connections = 200;
    unsigned first_user = 0;    // accounts used are prefix<first_user> ...
    double duration_s = 10;     // chat: the measured phase; login: no new logins after it
    unsigned window = 16;       // chat: messages in flight per sender
    double rate = 0;            // chat: offered messages/s in total; 0 = as fast as possible
    unsigned concurrency = 50;  // logins in progress at once
    double drain_s = 3;         // chat: wait for messages in flight after the measured phase
    double login_timeout_s = 20;
    bool to_bare = false;       // chat: address messages to the bare JID
    double hold_s = 3;          // idle: seconds all connections stay open before RSS is read
    unsigned processes = 1;     // >1: run that many children, each with a slice of the accounts
    bool source_addresses = false;  // children bind to 127.0.0.(2+i)
    std::vector<std::string> sources;  // --source-address A[,B...]: round-robin per connection
    std::string room = "bench";     // muc: the room's local part
    std::string muc_domain;         // muc: the service; "" = conference.<domain>
    unsigned senders = 5;           // muc: occupants that post (the first K)
    std::string phase_file;         // chat, archive: "start MS" / "end MS SENT" lines (Unix ms)
    bool child = false;         // run by a parent: sync over stdin/stdout, results on stdout
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
    bool has(const std::string& name) const;
    void set(const std::string& name, double value);  // replaces, or adds at the end
    LatencyHistogram latency;  // chat only
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
Report run_idle(Env& env);
Report run_chat(Env& env);
Report run_muc(Env& env);      // muc_scenario.cpp
Report run_archive(Env& env);  // archive_scenario.cpp: chat, marking its phase for scripts/bench
// Appends "<what> <Unix ms>[ <count>]" to options.phase_file, if one was given.
void mark_phase(const Options& o, const char* what, std::int64_t count = -1);
// Runs the scenario in options.processes children and merges their reports (multi_process.cpp).
Report run_children(Env& env, const std::string& self_exe);

// The start of a scenario's measured phase. Alone, it does nothing. As a child it
// tells the parent "ready" and waits for "go", so all children start together and the
// parent samples the server in between; `phase_done` then tells the parent "done".
boost::asio::awaitable<void> phase_gate(Env& env);
void phase_done(Env& env);

// Shared by both scenarios (login_scenario.cpp).
// Each runs inside the scenario's top-level coroutine.
boost::asio::awaitable<LoginBatch> login_all(Env& env, std::size_t count, bool keep_open, double stop_at_ms);
boost::asio::awaitable<void> close_all(Env& env, std::vector<std::unique_ptr<BenchClient>>& clients);
// Runs `task` on env.io until it and everything it started have finished.
void run_to_completion(Env& env, boost::asio::awaitable<void> task);
void add_process_figures(Report& r, const Env& env, const ProcSample& before, const ProcSample& after,
                         double self_cpu_before, double wall_ms, double work_units, const char* per_name);
// The server half of the above (also used by the parent of several children).
void add_server_figures(Report& r, int server_pid, const ProcSample& before, const ProcSample& after, double wall_ms,
                        double work_units, const char* per_name);
// Notes the generator as the limit when it (or the whole machine) was saturated, and
// other processes' load (machine_busy_ms: all cores' non-idle time during the phase).
void note_saturation(Report& r, double generator_percent_of_core, double server_cpu_ms, double generator_cpu_ms,
                     double wall_ms, double machine_busy_ms);
// idle_scenario.cpp: ten logins in and out, so one-time allocations precede "before".
boost::asio::awaitable<void> warm_up(Env& env);
void add_idle_figures(Report& r, const ProcSample& before, const ProcSample& after, double connections);
// output.cpp
void print_summary(const Options& o, const Report& r);
void write_json(const Options& o, const Report& r);
void write_child_results(const Report& r);  // the lines run_children reads
// Settings of the connection for account number i (source address round-robin).
ServerAddress address_for(const Options& o, std::size_t i);

}  // namespace parley::bench
