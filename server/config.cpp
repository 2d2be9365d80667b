#include "server/config.hpp"

#include <arpa/inet.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "protocol/jid.hpp"

namespace parley::server {

namespace fs = std::filesystem;

ConfigError::ConfigError(const std::string& file, int line, const std::string& key,
                         const std::string& message)
    : std::runtime_error(file + ":" + std::to_string(line) + ": " +
                         (key.empty() ? "" : key + ": ") + message),
      file_(file),
      line_(line),
      key_(key) {}

bool Config::serves(std::string_view domain) const {
    return std::find(hosts.begin(), hosts.end(), domain) != hosts.end();
}

bool Config::S2s::allows(std::string_view domain) const {
    if (std::find(deny.begin(), deny.end(), domain) != deny.end()) return false;
    return allow.empty() || std::find(allow.begin(), allow.end(), domain) != allow.end();
}

const Config::S2s::Route* Config::S2s::route_for(std::string_view domain) const {
    for (const auto& [d, route] : routes) {
        if (d == domain) return &route;
    }
    return nullptr;
}

namespace {

constexpr std::array log_levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::array sasl_mechanisms = {"SCRAM-SHA-512-PLUS",
                                        "SCRAM-SHA-256-PLUS",
                                        "SCRAM-SHA-1-PLUS",
                                        "SCRAM-SHA-512",
                                        "SCRAM-SHA-256",
                                        "SCRAM-SHA-1",
                                        "PLAIN"};

template <std::size_t N>
bool one_of(const std::array<const char*, N>& names, const std::string& s) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

template <std::size_t N>
std::string joined(const std::array<const char*, N>& names) {
    std::string out;
    for (const char* n : names) out += (out.empty() ? "" : " ") + std::string(n);
    return out;
}

bool is_ip_address(const std::string& a) {
    unsigned char buf[16];
    return inet_pton(AF_INET, a.c_str(), buf) == 1 || inet_pton(AF_INET6, a.c_str(), buf) == 1;
}

// "host:port" or "[v6-address]:port"; nullopt when malformed or the port is not 1..65535.
std::optional<std::pair<std::string, std::uint16_t>> split_host_port(const std::string& s) {
    std::string host;
    std::string_view rest;
    if (!s.empty() && s.front() == '[') {
        const auto close = s.find(']');
        if (close == std::string::npos) return std::nullopt;
        host = s.substr(1, close - 1);
        rest = std::string_view(s).substr(close + 1);
    } else {
        const auto colon = s.rfind(':');
        if (colon == std::string::npos) return std::nullopt;
        host = s.substr(0, colon);
        rest = std::string_view(s).substr(colon);
        if (host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6 needs brackets
    }
    if (host.empty() || rest.size() < 2 || rest.front() != ':' || rest.size() > 6) return std::nullopt;
    unsigned port = 0;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
        port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) return std::nullopt;
    return std::pair{host, static_cast<std::uint16_t>(port)};
}

// One key being read: the value, where it is, and the config it goes into.
struct Key {
    Config& c;
    const std::string& file;
    const fs::path& folder;
    const toml::node& node;
    std::string name;  // dotted: "c2s.port"

    [[noreturn]] void fail(const std::string& msg, const toml::node* at = nullptr) const {
        const toml::node& n = at ? *at : node;
        throw ConfigError(file, static_cast<int>(n.source().begin.line), name, msg);
    }

    template <class T>
    T integer(std::int64_t min, std::int64_t max) const {
        auto v = node.value_exact<std::int64_t>();
        if (!v) fail("expected an integer");
        if (*v < min || *v > max)
            fail("must be between " + std::to_string(min) + " and " + std::to_string(max) +
                 " (got " + std::to_string(*v) + ")");
        return static_cast<T>(*v);
    }

    std::chrono::seconds seconds(std::int64_t min, std::int64_t max) const {
        return std::chrono::seconds(integer<std::int64_t>(min, max));
    }

    bool boolean() const {
        auto v = node.value_exact<bool>();
        if (!v) fail("expected true or false");
        return *v;
    }

    std::string string() const {
        auto v = node.value_exact<std::string>();
        if (!v) fail("expected a string");
        return *v;
    }

    // Relative to the config file's folder; "" stays empty (= not set).
    fs::path path() const {
        std::string s = string();
        return s.empty() ? fs::path() : (folder / s).lexically_normal();
    }

    // Each item passes `check` (which returns the value to keep, or fails).
    template <class Check>
    std::vector<std::string> strings(Check check) const {
        const toml::array* arr = node.as_array();
        if (!arr) fail("expected an array of strings");
        std::vector<std::string> out;
        for (const toml::node& item : *arr) {
            auto v = item.value_exact<std::string>();
            if (!v) fail("expected an array of strings", &item);
            std::string kept = check(*v, item);
            if (std::find(out.begin(), out.end(), kept) != out.end())
                fail("\"" + *v + "\" is listed twice", &item);
            out.push_back(std::move(kept));
        }
        return out;
    }

    // Each item a valid domain name, prepared.
    std::vector<std::string> domains() const {
        return strings([&](const std::string& s, const toml::node& at) {
            auto prepared = protocol::Jid::prep_domain(s);
            if (!prepared) fail("\"" + s + "\" is not a valid domain name", &at);
            return *prepared;
        });
    }

    // XEP-0157 wants URIs; a scheme (the part before ':') is the least a client can use.
    std::vector<std::string> uris() const {
        return strings([&](const std::string& s, const toml::node& at) {
            auto colon = s.find(':');
            if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
                fail("\"" + s + "\" is not a URI (e.g. \"mailto:abuse@example.org\")", &at);
            return s;
        });
    }
};

using KeyHandler = void (*)(const Key&);
using Section = std::map<std::string, KeyHandler, std::less<>>;

const std::map<std::string, Section, std::less<>>& sections() {
    static const std::map<std::string, Section, std::less<>> all = {
        {"server",
         {
             {"hosts",
              [](const Key& k) {
                  k.c.hosts = k.strings([&](const std::string& s, const toml::node& at) {
                      auto prepared = protocol::Jid::prep_domain(s);
                      if (!prepared) k.fail("\"" + s + "\" is not a valid domain name", &at);
                      return *prepared;
                  });
                  if (k.c.hosts.empty()) k.fail("at least one host is needed");
              }},
             {"state_dir",
              [](const Key& k) {
                  k.c.state_dir = k.path();
                  if (k.c.state_dir.empty()) k.fail("must not be empty");
              }},
             {"threads", [](const Key& k) { k.c.threads = k.integer<unsigned>(0, 1024); }},
         }},
        {"c2s",
         {
             {"address",
              [](const Key& k) {
                  std::string a = k.string();
                  unsigned char buf[16];
                  if (inet_pton(AF_INET, a.c_str(), buf) != 1 &&
                      inet_pton(AF_INET6, a.c_str(), buf) != 1)
                      k.fail("\"" + a + "\" is not an IPv4 or IPv6 address");
                  k.c.c2s.address = a;
              }},
             {"port", [](const Key& k) { k.c.c2s.port = k.integer<std::uint16_t>(0, 65535); }},
             {"direct_tls_port",
              [](const Key& k) { k.c.c2s.direct_tls_port = k.integer<std::uint16_t>(0, 65535); }},
             {"require_tls", [](const Key& k) { k.c.c2s.require_tls = k.boolean(); }},
             {"negotiation_timeout",
              [](const Key& k) { k.c.c2s.negotiation_timeout = k.seconds(1, 3600); }},
             {"idle_timeout", [](const Key& k) { k.c.c2s.idle_timeout = k.seconds(1, 7 * 86400); }},
             {"keepalive_interval",
              [](const Key& k) { k.c.c2s.keepalive_interval = k.seconds(1, 86400); }},
         }},
        {"tls",
         {
             {"certificate", [](const Key& k) { k.c.tls.certificate = k.path(); }},
             {"key", [](const Key& k) { k.c.tls.key = k.path(); }},
             {"ciphers", [](const Key& k) { k.c.tls.ciphers = k.string(); }},
         }},
        {"auth",
         {
             {"mechanisms",
              [](const Key& k) {
                  k.c.auth.mechanisms = k.strings([&](const std::string& s, const toml::node& at) {
                      if (!one_of(sasl_mechanisms, s))
                          k.fail(
                              "unknown mechanism \"" + s + "\"; known: " + joined(sasl_mechanisms),
                              &at);
                      return s;
                  });
              }},
             // RFC 7677 §4: at least 4096; the ceiling keeps one login well under a minute.
             {"scram_iterations",
              [](const Key& k) {
                  k.c.auth.scram_iterations = k.integer<std::uint32_t>(4096, 10'000'000);
              }},
         }},
        {"storage",
         {
             {"postgres", [](const Key& k) { k.c.storage.postgres = k.string(); }},
             {"threads", [](const Key& k) { k.c.storage.threads = k.integer<unsigned>(1, 64); }},
         }},
        {"limits",
         {
             // RFC 6120 §13.12: a server must accept stanzas of at least 10000 bytes.
             {"max_stanza_bytes",
              [](const Key& k) {
                  k.c.limits.max_stanza_bytes = k.integer<std::size_t>(10000, 64 << 20);
              }},
             {"max_depth",
              [](const Key& k) { k.c.limits.max_depth = k.integer<std::size_t>(4, 1024); }},
             {"max_attributes",
              [](const Key& k) { k.c.limits.max_attributes = k.integer<std::size_t>(4, 4096); }},
             {"max_outbound_bytes",
              [](const Key& k) {
                  k.c.limits.max_outbound_bytes =
                      k.integer<std::size_t>(10000, std::int64_t{1} << 30);
              }},
             {"max_auth_failures",
              [](const Key& k) { k.c.limits.max_auth_failures = k.integer<unsigned>(1, 100); }},
             {"max_connections",
              [](const Key& k) {
                  k.c.limits.max_connections = k.integer<std::size_t>(1, 10'000'000);
              }},
             {"max_connections_per_ip",
              [](const Key& k) {
                  k.c.limits.max_connections_per_ip = k.integer<std::size_t>(0, 10'000'000);
              }},
             {"read_rate_bytes",
              [](const Key& k) {
                  k.c.limits.read_rate_bytes = k.integer<std::size_t>(0, std::int64_t{1} << 40);
              }},
             // Below 1 KiB not even a small avatar-less vCard fits; above 16 MiB one
             // account could fill the database.
             {"max_vcard_bytes",
              [](const Key& k) {
                  k.c.limits.max_vcard_bytes = k.integer<std::size_t>(1024, 16 << 20);
              }},
             {"max_private_bytes",
              [](const Key& k) {
                  k.c.limits.max_private_bytes = k.integer<std::size_t>(1024, 16 << 20);
              }},
             // PEP (XEP-0163): one item's payload (an avatar is the large case), and the
             // items one node may keep, which is what pubsub#max_items "max" means.
             {"max_pep_item_bytes",
              [](const Key& k) {
                  k.c.limits.max_pep_item_bytes = k.integer<std::size_t>(1024, 16 << 20);
              }},
             {"max_pep_items_per_node",
              [](const Key& k) {
                  k.c.limits.max_pep_items_per_node = k.integer<std::size_t>(1, 1'000'000);
              }},
             // Offline messages (XEP-0160) one account may hold; 0 stores none.
             {"max_offline_messages",
              [](const Key& k) {
                  k.c.limits.max_offline_messages = k.integer<std::size_t>(0, 1'000'000);
              }},
             // Presence updates held for one inactive session (XEP-0352); past it they
             // are all sent, so an idle client costs bounded memory.
             {"max_csi_held_presences",
              [](const Key& k) {
                  k.c.limits.max_csi_held_presences = k.integer<std::size_t>(1, 1'000'000);
              }},
         }},
        {"contact",
         {
             {"abuse", [](const Key& k) { k.c.contact.abuse = k.uris(); }},
             {"admin", [](const Key& k) { k.c.contact.admin = k.uris(); }},
             {"feedback", [](const Key& k) { k.c.contact.feedback = k.uris(); }},
             {"sales", [](const Key& k) { k.c.contact.sales = k.uris(); }},
             {"security", [](const Key& k) { k.c.contact.security = k.uris(); }},
             {"support", [](const Key& k) { k.c.contact.support = k.uris(); }},
         }},
        {"muc",
         {
             {"domain",
              [](const Key& k) {
                  std::string d = k.string();
                  if (d.empty()) {
                      k.c.muc.domain.clear();
                      return;
                  }
                  auto prepared = protocol::Jid::prep_domain(d);
                  if (!prepared) k.fail("\"" + d + "\" is not a valid domain name");
                  k.c.muc.domain = *prepared;
              }},
             {"max_rooms", [](const Key& k) { k.c.muc.max_rooms = k.integer<std::size_t>(1, 10'000'000); }},
             {"max_occupants",
              [](const Key& k) { k.c.muc.max_occupants = k.integer<std::size_t>(1, 1'000'000); }},
             {"default_max_occupants",
              [](const Key& k) { k.c.muc.default_max_occupants = k.integer<std::size_t>(1, 1'000'000); }},
             {"history_messages",
              [](const Key& k) { k.c.muc.history_messages = k.integer<std::size_t>(0, 10'000); }},
             {"create_by_anyone", [](const Key& k) { k.c.muc.create_by_anyone = k.boolean(); }},
         }},
        {"archive",
         {
             {"enabled", [](const Key& k) { k.c.archive.enabled = k.boolean(); }},
             {"default_mode",
              [](const Key& k) {
                  std::string m = k.string();
                  if (m != "always" && m != "never" && m != "roster")
                      k.fail("unknown mode \"" + m + "\"; known: always never roster");
                  k.c.archive.default_mode = m;
              }},
             // Seconds; 0 keeps everything. The ceiling is about 100 years.
             {"retention", [](const Key& k) { k.c.archive.retention = k.seconds(0, 3'155'760'000); }},
             {"queue_capacity",
              [](const Key& k) { k.c.archive.queue_capacity = k.integer<std::size_t>(100, 100'000'000); }},
             {"batch_size", [](const Key& k) { k.c.archive.batch_size = k.integer<std::size_t>(1, 100'000); }},
             {"writers", [](const Key& k) { k.c.archive.writers = k.integer<unsigned>(1, 64); }},
             {"max_page", [](const Key& k) { k.c.archive.max_page = k.integer<std::size_t>(1, 10'000); }},
             {"drain_timeout", [](const Key& k) { k.c.archive.drain_timeout = k.seconds(0, 86400); }},
         }},
        {"s2s",
         {
             {"enabled", [](const Key& k) { k.c.s2s.enabled = k.boolean(); }},
             {"address",
              [](const Key& k) {
                  std::string a = k.string();
                  if (!is_ip_address(a)) k.fail("\"" + a + "\" is not an IPv4 or IPv6 address");
                  k.c.s2s.address = a;
              }},
             {"port", [](const Key& k) { k.c.s2s.port = k.integer<std::uint16_t>(0, 65535); }},
             {"direct_tls_port", [](const Key& k) { k.c.s2s.direct_tls_port = k.integer<std::uint16_t>(0, 65535); }},
             {"ca_file",
              [](const Key& k) {
                  k.c.s2s.ca_file = k.path();
                  if (k.c.s2s.ca_file.empty()) return;
                  // Read now, so a typo stops the start instead of silently trusting less.
                  std::ifstream in(k.c.s2s.ca_file);
                  if (!in) k.fail(k.c.s2s.ca_file.string() + ": cannot read: " + std::strerror(errno));
                  const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
                  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
                      k.fail(k.c.s2s.ca_file.string() + ": no PEM certificate in the file");
              }},
             {"max_incoming", [](const Key& k) { k.c.s2s.max_incoming = k.integer<std::size_t>(1, 1'000'000); }},
             {"max_incoming_per_ip",
              [](const Key& k) { k.c.s2s.max_incoming_per_ip = k.integer<std::size_t>(0, 1'000'000); }},
             {"connect_timeout", [](const Key& k) { k.c.s2s.connect_timeout = k.seconds(1, 3600); }},
             {"idle_timeout", [](const Key& k) { k.c.s2s.idle_timeout = k.seconds(1, 7 * 86400); }},
             {"dialback_secret", [](const Key& k) { k.c.s2s.dialback_secret = k.string(); }},
             {"require_valid_certificate", [](const Key& k) { k.c.s2s.require_valid_certificate = k.boolean(); }},
             {"allow", [](const Key& k) { k.c.s2s.allow = k.domains(); }},
             {"deny", [](const Key& k) { k.c.s2s.deny = k.domains(); }},
             {"dns_servers",
              [](const Key& k) {
                  k.c.s2s.dns_servers = k.strings([&](const std::string& s, const toml::node& at) {
                      auto hp = split_host_port(s);
                      if (!hp || !is_ip_address(hp->first))
                          k.fail("\"" + s + "\" is not \"ip:port\" (e.g. \"127.0.0.1:53\" or \"[::1]:53\")", &at);
                      return s;
                  });
              }},
             {"max_queued_stanzas",
              [](const Key& k) { k.c.s2s.max_queued_stanzas = k.integer<std::size_t>(1, 1'000'000); }},
             {"routes",
              [](const Key& k) {
                  const toml::table* table = k.node.as_table();
                  if (!table) k.fail("expected a table [s2s.routes] of \"domain\" = \"host:port\"");
                  for (auto&& [key, value] : *table) {
                      const std::string domain(key.str());
                      Key item{k.c, k.file, k.folder, value, k.name + "." + domain};
                      auto prepared = protocol::Jid::prep_domain(domain);
                      if (!prepared) item.fail("\"" + domain + "\" is not a valid domain name");
                      const std::string target = item.string();
                      // "tls://host:port": the peer speaks XEP-0368 direct TLS there.
                      constexpr std::string_view tls_scheme = "tls://";
                      const bool direct_tls = target.starts_with(tls_scheme);
                      auto hp = split_host_port(direct_tls ? target.substr(tls_scheme.size()) : target);
                      if (!hp)
                          item.fail("\"" + target + "\" is not \"host:port\" or \"tls://host:port\" (port 1..65535)");
                      // A route is how a domain is reached without DNS: its host is an
                      // address, so no lookup is ever made for it.
                      if (!is_ip_address(hp->first) && hp->first != "localhost")
                          item.fail("\"" + hp->first + "\" is not an IP address (or localhost)");
                      if (k.c.s2s.route_for(*prepared)) item.fail("a route for \"" + *prepared + "\" is given twice");
                      k.c.s2s.routes.emplace_back(*prepared, Config::S2s::Route{hp->first, hp->second, direct_tls});
                  }
              }},
         }},
        {"log",
         {
             {"level",
              [](const Key& k) {
                  std::string level = k.string();
                  if (!one_of(log_levels, level))
                      k.fail("unknown level \"" + level + "\"; known: " + joined(log_levels));
                  k.c.log.level = level;
              }},
         }},
    };
    return all;
}

toml::table parse(const fs::path& file) {
    std::ifstream probe(file);
    if (!probe)
        throw ConfigError(file.string(), 0, "",
                          std::string("cannot open: ") + std::strerror(errno));
    try {
        return toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError(file.string(), static_cast<int>(e.source().begin.line), "",
                          std::string(e.description()));
    }
}

// Checks between keys, reported at the line of the key named.
void check_together(const Config& c, const std::string& file, const toml::table& root) {
    auto fail = [&](const std::string& key, const std::string& msg) {
        auto node = root.at_path(key);
        int line = node ? static_cast<int>(node.node()->source().begin.line) : 0;
        throw ConfigError(file, line, key, msg);
    };
    if (c.tls.certificate.empty() != c.tls.key.empty())
        fail(c.tls.key.empty() ? "tls.certificate" : "tls.key",
             "tls.certificate and tls.key are set together or not at all");
    if (!c.muc.domain.empty() && c.serves(c.muc.domain))
        fail("muc.domain", "must differ from every server.hosts entry");
    if (c.muc.default_max_occupants > c.muc.max_occupants)
        fail("muc.default_max_occupants", "must not exceed muc.max_occupants");
    if (c.archive.batch_size > c.archive.queue_capacity)
        fail("archive.batch_size", "must not exceed archive.queue_capacity");
    if (c.s2s.enabled && c.s2s.direct_tls_port != 0 && c.s2s.direct_tls_port == c.s2s.port)
        fail("s2s.direct_tls_port", "must differ from s2s.port");
    if (c.s2s.max_incoming_per_ip > c.s2s.max_incoming)
        fail("s2s.max_incoming_per_ip", "must not exceed s2s.max_incoming");
    if (c.limits.max_outbound_bytes < c.limits.max_stanza_bytes)
        fail("limits.max_outbound_bytes", "must be at least limits.max_stanza_bytes");
}

}  // namespace

Config load_config(const fs::path& file) {
    const std::string name = file.string();
    toml::table root = parse(file);
    Config c;
    c.file = fs::absolute(file).lexically_normal();
    const fs::path folder = c.file.parent_path();
    c.state_dir = folder / "var";

    for (auto&& [section_key, section_node] : root) {
        std::string section_name(section_key.str());
        Key whole{c, name, folder, section_node, section_name};
        auto section = sections().find(section_name);
        if (section == sections().end()) whole.fail("unknown section or key");
        const toml::table* table = section_node.as_table();
        if (!table) whole.fail("expected a section [" + section_name + "]");
        for (auto&& [key, value] : *table) {
            Key k{c, name, folder, value, section_name + "." + std::string(key.str())};
            auto handler = section->second.find(key.str());
            if (handler == section->second.end()) k.fail("unknown key");
            handler->second(k);
        }
    }
    check_together(c, name, root);
    return c;
}

}  // namespace parley::server
