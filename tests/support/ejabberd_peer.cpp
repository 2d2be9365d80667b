#include "support/ejabberd_peer.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/server_process.hpp"
#include "support/test_ca.hpp"
#include "support/test_failures.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* erl_binary = "/usr/bin/erl";
constexpr auto start_timeout = 60s;

bool is_root() { return ::geteuid() == 0; }

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A double-quoted YAML scalar.
std::string yaml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// An Erlang binary literal (<<"...">>) for a value put into an expression.
std::string erl_binary_literal(std::string_view s) {
    std::string out = "<<\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"/utf8>>";
}

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

bool accepts_connection(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
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

std::filesystem::path make_private_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/parley-ejabberd-XXXXXX";
    if (!::mkdtemp(pattern.data())) {
        FAIL("cannot create a directory from " << pattern << ": " << std::string(std::strerror(errno)));
    }
    // The ejabberd user must get through it; what is inside is its own.
    fs::permissions(pattern, fs::perms(0755));
    return pattern;
}

void copy_to(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
    REQUIRE_MESSAGE(!ec, "cannot copy " << from << " to " << to << ": " << ec.message());
}

void give_to_ejabberd(const fs::path& path) {
    if (!is_root()) return;
    const passwd* pw = ::getpwnam("ejabberd");
    REQUIRE_MESSAGE(pw, "no user ejabberd");
    auto own = [&](const fs::path& p) {
        if (::lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            FAIL("chown " << p << ": " << std::string(std::strerror(errno)));
        }
    };
    own(path);
    for (const auto& entry : fs::recursive_directory_iterator(path)) own(entry.path());
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
    dir_ = make_private_dir();
    home_ = dir_ / "home";
    config_file_ = dir_ / "ejabberd.yml";
    inetrc_ = dir_ / "inetrc";
    out_file_ = dir_ / "ejabberd.out";
    for (const char* sub : {"home", "db", "log", "certs"}) fs::create_directories(dir_ / sub);

    if (options_.certificate.empty()) {
        // A CA of its own that nobody else trusts: "valid" nowhere but here.
        TestCa own(dir_ / "own-ca");
        std::vector<std::string> names{options_.domain};
        if (!options_.muc_domain.empty()) names.push_back(options_.muc_domain);
        auto issued = own.issue(names);
        options_.certificate = issued.certificate;
        options_.key = issued.key;
    }
    copy_to(options_.certificate, dir_ / "certs" / "host.crt");
    copy_to(options_.key, dir_ / "certs" / "host.key");
    if (!options_.ca_file.empty()) copy_to(options_.ca_file, dir_ / "certs" / "ca.crt");

    const auto [c2s, s2s] = pick_free_ports();
    c2s_port_ = c2s;
    s2s_port_ = s2s;
    dist_port_ = pick_free_port({c2s, s2s});
    node_ = "ejabberd@localhost";
    write_files();
    give_to_ejabberd(dir_);
    fs::permissions(dir_ / "certs" / "host.key", fs::perms(0600));
    fs::permissions(home_ / ".erlang.cookie", fs::perms(0400));
    start();
}

EjabberdPeer::~EjabberdPeer() {
    stop();
    if (current_test_failed()) {
        std::string text = log();
        constexpr std::size_t keep = 60000;
        if (text.size() > keep) text = "[...]\n" + text.substr(text.size() - keep);
        std::fprintf(stderr, "---- ejabberd log (%s, c2s %u, s2s %u) ----\n%s\n---- end of ejabberd log ----\n",
                     config_file_.c_str(), c2s_port_, s2s_port_, text.c_str());
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
      << "hosts:\n  - " << yaml_string(o.domain) << "\n"
      << "loglevel: " << o.loglevel << "\n"
      << "log_rotate_count: 0\n"
      << "certfiles:\n  - " << yaml_string((dir_ / "certs" / "host.crt").string()) << "\n  - "
      << yaml_string((dir_ / "certs" / "host.key").string()) << "\n"
      << "acme:\n  auto: false\n"
      << "auth_method: internal\n"
      << "auth_password_format: scram\n"
      << "s2s_use_starttls: " << o.s2s_starttls << "\n"
      // Only A records (the responder has no AAAA), and fail fast in a test.
      << "outgoing_s2s_families: [ipv4]\n"
      << "s2s_dns_timeout: 5\n"
      << "s2s_dns_retries: 1\n"
      << "s2s_timeout: 20\n";
    if (!o.ca_file.empty()) c << "s2s_cafile: " << yaml_string((dir_ / "certs" / "ca.crt").string()) << "\n";
    c << o.extra_config << "\n"
      // Loopback only; nothing but c2s and s2s listens (no HTTP, STUN, MQTT).
      << "listen:\n"
      << "  -\n    port: " << c2s_port_ << "\n    ip: \"127.0.0.1\"\n    module: ejabberd_c2s\n"
      << "    starttls_required: true\n"
      << "  -\n    port: " << s2s_port_ << "\n    ip: \"127.0.0.1\"\n    module: ejabberd_s2s_in\n\n"
      << "modules:\n  mod_disco: {}\n  mod_roster: {}\n  mod_ping: {}\n";
    if (o.dialback) c << "  mod_s2s_dialback: {}\n";
    if (!o.muc_domain.empty()) {
        c << "  mod_muc:\n    host: " << yaml_string(o.muc_domain) << "\n"
          << "    access: all\n    access_create: all\n    access_persistent: all\n";
    }
    std::ofstream out(config_file_);
    out << c.str();
    REQUIRE_MESSAGE(out.good(), "cannot write " << config_file_);
}

// `command` run as the ejabberd user (when root) with the environment the node needs;
// setpriv and env both exec, so a spawned child's PID is the command's own.
std::vector<std::string> EjabberdPeer::as_ejabberd(std::vector<std::string> command) const {
    std::vector<std::string> argv;
    if (is_root()) {
        argv = {"/usr/bin/setpriv", "--reuid=ejabberd", "--regid=ejabberd", "--init-groups", "--reset-env", "--"};
    }
    argv.insert(argv.end(), {"/usr/bin/env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home_.string(),
                             "ERL_LIBS=" + ejabberd_lib_root().string(), "ERL_INETRC=" + inetrc_.string(),
                             "ERL_CRASH_DUMP_BYTES=0", "EJABBERD_CONFIG_PATH=" + config_file_.string(),
                             "EJABBERD_LOG_PATH=" + (dir_ / "log" / "ejabberd.log").string()});
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

void EjabberdPeer::start() {
    out_fd_ = ::open(out_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE_MESSAGE(out_fd_ >= 0, "cannot create " << out_file_);
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
    const auto deadline = Clock::now() + start_timeout;
    bool c2s = false, s2s = false;
    while (Clock::now() < deadline) {
        if (process_.has_exited()) break;
        c2s = c2s || accepts_connection(c2s_port_);
        s2s = s2s || accepts_connection(s2s_port_);
        if (c2s && s2s) return;
        process_.wait_exit_event(50ms);
    }
    const bool exited = process_.has_exited();
    const std::string status = exited ? "exited with status " + std::to_string(*process_.exit_status())
                                      : "was still not listening after 60 s";
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
    process_.send_signal(SIGTERM);  // the VM runs init:stop() on SIGTERM
    if (!process_.wait_exit(15s)) {
        std::fprintf(stderr, "ejabberd (pid %d) did not exit within 15 s of SIGTERM: killed\n", process_.pid());
        process_.kill_and_reap();
    }
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
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (log().find(text) != std::string::npos) return true;
        if (Clock::now() >= deadline) return false;
        if (process_.wait_exit_event(50ms)) return log().find(text) != std::string::npos;
    }
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
