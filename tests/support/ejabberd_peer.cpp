#include "support/ejabberd_peer.hpp"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <pwd.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/peer_process.hpp"
#include "support/server_process.hpp"
#include "support/test_failures.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* erl_binary = "/usr/bin/erl";
constexpr auto start_timeout = 60s;

// An Erlang binary literal (<<"...">>) for a value put into an expression.
std::string erl_binary_literal(std::string_view s) { return "<<" + quoted(s) + "/utf8>>"; }

// Debian installs the application as /usr/lib/<multiarch>/ejabberd-<version>/ebin; the
// directory above it goes into ERL_LIBS (the p1 libraries are in Erlang's own lib dir).
fs::path ejabberd_lib_root() {
    std::error_code ec;
    for (const auto& arch : fs::directory_iterator("/usr/lib", ec)) {
        if (!arch.is_directory(ec)) continue;
        for (const auto& app : fs::directory_iterator(arch.path(), ec)) {
            const std::string name = app.path().filename().string();
            if (name.rfind("ejabberd-", 0) == 0 && fs::exists(app.path() / "ebin" / "ejabberd.app", ec)) {
                return arch.path();
            }
        }
    }
    return {};
}

// pid → (parent pid, command name) for every process in /proc.
std::map<pid_t, std::pair<pid_t, std::string>> process_table() {
    std::map<pid_t, std::pair<pid_t, std::string>> table;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string stat = read_file(entry.path() / "stat");
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        const auto open = stat.find('('), close = stat.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close + 4 >= stat.size()) continue;
        std::istringstream rest(stat.substr(close + 2));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        table[static_cast<pid_t>(std::stol(name))] = {ppid, stat.substr(open + 1, close - open - 1)};
    }
    return table;
}

// The descendants of `root` with their command names (to recognize them later).
std::vector<std::pair<pid_t, std::string>> descendants(pid_t root) {
    const auto table = process_table();
    std::vector<std::pair<pid_t, std::string>> found;
    std::vector<pid_t> parents{root};
    while (!parents.empty()) {
        const pid_t parent = parents.back();
        parents.pop_back();
        for (const auto& [pid, info] : table) {
            if (info.first == parent) {
                found.emplace_back(pid, info.second);
                parents.push_back(pid);
            }
        }
    }
    return found;
}

}  // namespace

bool ejabberd_available(std::string* missing) {
    std::string what;
    if (::access(erl_binary, X_OK) != 0) what += "erlang (no /usr/bin/erl) ";
    if (ejabberd_lib_root().empty()) what += "ejabberd (no /usr/lib/*/ejabberd-*/ebin) ";
    if (is_root() && !::getpwnam("ejabberd")) what += "(user ejabberd) ";
    if (missing) *missing = what;
    return what.empty();
}

EjabberdPeer::EjabberdPeer(EjabberdOptions options) : options_(std::move(options)) {
    std::string missing;
    if (!ejabberd_available(&missing)) {
        FAIL("ejabberd is not installed (missing: " << missing
                                                     << "); scripts/test installs it: apt-get install ejabberd");
    }
    REQUIRE_MESSAGE(options_.dns_port != 0, "EjabberdPeer needs a DnsResponder port");
    dir_ = make_peer_dir("parley-ejabberd-");
    home_ = dir_ / "home";
    config_file_ = dir_ / "ejabberd.yml";
    inetrc_ = dir_ / "inetrc";
    out_file_ = dir_ / "ejabberd.out";
    for (const char* sub : {"home", "db", "log", "certs"}) fs::create_directories(dir_ / sub);

    std::vector<std::string> names{options_.domain};
    if (!options_.muc_domain.empty()) names.push_back(options_.muc_domain);
    install_certificates(dir_ / "certs", options_.certificate, options_.key, options_.ca_file, names, dir_ / "own-ca");

    const auto [c2s, s2s] = pick_free_ports();
    c2s_port_ = c2s;
    s2s_port_ = s2s;
    dist_port_ = pick_free_port({c2s, s2s});
    node_ = "ejabberd@localhost";
    write_files();
    give_to_user(dir_, "ejabberd");
    fs::permissions(home_ / ".erlang.cookie", fs::perms(0400));
    start();
}

EjabberdPeer::~EjabberdPeer() {
    stop();
    if (current_test_failed()) {
        print_log("ejabberd log",
                  "(" + config_file_.string() + ", c2s " + std::to_string(c2s_port_) + ", s2s " +
                      std::to_string(s2s_port_) + ")",
                  log(), 60000);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void EjabberdPeer::write_files() const {
    const auto& o = options_;
    {
        // Order matters: resolv_conf "" first, so that the file never adds or replaces
        // nameservers (inet_db would also watch it for changes); no hosts file either.
        std::ofstream rc(inetrc_);
        rc << "{resolv_conf, \"\"}.\n"
           << "{hosts_file, \"\"}.\n"
           << "{host, {127,0,0,1}, [\"localhost\"]}.\n"
           << "{nameserver, {127,0,0,1}, " << o.dns_port << "}.\n"
           << "{timeout, 2000}.\n{retry, 2}.\n"
           << "{lookup, [file, dns]}.\n";
        REQUIRE_MESSAGE(rc.good(), "cannot write " << inetrc_);
    }
    {
        std::ofstream cookie(home_ / ".erlang.cookie");
        unsigned char bytes[16];
        std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(bytes), sizeof bytes);
        for (unsigned char b : bytes) cookie << static_cast<char>('A' + b % 26);
    }
    std::ostringstream c;
    c << "# written by tests/support/ejabberd_peer.cpp for one test\n"
      << "hosts:\n  - " << quoted(o.domain) << "\n"
      << "loglevel: " << o.loglevel << "\n"
      << "log_rotate_count: 0\n"
      << "certfiles:\n  - " << quoted((dir_ / "certs" / "host.crt").string()) << "\n  - "
      << quoted((dir_ / "certs" / "host.key").string()) << "\n"
      << "acme:\n  auto: false\n"
      << "auth_method: internal\n"
      << "auth_password_format: scram\n"
      << "s2s_use_starttls: " << o.s2s_starttls << "\n"
      // Only A records (the responder has no AAAA), and fail fast in a test.
      << "outgoing_s2s_families: [ipv4]\n"
      << "s2s_dns_timeout: 5\n"
      << "s2s_dns_retries: 1\n"
      << "s2s_timeout: 20\n";
    if (!o.ca_file.empty()) c << "s2s_cafile: " << quoted((dir_ / "certs" / "ca.crt").string()) << "\n";
    c << o.extra_config << "\n"
      // Loopback only; nothing but c2s and s2s listens (no HTTP, STUN, MQTT).
      << "listen:\n"
      << "  -\n    port: " << c2s_port_ << "\n    ip: \"127.0.0.1\"\n    module: ejabberd_c2s\n"
      << "    starttls_required: true\n"
      << "  -\n    port: " << s2s_port_ << "\n    ip: \"127.0.0.1\"\n    module: ejabberd_s2s_in\n\n"
      << "modules:\n  mod_disco: {}\n  mod_roster: {}\n  mod_ping: {}\n";
    if (o.dialback) c << "  mod_s2s_dialback: {}\n";
    if (!o.muc_domain.empty()) {
        c << "  mod_muc:\n    host: " << quoted(o.muc_domain) << "\n"
          << "    access: all\n    access_create: all\n    access_persistent: all\n";
    }
    std::ofstream out(config_file_);
    out << c.str();
    REQUIRE_MESSAGE(out.good(), "cannot write " << config_file_);
}

// `command` run as the ejabberd user (when root) with the environment the node needs;
// setpriv and env both exec, so a spawned child's PID is the command's own.
std::vector<std::string> EjabberdPeer::as_ejabberd(std::vector<std::string> command) const {
    return as_user("ejabberd",
                   {"HOME=" + home_.string(), "ERL_LIBS=" + ejabberd_lib_root().string(),
                    "ERL_INETRC=" + inetrc_.string(), "ERL_CRASH_DUMP_BYTES=0",
                    "EJABBERD_CONFIG_PATH=" + config_file_.string(),
                    "EJABBERD_LOG_PATH=" + (dir_ / "log" / "ejabberd.log").string()},
                   command);
}

void EjabberdPeer::start() {
    out_fd_ = open_output(out_file_);
    // erl is a script that execs erlexec, which execs beam.smp: the PID is the VM's.
    const auto argv = as_ejabberd({erl_binary, "-sname", node_, "-noinput", "-start_epmd", "false",
                                   "-erl_epmd_port", std::to_string(dist_port_), "-kernel",
                                   "inet_dist_use_interface", "{127,0,0,1}", "-mnesia", "dir",
                                   "\"" + (dir_ / "db").string() + "\"", "-s", "ejabberd"});
    try {
        process_ = ChildProcess::spawn(argv, out_fd_);
    } catch (const std::exception& e) {
        FAIL("cannot start ejabberd: " << e.what());
    }
    if (wait_until_listening(process_, {c2s_port_, s2s_port_}, start_timeout, 50ms)) return;
    const std::string status = not_listening_reason(process_, start_timeout);
    stop();
    FAIL("ejabberd " << status << " (c2s " << c2s_port_ << ", s2s " << s2s_port_ << ", "
                     << describe_command(argv) << "):\n"
                     << log());
}

void EjabberdPeer::stop() {
    if (!process_.started() || process_.exit_status()) return;
    // Its children (erl_child_setup and os_mon's port programs under it) end with the
    // VM; any that does not is ended by its PID once the VM is gone.
    const auto children = descendants(process_.pid());
    stop_process(process_, 15s, "ejabberd");  // the VM runs init:stop() on SIGTERM
    for (int round = 0; round < 20; ++round) {
        const auto table = process_table();
        bool left = false;
        for (const auto& [pid, comm] : children) {
            auto it = table.find(pid);
            if (it == table.end() || it->second.second != comm) continue;  // gone (or PID reused)
            left = true;
            if (round == 10) ::kill(pid, SIGKILL);
        }
        if (!left) break;
        ::usleep(100 * 1000);
    }
}

bool EjabberdPeer::is_running() { return process_.started() && !process_.has_exited(); }

std::string EjabberdPeer::log() const { return read_file(out_file_); }

bool EjabberdPeer::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_for_text(process_, [this] { return log(); }, text, timeout, 50ms);
}

std::string EjabberdPeer::eval(std::string_view expr) {
    // A hidden node that does not listen: it only connects to the VM's distribution
    // port, runs the expression there as an interpreted fun, prints and halts.
    const std::string ctl = "ctl" + std::to_string(++next_ctl_) + "_" + std::to_string(::getpid()) + "@localhost";
    const std::string script = "R = rpc:call('" + node_ + "', erlang, apply, [fun() -> " + std::string(expr) +
                               " end, []], 20000), io:format(\"~p~n\", [R]), halt(0).";
    const auto argv = as_ejabberd({"/usr/bin/timeout", "30", erl_binary, "-sname", ctl, "-hidden", "-noinput",
                                   "-noshell", "-start_epmd", "false", "-erl_epmd_port", std::to_string(dist_port_),
                                   "-dist_listen", "false", "-eval", script});
    const CommandResult r = run_command(argv, 40s);
    REQUIRE_MESSAGE(r.exit_code == 0, "erl rpc to ejabberd failed (" << describe_command(argv) << "):\n"
                                                                      << r.output);
    std::string out = r.output;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

void EjabberdPeer::add_user(std::string_view jid, std::string_view password) {
    const auto at = jid.find('@');
    const std::string_view localpart = jid.substr(0, at);
    const std::string domain = at == std::string_view::npos ? options_.domain : std::string(jid.substr(at + 1));
    const std::string result = eval("ejabberd_auth:try_register(" + erl_binary_literal(localpart) + ", " +
                                    erl_binary_literal(domain) + ", " + erl_binary_literal(password) + ")");
    REQUIRE_MESSAGE(result == "ok", "ejabberd did not register " << jid << ": " << result);
}

}  // namespace parley::test
