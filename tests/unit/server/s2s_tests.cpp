// Federation pieces that need no network: the XEP-0185 dialback key and the [s2s]
// configuration section.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/config.hpp"
#include "server/s2s/dialback.hpp"

using parley::server::Config;
using parley::server::ConfigError;
using parley::server::load_config;
namespace s2s = parley::server::s2s;
namespace fs = std::filesystem;

namespace {

struct ConfigFile {
    fs::path path;
    explicit ConfigFile(const std::string& text) {
        static int n = 0;
        path = fs::temp_directory_path() / ("parley_s2s_" + std::to_string(getpid()) + "_" + std::to_string(++n) + ".toml");
        std::ofstream(path) << text;
    }
    ~ConfigFile() { fs::remove(path); }
};

Config load(const std::string& text) {
    ConfigFile f(text);
    return load_config(f.path);
}

// The error for `text`, which must name the file, `line` and `key`.
void expect_error(const std::string& text, int line, const std::string& key, const std::string& part) {
    ConfigFile f(text);
    try {
        load_config(f.path);
        FAIL("no error for:\n" << text);
    } catch (const ConfigError& e) {
        CHECK(e.file() == f.path.string());
        CHECK(e.line() == line);
        CHECK(e.key() == key);
        CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
}

}  // namespace

TEST_CASE("dialback key: the XEP-0185 example") {
    const std::string hashed = s2s::hash_secret("s3cr3tf0rd14lb4ck");
    CHECK(hashed == "a7136eb1f46c9ef18c5e78c36ca257067c69b3d518285f0b18a96c33beae9acc");
    CHECK(s2s::dialback_key(hashed, "xmpp.example.com", "example.org", "D60000229F") ==
          "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
    // Each input changes the key; the order of the domains matters.
    CHECK(s2s::dialback_key(hashed, "example.org", "xmpp.example.com", "D60000229F") !=
          s2s::dialback_key(hashed, "xmpp.example.com", "example.org", "D60000229F"));
    CHECK(s2s::dialback_key(hashed, "xmpp.example.com", "example.org", "D60000229E") !=
          s2s::dialback_key(hashed, "xmpp.example.com", "example.org", "D60000229F"));
    CHECK(s2s::dialback_key(s2s::hash_secret("other"), "xmpp.example.com", "example.org", "D60000229F") !=
          s2s::dialback_key(hashed, "xmpp.example.com", "example.org", "D60000229F"));
}

TEST_CASE("dialback key comparison and stream header") {
    CHECK(s2s::keys_equal("abc", "abc"));
    CHECK_FALSE(s2s::keys_equal("abc", "abd"));
    CHECK_FALSE(s2s::keys_equal("abc", "abcd"));
    CHECK(s2s::random_hex(16).size() == 32);
    CHECK(s2s::random_hex(16) != s2s::random_hex(16));
    const std::string h = s2s::stream_header("a.example", "b'example", "id1");
    CHECK(h.find("xmlns='jabber:server'") != std::string::npos);
    CHECK(h.find("xmlns:db='jabber:server:dialback'") != std::string::npos);
    CHECK(h.find("to='b&apos;example'") != std::string::npos);
    CHECK(h.find("id='id1'") != std::string::npos);
    CHECK(s2s::stream_header("a.example", "", "").find(" to=") == std::string::npos);
}

TEST_CASE("[s2s] defaults") {
    Config c = load("");
    CHECK(c.s2s.enabled);
    CHECK(c.s2s.address == "127.0.0.1");
    CHECK(c.s2s.port == 5269);
    CHECK(c.s2s.connect_timeout == std::chrono::seconds(10));
    CHECK(c.s2s.idle_timeout == std::chrono::seconds(600));
    CHECK(c.s2s.dialback_secret.empty());
    CHECK_FALSE(c.s2s.require_valid_certificate);
    CHECK(c.s2s.allow.empty());
    CHECK(c.s2s.deny.empty());
    CHECK(c.s2s.dns_servers.empty());
    CHECK(c.s2s.max_queued_stanzas == 1000);
    CHECK(c.s2s.routes.empty());
    CHECK(c.s2s.allows("anyone.example"));
}

TEST_CASE("[s2s] every key is read") {
    Config c = load(R"(
[s2s]
enabled = false
address = "::1"
port = 0
connect_timeout = 3
idle_timeout = 90
dialback_secret = "s3cr3t"
require_valid_certificate = true
allow = ["Friends.Example", "other.example"]
deny = ["other.example"]
dns_servers = ["127.0.0.1:5353", "[::1]:53"]
max_queued_stanzas = 5

[s2s.routes]
"other.example" = "127.0.0.1:15269"
"third.example" = "localhost:5270"
"v6.example" = "[::1]:5269"
)");
    CHECK_FALSE(c.s2s.enabled);
    CHECK(c.s2s.address == "::1");
    CHECK(c.s2s.port == 0);
    CHECK(c.s2s.connect_timeout == std::chrono::seconds(3));
    CHECK(c.s2s.idle_timeout == std::chrono::seconds(90));
    CHECK(c.s2s.dialback_secret == "s3cr3t");
    CHECK(c.s2s.require_valid_certificate);
    CHECK(c.s2s.allow == std::vector<std::string>{"friends.example", "other.example"});
    CHECK(c.s2s.dns_servers == std::vector<std::string>{"127.0.0.1:5353", "[::1]:53"});
    CHECK(c.s2s.max_queued_stanzas == 5);
    // deny wins over allow; a domain outside a non-empty allow list is refused.
    CHECK(c.s2s.allows("friends.example"));
    CHECK_FALSE(c.s2s.allows("other.example"));
    CHECK_FALSE(c.s2s.allows("stranger.example"));
    REQUIRE(c.s2s.routes.size() == 3);
    auto* r = c.s2s.route_for("other.example");
    REQUIRE(r);
    CHECK(r->host == "127.0.0.1");
    CHECK(r->port == 15269);
    r = c.s2s.route_for("third.example");
    REQUIRE(r);
    CHECK(r->host == "localhost");
    CHECK(r->port == 5270);
    r = c.s2s.route_for("v6.example");
    REQUIRE(r);
    CHECK(r->host == "::1");
    CHECK(c.s2s.route_for("nowhere.example") == nullptr);
}

TEST_CASE("[s2s] bad values name the file, the line and the key") {
    expect_error("[s2s]\nport = 70000\n", 2, "s2s.port", "between 0 and 65535");
    expect_error("[s2s]\naddress = \"localhost\"\n", 2, "s2s.address", "not an IPv4 or IPv6 address");
    expect_error("[s2s]\nconnect_timeout = 0\n", 2, "s2s.connect_timeout", "between 1");
    expect_error("[s2s]\nenabled = \"yes\"\n", 2, "s2s.enabled", "true or false");
    expect_error("[s2s]\nallow = [\"bad domain!\"]\n", 2, "s2s.allow", "not a valid domain name");
    expect_error("[s2s]\ndns_servers = [\"127.0.0.1\"]\n", 2, "s2s.dns_servers", "ip:port");
    expect_error("[s2s]\ndns_servers = [\"resolver.example:53\"]\n", 2, "s2s.dns_servers", "ip:port");
    expect_error("[s2s]\nmax_queued_stanzas = 0\n", 2, "s2s.max_queued_stanzas", "between 1");
    expect_error("[s2s]\nfederate = true\n", 2, "s2s.federate", "unknown key");
    expect_error("[s2s]\nroutes = \"x\"\n", 2, "s2s.routes", "expected a table");
    expect_error("[s2s.routes]\n\"other.example\" = \"127.0.0.1\"\n", 2, "s2s.routes.other.example", "host:port");
    expect_error("[s2s.routes]\n\"other.example\" = \"127.0.0.1:0\"\n", 2, "s2s.routes.other.example", "host:port");
    expect_error("[s2s.routes]\n\"other.example\" = \"::1:5269\"\n", 2, "s2s.routes.other.example", "host:port");
    expect_error("[s2s.routes]\n\"other.example\" = \"xmpp.other.example:5269\"\n", 2, "s2s.routes.other.example",
                 "not an IP address");
    expect_error("[s2s.routes]\n\"other.example\" = 5269\n", 2, "s2s.routes.other.example", "expected a string");
    expect_error("[s2s.routes]\n\"bad domain!\" = \"127.0.0.1:5269\"\n", 2, "s2s.routes.bad domain!",
                 "not a valid domain name");
}

#include "server/modules/hooks.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/iq_dispatcher.hpp"
#include "server/routing/router.hpp"
#include "server/routing/session_registry.hpp"
#include "server/s2s/s2s_manager.hpp"

namespace {

// What an S2sManager needs around it, with no thread running.
struct ManagerScene {
    Config config;
    parley::server::modules::Hooks hooks;
    parley::server::routing::IqDispatcher iq;
    parley::server::routing::SessionRegistry sessions;
    parley::server::routing::Router router{config, sessions, hooks, iq};
    parley::server::net::IoPool pool{1};
    std::unique_ptr<s2s::S2sManager> manager;
    explicit ManagerScene(Config c) : config(std::move(c)) {
        manager = std::make_unique<s2s::S2sManager>(config, router, pool, nullptr);
    }
};

}  // namespace

TEST_CASE("s2s targets: a static route wins, and the system resolver is kept out when told") {
    SUBCASE("static route") {
        ManagerScene scene(load("[s2s.routes]\n\"other.example\" = \"127.0.0.1:15269\"\n"));
        auto targets = scene.manager->targets_for("other.example");
        REQUIRE(targets.size() == 1);
        CHECK(targets[0].host == "127.0.0.1");
        CHECK(targets[0].port == 15269);
        CHECK_FALSE(scene.manager->may_use_system_resolver("other.example"));
        // Without a route: the domain itself on 5269 (until SRV lookups are wired).
        targets = scene.manager->targets_for("elsewhere.example");
        REQUIRE(targets.size() == 1);
        CHECK(targets[0].host == "elsewhere.example");
        CHECK(targets[0].port == 5269);
        CHECK(scene.manager->may_use_system_resolver("elsewhere.example"));
    }
    SUBCASE("dns_servers configured: no target without a route, never the system resolver") {
        ManagerScene scene(load("[s2s]\ndns_servers = [\"127.0.0.1:5353\"]\n"));
        CHECK(scene.manager->targets_for("elsewhere.example").empty());
        CHECK_FALSE(scene.manager->may_use_system_resolver("elsewhere.example"));
    }
}

TEST_CASE("s2s manager: keys come from the configured secret, or a random one per start") {
    ManagerScene fixed(load("[s2s]\ndialback_secret = \"s3cr3tf0rd14lb4ck\"\n"));
    CHECK(fixed.manager->dialback_key("xmpp.example.com", "example.org", "D60000229F") ==
          "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
    ManagerScene random1(load(""));
    ManagerScene random2(load(""));
    CHECK(random1.manager->dialback_key("a.example", "b.example", "id") !=
          random2.manager->dialback_key("a.example", "b.example", "id"));
}

// ---- TLS: [s2s] ca_file, direct TLS, incoming limits, certificate names ----

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/net/tls.hpp"
#include "server/s2s/s2s_tls.hpp"

TEST_CASE("[s2s] TLS and limit keys: defaults") {
    Config c = load("");
    CHECK(c.s2s.ca_file.empty());
    CHECK(c.s2s.direct_tls_port == 0);
    CHECK(c.s2s.max_incoming == 1000);
    CHECK(c.s2s.max_incoming_per_ip == 50);
}

TEST_CASE("[s2s] ca_file, direct_tls_port, max_incoming and tls:// routes are read") {
    const fs::path dir = fs::temp_directory_path() / ("parley_s2s_ca_" + std::to_string(getpid()));
    fs::create_directories(dir);
    parley::server::net::write_self_signed({"ca.example"}, dir / "ca.pem", dir / "ca.key");
    const std::string config_text = "[s2s]\nca_file = \"ca.pem\"\ndirect_tls_port = 5270\nmax_incoming = 20\n"
                                    "max_incoming_per_ip = 0\n\n[s2s.routes]\n"
                                    "\"other.example\" = \"tls://127.0.0.1:5270\"\n\"plain.example\" = \"127.0.0.1:5269\"\n";
    const fs::path file = dir / "parley.toml";
    std::ofstream(file) << config_text;
    Config c = load_config(file);
    // A relative path is the config file's folder's.
    CHECK(c.s2s.ca_file == dir / "ca.pem");
    CHECK(c.s2s.direct_tls_port == 5270);
    CHECK(c.s2s.max_incoming == 20);
    CHECK(c.s2s.max_incoming_per_ip == 0);
    auto* tls = c.s2s.route_for("other.example");
    REQUIRE(tls);
    CHECK(tls->host == "127.0.0.1");
    CHECK(tls->port == 5270);
    CHECK(tls->direct_tls);
    auto* plain = c.s2s.route_for("plain.example");
    REQUIRE(plain);
    CHECK_FALSE(plain->direct_tls);

    // The manager hands the route's direct TLS on to the connection targets.
    ManagerScene scene(c);
    auto targets = scene.manager->targets_for("other.example");
    REQUIRE(targets.size() == 1);
    CHECK(targets[0].direct_tls);
    CHECK_FALSE(scene.manager->targets_for("plain.example").at(0).direct_tls);
    fs::remove_all(dir);
}

TEST_CASE("[s2s] a ca_file that cannot be used names the file, the line and the key") {
    expect_error("[s2s]\nenabled = true\nca_file = \"/nonexistent/parley-ca.pem\"\n", 3, "s2s.ca_file",
                 "/nonexistent/parley-ca.pem: cannot read");
    ConfigFile not_pem("just text\n");
    expect_error("[s2s]\nca_file = \"" + not_pem.path.string() + "\"\n", 2, "s2s.ca_file", "no PEM certificate");
    expect_error("[s2s]\nca_file = 5\n", 2, "s2s.ca_file", "expected a string");
}

TEST_CASE("[s2s] bad TLS and limit values") {
    expect_error("[s2s]\ndirect_tls_port = 70000\n", 2, "s2s.direct_tls_port", "between 0 and 65535");
    expect_error("[s2s]\nport = 5269\ndirect_tls_port = 5269\n", 3, "s2s.direct_tls_port", "must differ");
    expect_error("[s2s]\nmax_incoming = 0\n", 2, "s2s.max_incoming", "between 1");
    expect_error("[s2s]\nmax_incoming = 10\nmax_incoming_per_ip = 11\n", 3, "s2s.max_incoming_per_ip",
                 "must not exceed");
    expect_error("[s2s.routes]\n\"other.example\" = \"tls://127.0.0.1\"\n", 2, "s2s.routes.other.example",
                 "tls://host:port");
    expect_error("[s2s.routes]\n\"other.example\" = \"tcp://127.0.0.1:5269\"\n", 2, "s2s.routes.other.example",
                 "host:port");
}

TEST_CASE("s2s certificate names: RFC 6125 DNS-IDs with a whole-label wildcard only") {
    const fs::path dir = fs::temp_directory_path() / ("parley_s2s_names_" + std::to_string(getpid()));
    parley::server::net::write_self_signed({"parley.example", "*.wild.example", "f*.partial.example"},
                                           dir / "c.pem", dir / "c.key");
    FILE* f = std::fopen((dir / "c.pem").c_str(), "r");
    REQUIRE(f);
    X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    REQUIRE(cert);
    CHECK(s2s::certificate_names(cert, "parley.example"));
    CHECK(s2s::certificate_names(cert, "PARLEY.example"));  // DNS names are case-insensitive
    CHECK_FALSE(s2s::certificate_names(cert, "other.example"));
    CHECK_FALSE(s2s::certificate_names(cert, "sub.parley.example"));
    CHECK(s2s::certificate_names(cert, "chat.wild.example"));
    CHECK_FALSE(s2s::certificate_names(cert, "wild.example"));       // the wildcard is one label
    CHECK_FALSE(s2s::certificate_names(cert, "a.b.wild.example"));   // and only one
    CHECK_FALSE(s2s::certificate_names(cert, "foo.partial.example"));  // no partial wildcards
    CHECK_FALSE(s2s::certificate_names(cert, ""));
    X509_free(cert);
    fs::remove_all(dir);
}
