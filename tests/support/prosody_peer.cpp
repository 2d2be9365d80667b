#include "support/prosody_peer.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <pwd.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <doctest/doctest.h>

#include "support/peer_process.hpp"
#include "support/server_process.hpp"
#include "support/test_failures.hpp"

namespace parley::test {
namespace {

using namespace std::chrono_literals;

constexpr const char* prosody_binary = "/usr/bin/prosody";
// Prosody's own default is 10000; fewer keeps a login cheap on a loaded test machine.
constexpr int scram_iterations = 4096;

std::string hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

// util.datamanager's file name encoding: every byte but [A-Za-z0-9] becomes %xx.
std::string datamanager_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c)) {
            out += static_cast<char>(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02x", c);
            out += buf;
        }
    }
    return out;
}

}  // namespace

bool prosody_available(std::string* missing) {
    std::string what;
    if (::access(prosody_binary, X_OK) != 0) what += "prosody ";
    auto unbound = run_command({"/usr/bin/dpkg-query", "-W", "-f=${Status}", "lua-unbound"}, 10s);
    if (unbound.output.find("install ok installed") == std::string::npos) what += "lua-unbound ";
    if (is_root() && !::getpwnam("prosody")) what += "(user prosody) ";
    if (missing) *missing = what;
    return what.empty();
}

ProsodyPeer::ProsodyPeer(ProsodyOptions options) : options_(std::move(options)) {
    std::string missing;
    if (!prosody_available(&missing)) {
        FAIL("Prosody is not installed (missing: "
             << missing << "); scripts/test installs it: apt-get install prosody lua-unbound");
    }
    REQUIRE_MESSAGE(options_.dns_port != 0, "ProsodyPeer needs a DnsResponder port");
    dir_ = make_peer_dir("parley-prosody-");
    config_file_ = dir_ / "prosody.cfg.lua";
    log_file_ = dir_ / "prosody.log";
    out_file_ = dir_ / "prosody.out";
    std::filesystem::create_directories(dir_ / "data");

    std::vector<std::string> names{options_.domain};
    if (!options_.muc_domain.empty()) names.push_back(options_.muc_domain);
    names.insert(names.end(), options_.more_hosts.begin(), options_.more_hosts.end());
    install_certificates(dir_ / "certs", options_.certificate, options_.key, options_.ca_file, names, dir_ / "own-ca");

    const auto [c2s, s2s] = pick_free_ports();
    c2s_port_ = c2s;
    s2s_port_ = s2s;
    write_config();
    std::ofstream(log_file_).flush();
    give_to_user(dir_, "prosody");
    start();
}

ProsodyPeer::~ProsodyPeer() {
    stop();
    if (current_test_failed()) {
        print_log("prosody log",
                  "(" + config_file_.string() + ", c2s " + std::to_string(c2s_port_) + ", s2s " +
                      std::to_string(s2s_port_) + ")",
                  log(), 60000);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void ProsodyPeer::write_config() const {
    const auto& o = options_;
    const auto cert = dir_ / "certs" / "host.crt";
    const auto key = dir_ / "certs" / "host.key";
    std::ostringstream c;
    c << "-- written by tests/support/prosody_peer.cpp for one test\n"
      << "pidfile = " << quoted((dir_ / "prosody.pid").string()) << "\n"
      << "data_path = " << quoted((dir_ / "data").string()) << "\n"
      << "certificates = " << quoted((dir_ / "certs").string()) << "\n"
      << "log = { { levels = { min = \"debug\" }, to = \"file\", filename = " << quoted(log_file_.string())
      << " } }\n\n"
      // Loopback only; nothing but c2s and s2s listens.
      << "interfaces = { \"127.0.0.1\" }\n"
      << "local_interfaces = { \"127.0.0.1\" }\n"
      << "c2s_ports = { " << c2s_port_ << " }\n"
      << "s2s_ports = { " << s2s_port_ << " }\n"
      << "c2s_direct_tls_ports = { }\nlegacy_ssl_ports = { }\ns2s_direct_tls_ports = { }\n"
      << "http_ports = { }\nhttps_ports = { }\ncomponent_ports = { }\n\n"
      // Only the test's responder answers DNS questions (no resolv.conf, no hosts file).
      << "unbound = { resolvconf = false; hoststxt = false; forward = \"127.0.0.1@" << o.dns_port << "\" }\n\n"
      << "modules_enabled = { \"roster\", \"saslauth\", \"tls\", \"dialback\", \"disco\", \"ping\" }\n"
      << "authentication = \"internal_hashed\"\n"
      << "password_hash = \"SHA-256\"\n"
      << "default_iteration_count = " << scram_iterations << "\n"
      << "storage = \"internal\"\n"
      << "c2s_require_encryption = true\n"
      << "s2s_require_encryption = true\n"
      << "s2s_secure_auth = " << (o.secure_auth ? "true" : "false") << "\n"
      << "s2s_timeout = 20\n"
      << "ssl = { certificate = " << quoted(cert.string()) << ", key = " << quoted(key.string());
    if (!o.ca_file.empty()) c << ", cafile = " << quoted((dir_ / "certs" / "ca.crt").string());
    c << " }\n" << o.extra_config << "\n\n";
    c << "VirtualHost " << quoted(o.domain) << "\n";
    for (const auto& host : o.more_hosts) c << "VirtualHost " << quoted(host) << "\n";
    if (!o.muc_domain.empty()) {
        // Rooms open as soon as they are made (no locked state), so a join creates one.
        c << "\nComponent " << quoted(o.muc_domain) << " \"muc\"\n"
          << "    restrict_room_creation = false\n"
          << "    muc_room_locking = false\n"
          << "    muc_tombstones = false\n";
    }
    std::ofstream out(config_file_);
    out << c.str();
    REQUIRE_MESSAGE(out.good(), "cannot write " << config_file_);
}

void ProsodyPeer::start() {
    out_fd_ = open_output(out_file_);
    const auto argv = as_user("prosody", {}, {prosody_binary, "--config", config_file_.string(), "-F"});
    try {
        process_ = ChildProcess::spawn(argv, out_fd_);
    } catch (const std::exception& e) {
        FAIL("cannot start prosody: " << e.what());
    }
    if (wait_until_listening(process_, {c2s_port_, s2s_port_}, 20s, 25ms)) return;
    const std::string status = not_listening_reason(process_, 20s);
    process_.kill_and_reap();
    FAIL("prosody " << status << " (c2s " << c2s_port_ << ", s2s " << s2s_port_ << ", " << describe_command(argv)
                    << "):\n"
                    << log());
}

void ProsodyPeer::stop() { stop_process(process_, 10s, "prosody"); }

bool ProsodyPeer::is_running() { return process_.started() && !process_.has_exited(); }

std::string ProsodyPeer::log() const {
    return read_file(out_file_) + read_file(log_file_);
}

bool ProsodyPeer::wait_for_log(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_for_text(process_, [this] { return read_file(log_file_); }, text, timeout, 50ms);
}

void ProsodyPeer::add_user(std::string_view jid, std::string_view password) {
    const auto at = jid.find('@');
    const std::string_view localpart = jid.substr(0, at);
    const std::string domain = at == std::string_view::npos ? options_.domain : std::string(jid.substr(at + 1));
    unsigned char salt_bytes[12];
    REQUIRE(RAND_bytes(salt_bytes, sizeof salt_bytes) == 1);
    const std::string salt = hex(salt_bytes, sizeof salt_bytes);  // used as a string, as Prosody does
    unsigned char salted[32];
    REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                              scram_iterations, EVP_sha256(), sizeof salted, salted) == 1);
    auto mac = [&](std::string_view what) {
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        HMAC(EVP_sha256(), salted, sizeof salted, reinterpret_cast<const unsigned char*>(what.data()), what.size(),
             out, &len);
        return std::string(reinterpret_cast<char*>(out), len);
    };
    const std::string client_key = mac("Client Key");
    const std::string server_key = mac("Server Key");
    unsigned char stored[EVP_MAX_MD_SIZE];
    unsigned int stored_len = 0;
    EVP_Digest(client_key.data(), client_key.size(), stored, &stored_len, EVP_sha256(), nullptr);

    const auto folder = dir_ / "data" / datamanager_encode(domain) / "accounts";
    std::filesystem::create_directories(folder);
    const auto file = folder / (datamanager_encode(localpart) + ".dat");
    {
        std::ofstream out(file);
        out << "return {\n\t[\"iteration_count\"] = " << scram_iterations << ";\n\t[\"salt\"] = " << quoted(salt)
            << ";\n\t[\"server_key\"] = \"" << hex(reinterpret_cast<const unsigned char*>(server_key.data()),
                                                   server_key.size())
            << "\";\n\t[\"stored_key\"] = \"" << hex(stored, stored_len) << "\";\n};\n";
        REQUIRE_MESSAGE(out.good(), "cannot write " << file);
    }
    give_to_user(dir_ / "data", "prosody");
}

}  // namespace parley::test
