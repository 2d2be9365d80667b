#pragma once
// A real Prosody 0.12 (Debian's `prosody` package) as a federation peer for one test:
// its own directory, config, data, certificates and log, run as the `prosody` user
// (when we are root), listening on loopback only (c2s and s2s on free ports), and
// resolving names only through the test's DnsResponder (libunbound forwarding to it,
// with resolv.conf and /etc/hosts ignored). It never reads /etc/prosody nor writes
// /var/lib/prosody, and loads no module that reaches the network by itself (no HTTP).
//
// Construction starts it and waits (bounded) until both ports accept connections; it
// FAILs the test with a clear message when Prosody is not installed or does not start.
// The destructor stops it by its PID (SIGTERM, then SIGKILL) and removes its directory;
// when the test failed, Prosody's log is printed first.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace parley::test {

struct ProsodyOptions {
    std::string domain = "prosody.example";
    std::string muc_domain = "conference.prosody.example";  // empty = no MUC component
    std::vector<std::string> more_hosts;  // more VirtualHosts, sharing the certificate
    // The DnsResponder's port: Prosody's only resolver (required).
    std::uint16_t dns_port = 0;
    // s2s_secure_auth: true = a peer must present a certificate that verifies (no
    // dialback fallback).
    bool secure_auth = false;
    // PEM chain and key for every host; empty = one issued by a CA of its own, which
    // no one else trusts (so peers fall back to dialback).
    std::filesystem::path certificate, key;
    // CA certificates Prosody trusts for s2s; empty = the system's.
    std::filesystem::path ca_file;
    // Lines added to the global section verbatim (Lua).
    std::string extra_config;
};

class ProsodyPeer {
public:
    explicit ProsodyPeer(ProsodyOptions options);
    ~ProsodyPeer();
    ProsodyPeer(const ProsodyPeer&) = delete;
    ProsodyPeer& operator=(const ProsodyPeer&) = delete;

    const std::string& domain() const { return options_.domain; }
    const std::string& muc_domain() const { return options_.muc_domain; }
    std::uint16_t c2s_port() const { return c2s_port_; }  // STARTTLS
    std::uint16_t s2s_port() const { return s2s_port_; }
    const std::filesystem::path& dir() const { return dir_; }

    // Writes an account the way mod_auth_internal_hashed stores it (SCRAM-SHA-256
    // keys); "bob" means bob@<domain>. Prosody reads it at the next login.
    void add_user(std::string_view jid, std::string_view password);

    // Prosody's log (debug level) and its stdout/stderr so far.
    std::string log() const;
    bool wait_for_log(std::string_view text, std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool is_running();

private:
    void write_config() const;
    void start();
    void stop();

    ProsodyOptions options_;
    std::filesystem::path dir_, config_file_, log_file_, out_file_;
    std::uint16_t c2s_port_ = 0, s2s_port_ = 0;
    int out_fd_ = -1;
    ChildProcess process_;
};

// Whether Prosody (with lua-unbound) is installed; the message says what is missing.
bool prosody_available(std::string* missing = nullptr);

}  // namespace parley::test
