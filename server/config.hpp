#pragma once
// The server's configuration, read from a TOML file (conf/parley.toml documents every
// key). Unknown keys, wrong types and out-of-range values are errors that name the
// file, the line and the key; the server then does not start.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley::server {

class ConfigError : public std::runtime_error {
public:
    // what(): "FILE:LINE: KEY: MESSAGE"
    ConfigError(const std::string& file, int line, const std::string& key, const std::string& message);
    const std::string& file() const { return file_; }
    int line() const { return line_; }
    const std::string& key() const { return key_; }

private:
    std::string file_;
    int line_;
    std::string key_;
};

struct Config {
    std::filesystem::path file;  // the file it was read from (absolute)

    // [server]
    std::vector<std::string> hosts = {"localhost"};  // domains served (prepared)
    std::filesystem::path state_dir;  // relative paths are resolved against the config file's folder; default "var"
    unsigned threads = 0;             // I/O threads; 0 = number of cores

    // [c2s]
    struct C2s {
        std::string address = "127.0.0.1";
        std::uint16_t port = 5222;             // STARTTLS; 0 = disabled
        std::uint16_t direct_tls_port = 5223;  // XEP-0368; 0 = disabled
        bool require_tls = true;
        std::chrono::seconds negotiation_timeout{30};  // open → bound resource
        std::chrono::seconds idle_timeout{600};        // nothing received → connection-timeout
        std::chrono::seconds keepalive_interval{60};   // nothing sent → one space
    } c2s;

    // [tls]
    struct Tls {
        std::filesystem::path certificate;  // PEM chain; empty = self-signed in state_dir/tls
        std::filesystem::path key;
        std::string ciphers;                // TLS 1.2 cipher list; empty = Mozilla intermediate
    } tls;

    // [auth]
    struct Auth {
        // Offered SASL mechanisms, in order; empty = all supported.
        std::vector<std::string> mechanisms;
        std::uint32_t scram_iterations = 4096;  // for credentials made from now on
    } auth;

    // [storage]
    struct Storage {
        std::string postgres;  // libpq connection string; "" = PG* environment (the private cluster)
        unsigned threads = 2;  // database threads
    } storage;

    // [limits]
    struct Limits {
        std::size_t max_stanza_bytes = 262144;
        std::size_t max_depth = 32;
        std::size_t max_attributes = 64;
        std::size_t max_outbound_bytes = 1 << 20;  // per session queue → policy-violation
        unsigned max_auth_failures = 3;
        std::size_t max_connections = 19000;       // c2s total
        std::size_t max_connections_per_ip = 0;    // 0 = no limit
        std::size_t read_rate_bytes = 0;           // per connection, bytes/s; 0 = no limit
        std::size_t max_vcard_bytes = 65536;       // one account's vCard (serialized XML)
        std::size_t max_private_bytes = 65536;     // one private XML storage item
        std::size_t max_pep_item_bytes = 65536;    // one PEP item payload (XEP-0163)
        std::size_t max_pep_items_per_node = 1000; // the highest pubsub#max_items of a PEP node
        std::size_t max_offline_messages = 1000;   // stored per account (XEP-0160)
        std::size_t max_csi_held_presences = 1000; // per inactive session (XEP-0352)
    } limits;

    // [contact] XEP-0157 addresses, each a URI ("mailto:...", "xmpp:...", "https://...").
    struct Contact {
        std::vector<std::string> abuse, admin, feedback, sales, security, support;
    } contact;

    // [muc] XEP-0045 multi-user chat; the service is off while domain is empty.
    struct Muc {
        std::string domain;                      // e.g. "conference.example.org" (prepared)
        std::size_t max_rooms = 10000;           // rooms in memory at once
        std::size_t max_occupants = 1000;        // the highest muc#roomconfig_maxusers
        std::size_t default_max_occupants = 200; // a new room's muc#roomconfig_maxusers
        std::size_t history_messages = 20;       // kept per room for joins (discussion history)
        bool create_by_anyone = true;            // false: only accounts of our hosts create rooms
    } muc;

    // [archive] XEP-0313 message archive and its write queue.
    struct Archive {
        bool enabled = true;
        std::string default_mode = "always";     // always | never | roster (XEP-0313 prefs default)
        std::chrono::seconds retention{0};       // rows older are deleted; 0 = keep forever
        std::size_t queue_capacity = 200000;     // messages waiting to be written
        std::size_t batch_size = 2000;           // rows per statement
        unsigned writers = 2;                    // threads (each with its own connection)
        std::size_t max_page = 250;              // the most results one MAM page returns
        std::chrono::seconds drain_timeout{60};  // at shutdown, how long to keep retrying writes
    } archive;

    // [s2s] Server-to-server federation (RFC 6120, XEP-0220 dialback).
    struct S2s {
        struct Route {
            std::string host;  // an IP address, or "localhost"
            std::uint16_t port = 5269;
            bool direct_tls = false;  // "tls://host:port": XEP-0368 TLS from the first byte
        };
        bool enabled = true;
        std::string address = "127.0.0.1";
        std::uint16_t port = 5269;                 // 0 = no listener (outgoing only)
        std::uint16_t direct_tls_port = 0;         // XEP-0368 direct TLS listener; 0 = off
        std::chrono::seconds connect_timeout{10};  // to set up an outgoing stream
        std::chrono::seconds idle_timeout{600};    // no stanza either way → closed
        std::string dialback_secret;               // empty = random per start
        bool require_valid_certificate = false;    // false = dialback when it does not verify
        std::filesystem::path ca_file;             // PEM CAs trusted besides the system store; "" = none
        std::size_t max_incoming = 1000;           // incoming s2s connections at once
        std::size_t max_incoming_per_ip = 50;      // of them from one address; 0 = no limit
        std::vector<std::string> allow;            // empty = every domain
        std::vector<std::string> deny;
        std::vector<std::string> dns_servers;      // "ip:port"; empty = the system's
        std::size_t max_queued_stanzas = 1000;     // per remote domain while connecting
        std::vector<std::pair<std::string, Route>> routes;  // [s2s.routes] domain → host:port

        // Federation with `domain` is allowed by allow/deny.
        bool allows(std::string_view domain) const;
        const Route* route_for(std::string_view domain) const;
    } s2s;

    // [log]
    struct Log {
        std::string level = "info";  // trace debug info warn error critical off
    } log;

    // A domain with accounts (one of hosts).
    bool serves(std::string_view domain) const;
    // A domain of ours: a host or a service domain (MUC).
    bool is_local(std::string_view domain) const { return serves(domain) || (!muc.domain.empty() && domain == muc.domain); }
};

// Throws ConfigError. A missing file is an error naming the file (line 0).
Config load_config(const std::filesystem::path& file);

}  // namespace parley::server
