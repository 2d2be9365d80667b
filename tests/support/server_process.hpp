#pragma once
// One parleyd for one test case: its own database (createdb in the private cluster that
// scripts/test starts), its own temporary directory, config and loopback ports. The
// server's stderr goes to a file that is printed when the test fails.
//
// Construction fails the test (doctest FAIL) when the server cannot be started.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/child_process.hpp"

namespace parley::test {

// What a test changes in the config; everything else has the values below.
struct ServerOptions {
    std::vector<std::string> mechanisms;  // [auth] mechanisms; empty = all
    bool require_tls = true;
    int negotiation_timeout = 10;  // seconds
    int idle_timeout = 600;
    int keepalive_interval = 60;
    std::optional<std::size_t> max_stanza_bytes;
    std::optional<std::size_t> max_depth;
    std::optional<std::size_t> max_attributes;
    std::optional<std::size_t> max_outbound_bytes;
    std::optional<unsigned> max_auth_failures;
    std::optional<std::size_t> max_connections;
    std::optional<std::size_t> max_connections_per_ip;
    std::optional<std::size_t> max_vcard_bytes;
    std::optional<std::size_t> max_private_bytes;
    std::string log_level = "debug";
    // Lines added to [limits] verbatim ("max_offline_messages = 0\n").
    std::string extra_limits;
    // Reach PostgreSQL through 127.0.0.1 on this port (a TcpProxy) instead of its socket.
    std::optional<std::uint16_t> postgres_port;
    // [muc] domain (XEP-0045 service); empty = no MUC service.
    std::string muc_domain = "conference.localhost";
    // Lines added to [muc] verbatim ("history_messages = 5\n").
    std::string extra_muc;
    // Appended to the config verbatim; must start with a [section] header.
    std::string extra_toml;
    // [tls] certificate and key (PEM); empty = parleyd's self-signed one.
    std::filesystem::path tls_certificate, tls_key;
    // [server] hosts; the first is domain().
    std::vector<std::string> hosts = {"localhost"};
    // [s2s] federation: off unless a test asks for it (a test never talks to the
    // world). On, it listens on s2s_port (0 = a free loopback port).
    bool s2s = false;
    std::uint16_t s2s_port = 0;
    // [s2s.routes]: domain → "host:port".
    std::vector<std::pair<std::string, std::string>> s2s_routes;
    // Lines added to [s2s] verbatim ("connect_timeout = 2\n").
    std::string extra_s2s;
};

// A scratch directory removed (recursively) when this goes away.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// A database in the private cluster, dropped when this goes away.
class TestDatabase {
public:
    TestDatabase();  // FAILs the test when PGHOST is unset or createdb fails
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    const std::string& name() const { return name_; }

private:
    std::string name_;
};

class ServerProcess {
public:
    explicit ServerProcess(ServerOptions options = {});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    std::uint16_t port() const { return port_; }  // c2s, STARTTLS
    std::uint16_t direct_tls_port() const { return direct_tls_port_; }
    std::uint16_t s2s_port() const { return s2s_port_; }  // 0 when federation is off
    const std::string& domain() const { return domain_; }
    const ServerOptions& options() const { return options_; }
    const std::filesystem::path& config_file() const { return config_file_; }
    const std::filesystem::path& state_dir() const { return state_dir_; }
    const std::string& database() const { return database_.name(); }

    // parleyctl adduser; "alice" means alice@<domain>. FAILs the test on error.
    void add_user(std::string_view jid, std::string_view password);
    // parleyctl --config FILE <args...>
    CommandResult ctl(const std::vector<std::string>& args,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30)) const;

    // Starts parleyd and waits (bounded) until both c2s ports accept connections.
    void start();
    // SIGTERM, then waits up to `timeout` before SIGKILL. Returns the exit status
    // (128 + signal when killed), nullopt when it was not running.
    std::optional<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void restart();
    bool is_running();
    // Sends a signal (SIGHUP: reload) to the running parleyd.
    void send_signal(int sig) { process_.send_signal(sig); }

    // Everything the server has written to stderr so far.
    std::string log() const;
    // Waits until the log contains `text` (for events with no other observable sign).
    bool wait_for_log(std::string_view text,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

private:
    void write_config() const;
    bool wait_until_listening(std::chrono::milliseconds timeout);

    ServerOptions options_;
    std::string domain_ = "localhost";
    TempDir dir_;
    TestDatabase database_;
    std::filesystem::path config_file_, state_dir_, log_file_;
    std::uint16_t port_ = 0, direct_tls_port_ = 0, s2s_port_ = 0;
    int log_fd_ = -1;
    bool stopping_ = false;  // stop() was called: an exit is expected
    ChildProcess process_;
};

// Two distinct free loopback ports (bound to port 0, then closed).
std::pair<std::uint16_t, std::uint16_t> pick_free_ports();
// One free loopback port other than those in `avoid`.
std::uint16_t pick_free_port(const std::vector<std::uint16_t>& avoid = {});

}  // namespace parley::test
