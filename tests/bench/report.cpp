// What every scenario shares around its measured phase: the report, the server's and
// the generator's CPU, the parent/child handshake and the per-connection address.
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "scenarios.hpp"

namespace parley::bench {

namespace asio = boost::asio;

double Report::get(const std::string& name) const {
    for (const auto& [n, v] : figures) {
        if (n == name) return v;
    }
    return 0;
}

bool Report::has(const std::string& name) const {
    for (const auto& [n, v] : figures) {
        if (n == name) return true;
    }
    return false;
}

void Report::set(const std::string& name, double value) {
    for (auto& [n, v] : figures) {
        if (n == name) {
            v = value;
            return;
        }
    }
    add(name, value);
}

ServerAddress address_for(const Options& o, std::size_t i) {
    ServerAddress a = o.server;
    if (!o.sources.empty()) a.source = o.sources[i % o.sources.size()];
    return a;
}

asio::awaitable<void> phase_gate(Env& env) {
    if (!env.options.child) co_return;
    std::fputs("ready\n", stdout);
    std::fflush(stdout);
    // Read asynchronously: the connections keep being served while the others get ready.
    asio::posix::stream_descriptor in(env.io, ::dup(STDIN_FILENO));
    std::string line;
    boost::system::error_code ec;
    co_await asio::async_read_until(in, asio::dynamic_buffer(line), '\n', asio::redirect_error(asio::use_awaitable, ec));
    if (ec || line.rfind("go", 0) != 0) throw std::runtime_error("the parent process went away");
}

void phase_done(Env& env) {
    if (!env.options.child) return;
    std::fputs("done\n", stdout);
    std::fflush(stdout);
}

void note_saturation(Report& r, double generator_percent_of_core, double server_cpu_ms, double generator_cpu_ms,
                     double wall_ms, double machine_busy_ms) {
    if (generator_percent_of_core > 90) {
        r.note("bottleneck", "the generator used over 90% of a core: it was the limit, the figures are a lower bound");
    }
    if (wall_ms <= 0) return;
    const double cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
    const double ours = 100.0 * (server_cpu_ms + generator_cpu_ms) / (wall_ms * cores);
    const double all = 100.0 * machine_busy_ms / (wall_ms * cores);
    const double others = std::max(0.0, all - ours);
    r.set("machine_cpu_percent", all);
    r.set("other_processes_cpu_percent", others);
    if (all > 90 && generator_percent_of_core <= 90) {
        r.note("bottleneck", "all cores were busy (" + std::to_string(static_cast<int>(all)) +
                                 "%): the machine was the limit, not the server alone");
    }
    if (others > 10) {
        r.note("disturbed", "other processes used " + std::to_string(static_cast<int>(others)) +
                                "% of the machine during the phase");
    }
}

void add_server_figures(Report& r, int server_pid, const ProcSample& before, const ProcSample& after, double wall_ms,
                        double work_units, const char* per_name) {
    if (before.ok && after.ok) {
        const double cpu = after.cpu_ms - before.cpu_ms;
        r.set("server_cpu_ms", cpu);
        r.set("server_cpu_percent", wall_ms > 0 ? 100.0 * cpu / wall_ms : 0);
        if (work_units > 0) r.set(per_name, cpu / work_units);
        r.set("server_rss_kb_before", static_cast<double>(before.rss_kb));
        r.set("server_rss_kb_after", static_cast<double>(after.rss_kb));
    } else if (server_pid > 0) {
        r.note("server", "could not read /proc/" + std::to_string(server_pid));
    }
}

void add_process_figures(Report& r, const Env& env, const ProcSample& before, const ProcSample& after,
                         double self_cpu_before, double wall_ms, double work_units, const char* per_name) {
    const double self_cpu = self_cpu_ms() - self_cpu_before;
    const double percent = wall_ms > 0 ? 100.0 * self_cpu / wall_ms : 0;
    r.add("generator_cpu_ms", self_cpu);
    r.add("generator_cpu_percent_of_core", percent);
    add_server_figures(r, env.options.server_pid, before, after, wall_ms, work_units, per_name);
    // A child knows neither the server's CPU nor its siblings': the parent judges the machine.
    note_saturation(r, percent, r.get("server_cpu_ms"), self_cpu, env.options.child ? 0 : wall_ms,
                    after.machine_busy_ms - before.machine_busy_ms);
}

}  // namespace parley::bench
