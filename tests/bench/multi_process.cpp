// --processes K: one process may hold at most RLIMIT_NOFILE sockets (20,000 here) and
// one source address about 28,000 ports, so a big run is split over K children of
// this same program. Each logs its slice of the accounts in, says "ready" on stdout,
// waits for "go" on stdin, runs its measured phase, says "done", then prints its
// figures and latency histogram as lines. The parent samples the server around the
// phase all children share and merges the rest.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "scenarios.hpp"

extern char** environ;

namespace parley::bench {

namespace {

struct Child {
    pid_t pid = -1;
    int to_child = -1, from_child = -1;
    std::string buffered;
    bool eof = false;
    Report report;
};

// One line from the child, or throws after `timeout_ms` or on end of file.
std::string read_line(Child& c, std::size_t index, double timeout_ms) {
    const double deadline = now_ms() + timeout_ms;
    for (;;) {
        if (auto nl = c.buffered.find('\n'); nl != std::string::npos) {
            std::string line = c.buffered.substr(0, nl);
            c.buffered.erase(0, nl + 1);
            return line;
        }
        if (c.eof) throw std::runtime_error("child " + std::to_string(index) + " ended early (see its errors above)");
        const double left = deadline - now_ms();
        if (left <= 0) throw std::runtime_error("child " + std::to_string(index) + " did not answer in time");
        pollfd p{c.from_child, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(std::min(left, 1000.0)) + 1) <= 0) continue;
        char buf[65536];
        const ssize_t n = ::read(c.from_child, buf, sizeof buf);
        if (n > 0) c.buffered.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) c.eof = true;
    }
}

void expect(Child& c, std::size_t index, const char* word, double timeout_ms) {
    const std::string line = read_line(c, index, timeout_ms);
    if (line != word) throw std::runtime_error("child " + std::to_string(index) + " said '" + line + "', not " + word);
}

std::vector<std::string> child_args(const Options& o, const std::string& exe, std::size_t index,
                                    unsigned first, unsigned count) {
    auto num = [](double v) {
        std::ostringstream s;
        s << v;
        return s.str();
    };
    std::vector<std::string> a = {exe, "--child", "--scenario", o.scenario, "--host", o.server.host,
                                  "--port", std::to_string(o.server.port), "--domain", o.server.domain,
                                  "--mechanism", o.server.mechanism, "--users-prefix", o.users_prefix,
                                  "--password", o.password, "--connections", std::to_string(count),
                                  "--first-user", std::to_string(first), "--duration", num(o.duration_s),
                                  "--window", std::to_string(o.window),
                                  "--rate", num(o.connections ? o.rate * count / o.connections : 0),
                                  "--concurrency", std::to_string(std::max(1u, o.concurrency / o.processes)),
                                  "--drain", num(o.drain_s), "--login-timeout", num(o.login_timeout_s),
                                  "--hold", num(o.hold_s)};
    if (o.server.direct_tls) a.push_back("--direct-tls");
    if (o.server.plain) a.push_back("--plain");
    if (o.to_bare) a.push_back("--to-bare");
    if (o.source_addresses) {
        a.insert(a.end(), {"--source-address", "127.0.0." + std::to_string(2 + index)});
    } else if (!o.sources.empty()) {
        std::string list;
        for (const auto& s : o.sources) list += (list.empty() ? "" : ",") + s;
        a.insert(a.end(), {"--source-address", list});
    }
    if (!o.json_file.empty()) a.insert(a.end(), {"--json", o.json_file + ".child" + std::to_string(index)});
    return a;
}

Child spawn(const std::vector<std::string>& args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    Child c;
    const int rc = posix_spawn(&c.pid, args[0].c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    if (rc != 0) {
        ::close(in[1]);
        ::close(out[0]);
        throw std::runtime_error("posix_spawn " + args[0] + ": " + std::strerror(rc));
    }
    c.to_child = in[1];
    c.from_child = out[0];
    return c;
}

void send_go(std::vector<Child>& children) {
    for (auto& c : children) {
        if (::write(c.to_child, "go\n", 3) != 3) throw std::runtime_error("cannot write to a child");
    }
}

// "fig NAME VALUE", "note NAME TEXT", "hist BUCKET COUNT", "max MS", then "end".
void read_results(Child& c, std::size_t index) {
    Report& r = c.report;
    for (;;) {
        const std::string line = read_line(c, index, 60000);
        if (line == "end") return;
        std::istringstream in(line);
        std::string kind, name;
        in >> kind;
        if (kind == "fig") {
            double v = 0;
            in >> name >> v;
            r.add(name, v);
        } else if (kind == "note") {
            in >> name;
            std::string text;
            std::getline(in >> std::ws, text);
            r.note(name, text);
        } else if (kind == "hist") {
            int b = 0;
            std::uint64_t n = 0;
            in >> b >> n;
            r.latency.add_bucket(b, n);
        } else if (kind == "max") {
            double ms = 0;
            in >> ms;
            r.latency.set_max_ms(ms);
        }
    }
}

// Ends the children still running (they are ours, by PID) and reaps them all.
void reap(std::vector<Child>& children, bool kill_first) {
    for (auto& c : children) {
        if (c.to_child >= 0) ::close(c.to_child);
        if (c.from_child >= 0) ::close(c.from_child);
        c.to_child = c.from_child = -1;
        if (c.pid <= 0) continue;
        if (kill_first) ::kill(c.pid, SIGTERM);
        int status = 0;
        for (int i = 0; i < 300 && ::waitpid(c.pid, &status, WNOHANG) == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            if (i == 100) ::kill(c.pid, SIGKILL);
        }
        c.pid = -1;
    }
}

const std::set<std::string> max_figures = {"generator_cpu_percent_of_core", "seconds", "login_seconds",
                                           "hold_seconds", "window", "tls", "latency_max_ms"};

Report merge(const Options& o, std::vector<Child>& children) {
    Report r;
    r.scenario = o.scenario;
    for (std::size_t i = 0; i < children.size(); ++i) {
        const Report& c = children[i].report;
        for (const auto& [name, v] : c.figures) {
            if (max_figures.count(name)) r.set(name, std::max(r.get(name), v));
            else r.set(name, r.get(name) + v);
        }
        for (const auto& [name, text] : c.notes) r.note(name, "child " + std::to_string(i) + ": " + text);
        r.latency.merge(c.latency);
    }
    r.set("processes", o.processes);
    r.set("concurrency", o.concurrency);
    if (o.scenario == "chat") {
        r.set("offered_rate", o.rate);
        r.set("latency_p50_ms", r.latency.percentile(50));
        r.set("latency_p99_ms", r.latency.percentile(99));
        r.set("latency_max_ms", r.latency.max_ms());
    }
    return r;
}

}  // namespace

Report run_children(Env& env, const std::string& self_exe) {
    const Options& o = env.options;
    const bool chat = o.scenario == "chat";
    // Chat pairs never straddle two children: a receiver frees its own sender's window.
    const unsigned units = chat ? o.connections / 2 : o.connections;
    const unsigned k = std::min(o.processes, std::max(1u, units));
    ProcSample idle_before;
    if (o.scenario == "idle") {
        run_to_completion(env, warm_up(env));
        idle_before = sample_process(o.server_pid);
    }
    std::vector<Child> children;
    children.reserve(k);
    try {
        unsigned next = 0;
        for (unsigned i = 0; i < k; ++i) {
            const unsigned share = units / k + (i < units % k ? 1 : 0);
            const unsigned per = chat ? 2 : 1;
            children.push_back(spawn(child_args(o, self_exe, i, o.first_user + next * per, share * per)));
            next += share;
        }
        const double login_budget_ms = (o.login_timeout_s + o.duration_s) * 1000 + 600000;
        for (std::size_t i = 0; i < children.size(); ++i) expect(children[i], i, "ready", login_budget_ms);

        Report merged;
        ProcSample before = idle_before, after;
        double wall = 0;
        if (o.scenario == "idle") {
            std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(o.hold_s * 1000)));
            after = sample_process(o.server_pid);
            send_go(children);
            for (std::size_t i = 0; i < children.size(); ++i) expect(children[i], i, "done", 60000);
        } else {
            before = sample_process(o.server_pid);
            const double start = now_ms();
            send_go(children);
            for (std::size_t i = 0; i < children.size(); ++i) {
                expect(children[i], i, "done", (o.duration_s + o.login_timeout_s) * 1000 + 600000);
            }
            wall = now_ms() - start;
            after = sample_process(o.server_pid);
        }
        for (std::size_t i = 0; i < children.size(); ++i) read_results(children[i], i);
        reap(children, false);
        merged = merge(o, children);

        if (o.scenario == "idle") {
            merged.set("hold_seconds", o.hold_s);
            add_idle_figures(merged, before, after, merged.get("connections_ok"));
        } else if (o.scenario == "login") {
            const double ok = merged.get("logins_ok");
            merged.set("seconds", wall / 1000);
            merged.set("logins_per_s", wall > 0 ? ok * 1000 / wall : 0);
            add_server_figures(merged, o.server_pid, before, after, wall, ok, "server_cpu_ms_per_login");
        } else {
            const double delivered = merged.get("delivered_in_phase");
            merged.set("delivered_per_s", wall > 0 ? delivered * 1000 / wall : 0);
            add_server_figures(merged, o.server_pid, before, after, wall, delivered / 1000,
                               "server_cpu_ms_per_1000_msgs");
        }
        if (o.scenario != "idle") {
            note_saturation(merged, merged.get("generator_cpu_percent_of_core"), merged.get("server_cpu_ms"),
                            merged.get("generator_cpu_ms"), wall, after.machine_busy_ms - before.machine_busy_ms);
        }
        return merged;
    } catch (...) {
        reap(children, true);
        throw;
    }
}

}  // namespace parley::bench
