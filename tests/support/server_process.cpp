#include "support/server_process.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/peer_process.hpp"
#include "support/test_failures.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;

std::string random_hex(std::size_t n) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += digits[rng() % 16];
    return out;
}

// PARLEYD=/path/parleyd and PARLEYCTL=/path/parleyctl test other builds than the one
// these tests were compiled with.
std::string binary(const char* env, const char* built) {
    const char* path = std::getenv(env);
    return path && *path ? path : built;
}

// PARLEYD_WRAPPER="valgrind -q" (split at spaces) runs parleyd under a tool, for
// debugging a crash that only an integration test provokes.
std::vector<std::string> parleyd_command(const std::filesystem::path& config) {
    std::vector<std::string> argv;
    if (const char* wrapper = std::getenv("PARLEYD_WRAPPER")) {
        std::istringstream words(wrapper);
        for (std::string w; words >> w;) argv.push_back(w);
    }
    argv.insert(argv.end(), {binary("PARLEYD", PARLEYD_PATH), "--config", config.string()});
    return argv;
}

}  // namespace

std::pair<std::uint16_t, std::uint16_t> pick_free_ports() {
    int fds[2];
    std::uint16_t ports[2];
    for (int i = 0; i < 2; ++i) {
        fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fds[i] >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fds[i], reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fds[i], reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        ports[i] = ntohs(addr.sin_port);
    }
    ::close(fds[0]);
    ::close(fds[1]);
    return {ports[0], ports[1]};
}

std::uint16_t pick_free_port(const std::vector<std::uint16_t>& avoid) {
    for (int attempt = 0; attempt < 20; ++attempt) {
        const auto [p, q] = pick_free_ports();
        for (std::uint16_t candidate : {p, q}) {
            if (std::find(avoid.begin(), avoid.end(), candidate) == avoid.end()) return candidate;
        }
    }
    FAIL("no free loopback port");
    return 0;
}

// ---- TempDir ------------------------------------------------------------------------

TempDir::TempDir() : path_(make_temp_dir("parley-it-")) {}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

// ---- TestDatabase -------------------------------------------------------------------

TestDatabase::TestDatabase() {
    const char* host = std::getenv("PGHOST");
    if (!host || !*host) {
        FAIL("PGHOST is not set: run the integration tests through scripts/test, which starts "
             "a private PostgreSQL cluster and sets PGHOST/PGPORT/PGUSER");
    }
    static std::atomic<unsigned> counter{0};
    name_ = "parley_it_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            random_hex(8);
    auto r = run_command({"createdb", name_}, 30s);
    if (r.exit_code != 0) {
        std::string db = name_;
        name_.clear();  // nothing to drop
        FAIL("createdb " << db << " failed (exit " << r.exit_code << "): " << r.output);
    }
}

TestDatabase::~TestDatabase() {
    if (name_.empty()) return;
    // --force ends connections a killed server may have left behind.
    auto r = run_command({"dropdb", "--if-exists", "--force", name_}, 30s);
    if (r.exit_code != 0) {
        std::fprintf(stderr, "warning: dropdb %s failed: %s\n", name_.c_str(), r.output.c_str());
    }
}

// ---- ServerProcess ------------------------------------------------------------------

ServerProcess::ServerProcess(ServerOptions options) : options_(std::move(options)) {
    config_file_ = dir_.path() / "parley.toml";
    state_dir_ = dir_.path() / "state";
    log_file_ = dir_.path() / "parleyd.log";
    std::filesystem::create_directories(state_dir_);
    std::tie(port_, direct_tls_port_) = pick_free_ports();
    if (!options_.hosts.empty()) domain_ = options_.hosts.front();
    if (options_.s2s) {
        s2s_port_ = options_.s2s_port ? options_.s2s_port : pick_free_port({port_, direct_tls_port_});
    }
    write_config();

    log_fd_ = open_output(log_file_);

    auto migrate = ctl({"migrate"});
    if (migrate.exit_code != 0) {
        FAIL("parleyctl migrate failed (exit " << migrate.exit_code << "):\n"
                                               << migrate.output << "\nconfig:\n"
                                               << read_file(config_file_));
    }
    start();
}

ServerProcess::~ServerProcess() {
    // Every test also checks that the server neither died on its own nor failed to
    // shut down cleanly.
    if (process_.started() && process_.has_exited() && !stopping_) {
        FAIL_CHECK("parleyd died during the test with status " << *process_.exit_status());
    } else if (process_.started() && !process_.exit_status()) {
        auto status = stop(10s);
        if (status != 0) FAIL_CHECK("parleyd exited with status " << status.value_or(-1) << " after SIGTERM");
    }
    if (current_test_failed()) {
        print_log("parleyd stderr",
                  "(" + config_file_.string() + ", ports " + std::to_string(port_) + "/" +
                      std::to_string(direct_tls_port_) + ", database " + database_.name() + ")",
                  log());
    }
    if (log_fd_ >= 0) ::close(log_fd_);
}

void ServerProcess::write_config() const {
    const auto& o = options_;
    std::ostringstream c;
    c << "# written by tests/support/server_process.cpp\n"
      << "[server]\n"
      << "hosts = [";
    for (std::size_t i = 0; i < o.hosts.size(); ++i) c << (i ? ", " : "") << quoted(o.hosts[i]);
    if (o.hosts.empty()) c << quoted(domain_);
    c << "]\n"
      << "state_dir = " << quoted(state_dir_.string()) << "\n"
      << "threads = 1\n\n"
      << "[c2s]\n"
      << "address = \"127.0.0.1\"\n"
      << "port = " << port_ << "\n"
      << "direct_tls_port = " << direct_tls_port_ << "\n"
      << "require_tls = " << (o.require_tls ? "true" : "false") << "\n"
      << "negotiation_timeout = " << o.negotiation_timeout << "\n"
      << "idle_timeout = " << o.idle_timeout << "\n"
      << "keepalive_interval = " << o.keepalive_interval << "\n\n"
      << "[tls]\n"
      << "certificate = " << quoted(o.tls_certificate.string()) << "\n"
      << "key = " << quoted(o.tls_key.string()) << "\n\n"
      << "[auth]\n"
      << "mechanisms = [";
    for (std::size_t i = 0; i < o.mechanisms.size(); ++i) {
        c << (i ? ", " : "") << quoted(o.mechanisms[i]);
    }
    c << "]\n\n"
      << "[storage]\n"
      << "postgres = "
      << quoted((o.postgres_port ? "host=127.0.0.1 port=" + std::to_string(*o.postgres_port) + " connect_timeout=2 " : std::string()) +
                     "dbname=" + database_.name())
      << "\n"
      << "threads = 1\n\n"
      << "[limits]\n";
    auto limit = [&](const char* key, const auto& value) {
        if (value) c << key << " = " << *value << "\n";
    };
    limit("max_stanza_bytes", o.max_stanza_bytes);
    limit("max_depth", o.max_depth);
    limit("max_attributes", o.max_attributes);
    limit("max_outbound_bytes", o.max_outbound_bytes);
    limit("max_auth_failures", o.max_auth_failures);
    limit("max_connections", o.max_connections);
    limit("max_connections_per_ip", o.max_connections_per_ip);
    limit("max_vcard_bytes", o.max_vcard_bytes);
    limit("max_private_bytes", o.max_private_bytes);
    c << o.extra_limits;
    if (!o.muc_domain.empty()) c << "\n[muc]\ndomain = \"" << o.muc_domain << "\"\n" << o.extra_muc;
    c << "\n[log]\n"
      << "level = " << quoted(o.log_level) << "\n";
    c << "\n[s2s]\n";
    if (o.s2s) {
        c << "enabled = true\naddress = \"127.0.0.1\"\nport = " << s2s_port_ << "\n" << o.extra_s2s;
        // A test's name lookups never reach the machine's resolver: unless the test runs
        // its own DNS responder, they go to a loopback port where nothing answers (the
        // lookup fails at once with "port unreachable", and the stanza bounces).
        if (o.extra_s2s.find("dns_servers") == std::string::npos) c << "\ndns_servers = [\"127.0.0.1:9\"]\n";
        c << "\n[s2s.routes]\n";
        for (const auto& [domain, target] : o.s2s_routes) c << quoted(domain) << " = " << quoted(target) << "\n";
    } else {
        c << "enabled = false\n";
    }
    if (!o.extra_toml.empty()) c << "\n" << o.extra_toml << "\n";

    std::ofstream out(config_file_);
    out << c.str();
    REQUIRE_MESSAGE(out.good(), "cannot write " << config_file_);
}

CommandResult ServerProcess::ctl(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout) const {
    std::vector<std::string> argv{binary("PARLEYCTL", PARLEYCTL_PATH), "--config", config_file_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
}

void ServerProcess::add_user(std::string_view jid, std::string_view password) {
    std::string full(jid);
    if (full.find('@') == std::string::npos) full += "@" + domain_;
    auto r = ctl({"adduser", full, "--password", std::string(password)});
    if (r.exit_code != 0) {
        FAIL("parleyctl adduser " << full << " failed (exit " << r.exit_code << "): " << r.output);
    }
}

void ServerProcess::start() {
    REQUIRE_MESSAGE(!is_running(), "parleyd is already running");
    stopping_ = false;
    static const char marker[] = "\n==== parleyd started by the test harness ====\n";
    (void)!::write(log_fd_, marker, sizeof marker - 1);
    try {
        process_ = ChildProcess::spawn(parleyd_command(config_file_), log_fd_);
    } catch (const std::exception& e) {
        FAIL(e.what());
    }
    if (!wait_until_listening(20s)) {
        const std::string status = not_listening_reason(process_, 20s);
        process_.kill_and_reap();
        FAIL("parleyd " << status << " (ports " << port_ << "/" << direct_tls_port_
                        << "); its stderr:\n"
                        << log());
    }
}

bool ServerProcess::wait_until_listening(std::chrono::milliseconds timeout) {
    std::vector<std::uint16_t> ports{port_, direct_tls_port_};
    if (s2s_port_ != 0) ports.push_back(s2s_port_);
    return parley::test::wait_until_listening(process_, ports, timeout, 25ms);
}

std::optional<int> ServerProcess::stop(std::chrono::milliseconds timeout) {
    if (!process_.started() || process_.exit_status()) return std::nullopt;
    stopping_ = true;
    return stop_process(process_, timeout, "parleyd");
}

void ServerProcess::restart() {
    stop();
    start();
}

bool ServerProcess::is_running() { return process_.started() && !process_.has_exited(); }

std::string ServerProcess::log() const { return read_file(log_file_); }

bool ServerProcess::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_for_text(process_, [this] { return log(); }, text, timeout, 20ms);
}

}  // namespace parley::test
