#pragma once
// A real ejabberd 23.01 (Debian's `ejabberd` package) as a federation peer for one test:
// its own directory (config, Mnesia, cookie, certificates, logs), run as the `ejabberd`
// user when we are root, on loopback only (c2s, s2s and the Erlang distribution port),
// started as tests/bench/peers/ejabberd.sh does: `erl -s ejabberd` directly, no epmd
// (-erl_epmd_port), no system service, never /etc/ejabberd nor /var/lib/ejabberd.
//
// Names: its Erlang resolver reads an inetrc that ignores resolv.conf and /etc/hosts,
// knows `localhost` itself and sends every other question to the test's DnsResponder
// alone, so no query of a test run reaches the machine's resolver.
//
// Construction starts it and waits (bounded) until c2s and s2s accept connections; it
// FAILs the test with a clear message when ejabberd is not installed or does not start
// (the log is printed). The destructor stops the VM by its PID (SIGTERM, then SIGKILL),
// then the VM's own children (erl_child_setup, os_mon's port programs) by theirs, and
// removes the directory; when the test failed, ejabberd's log is printed first.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "support/child_process.hpp"

namespace parley::test {

struct EjabberdOptions {
    std::string domain = "ejabberd.example";
    std::string muc_domain = "conference.ejabberd.example";  // empty = no mod_muc
    // The DnsResponder's port: ejabberd's only nameserver (required).
    std::uint16_t dns_port = 0;
    // s2s_use_starttls: "required", "optional" or "false".
    std::string s2s_starttls = "required";
    // Loads mod_s2s_dialback. Without it ejabberd authenticates peers (and itself) by
    // certificate only (SASL EXTERNAL, XEP-0178).
    bool dialback = true;
    // PEM chain and key for every host; empty = one issued by a CA of its own, which
    // no one else trusts (so peers fall back to dialback).
    std::filesystem::path certificate, key;
    // s2s_cafile: the CAs ejabberd trusts for s2s; empty = the system's.
    std::filesystem::path ca_file;
    // Top-level ejabberd.yml lines added verbatim (YAML).
    std::string extra_config;
    std::string loglevel = "info";
};

class EjabberdPeer {
public:
    explicit EjabberdPeer(EjabberdOptions options);
    ~EjabberdPeer();
    EjabberdPeer(const EjabberdPeer&) = delete;
    EjabberdPeer& operator=(const EjabberdPeer&) = delete;

    const std::string& domain() const { return options_.domain; }
    const std::string& muc_domain() const { return options_.muc_domain; }
    std::uint16_t c2s_port() const { return c2s_port_; }  // STARTTLS
    std::uint16_t s2s_port() const { return s2s_port_; }
    const std::filesystem::path& dir() const { return dir_; }
    pid_t pid() const { return process_.pid(); }

    // ejabberd_auth:try_register on the running node; "bob" means bob@<domain>.
    // FAILs the test when it does not answer ok.
    void add_user(std::string_view jid, std::string_view password);

    // Evaluates the Erlang expression `expr` (no trailing dot) on the running node from a
    // short-lived hidden node and returns the result printed with ~p ("ok",
    // "[{{127,0,0,1},5353}]"); FAILs the test when that node cannot run or reach it.
    std::string eval(std::string_view expr);

    // The console output (the log at `loglevel`) and stderr so far.
    std::string log() const;
    bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool is_running();

private:
    void write_files() const;
    void start();
    void stop();
    std::vector<std::string> as_ejabberd(std::vector<std::string> command) const;

    EjabberdOptions options_;
    std::filesystem::path dir_, home_, config_file_, inetrc_, out_file_;
    std::string node_;
    std::uint16_t c2s_port_ = 0, s2s_port_ = 0, dist_port_ = 0;
    unsigned next_ctl_ = 0;
    int out_fd_ = -1;
    ChildProcess process_;
};

// Whether ejabberd and Erlang are installed; the message says what is missing.
bool ejabberd_available(std::string* missing = nullptr);

}  // namespace parley::test
