#include "server/config.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>

using parley::server::Config;
using parley::server::ConfigError;
using parley::server::load_config;
namespace fs = std::filesystem;

namespace {

// A folder of its own per test case, removed afterwards.
struct TempDir {
    fs::path path;
    TempDir() {
        static int n = 0;
        path = fs::temp_directory_path() /
               ("parley_config_" + std::to_string(getpid()) + "_" + std::to_string(++n));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }

    fs::path write(const std::string& text, const std::string& name = "parley.toml") const {
        fs::path file = path / name;
        std::ofstream(file) << text;
        return file;
    }
};

ConfigError error_for(const std::string& text) {
    TempDir dir;
    fs::path file = dir.write(text);
    try {
        load_config(file);
    } catch (const ConfigError& e) {
        CHECK(e.file() == file.string());
        CHECK(std::string(e.what()).rfind(file.string() + ":" + std::to_string(e.line()) + ": ",
                                          0) == 0);
        return e;
    }
    FAIL("no ConfigError for:\n" << text);
    throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("an empty file gives the documented defaults") {
    TempDir dir;
    Config c = load_config(dir.write(""));
    CHECK(c.file == fs::absolute(dir.path / "parley.toml"));
    CHECK(c.hosts == std::vector<std::string>{"localhost"});
    CHECK(c.state_dir == dir.path / "var");
    CHECK(c.threads == 0);
    CHECK(c.c2s.address == "127.0.0.1");
    CHECK(c.c2s.port == 5222);
    CHECK(c.c2s.direct_tls_port == 5223);
    CHECK(c.c2s.require_tls);
    CHECK(c.c2s.negotiation_timeout == std::chrono::seconds(30));
    CHECK(c.tls.certificate.empty());
    CHECK(c.auth.mechanisms.empty());
    CHECK(c.auth.scram_iterations == 4096);
    CHECK(c.storage.postgres.empty());
    CHECK(c.storage.threads == 2);
    CHECK(c.limits.max_stanza_bytes == 262144);
    CHECK(c.limits.max_vcard_bytes == 65536);
    CHECK(c.limits.max_private_bytes == 65536);
    CHECK(c.contact.abuse.empty());
    CHECK(c.contact.support.empty());
    CHECK(c.log.level == "info");
    CHECK(c.serves("localhost"));
    CHECK_FALSE(c.serves("example.org"));
}

TEST_CASE("every key is read") {
    TempDir dir;
    Config c = load_config(dir.write(R"(
[server]
hosts = ["Example.ORG", "chat.example.net."]
state_dir = "state"
threads = 3
[c2s]
address = "::1"
port = 0
direct_tls_port = 65535
require_tls = false
negotiation_timeout = 5
idle_timeout = 90
keepalive_interval = 20
[tls]
certificate = "/etc/ssl/chain.pem"
key = "keys/../keys/server.key"
ciphers = "ECDHE+AESGCM"
[auth]
mechanisms = ["SCRAM-SHA-256", "PLAIN"]
scram_iterations = 10000
[storage]
postgres = "host=/tmp dbname=x"
threads = 4
[limits]
max_stanza_bytes = 10000
max_depth = 8
max_attributes = 16
max_outbound_bytes = 20000
max_auth_failures = 5
max_connections = 100
max_connections_per_ip = 10
read_rate_bytes = 4096
max_vcard_bytes = 1024
max_private_bytes = 16777216
[contact]
abuse = ["mailto:abuse@example.org", "xmpp:abuse@example.org"]
admin = ["xmpp:admin@example.org"]
feedback = ["https://example.org/feedback"]
sales = []
security = ["mailto:security@example.org"]
support = ["xmpp:support@conference.example.org?join"]
[log]
level = "debug"
)"));
    CHECK(c.hosts == std::vector<std::string>{"example.org", "chat.example.net"});
    CHECK(c.serves("example.org"));
    CHECK(c.serves("chat.example.net"));
    CHECK(c.state_dir == dir.path / "state");
    CHECK(c.threads == 3);
    CHECK(c.c2s.address == "::1");
    CHECK(c.c2s.port == 0);
    CHECK(c.c2s.direct_tls_port == 65535);
    CHECK_FALSE(c.c2s.require_tls);
    CHECK(c.c2s.negotiation_timeout == std::chrono::seconds(5));
    CHECK(c.c2s.idle_timeout == std::chrono::seconds(90));
    CHECK(c.c2s.keepalive_interval == std::chrono::seconds(20));
    CHECK(c.tls.certificate == "/etc/ssl/chain.pem");
    CHECK(c.tls.key == dir.path / "keys/server.key");
    CHECK(c.tls.ciphers == "ECDHE+AESGCM");
    CHECK(c.auth.mechanisms == std::vector<std::string>{"SCRAM-SHA-256", "PLAIN"});
    CHECK(c.auth.scram_iterations == 10000);
    CHECK(c.storage.postgres == "host=/tmp dbname=x");
    CHECK(c.storage.threads == 4);
    CHECK(c.limits.max_stanza_bytes == 10000);
    CHECK(c.limits.max_depth == 8);
    CHECK(c.limits.max_attributes == 16);
    CHECK(c.limits.max_outbound_bytes == 20000);
    CHECK(c.limits.max_auth_failures == 5);
    CHECK(c.limits.max_connections == 100);
    CHECK(c.limits.max_connections_per_ip == 10);
    CHECK(c.limits.read_rate_bytes == 4096);
    CHECK(c.limits.max_vcard_bytes == 1024);
    CHECK(c.limits.max_private_bytes == 16777216);
    CHECK(c.contact.abuse ==
          std::vector<std::string>{"mailto:abuse@example.org", "xmpp:abuse@example.org"});
    CHECK(c.contact.admin == std::vector<std::string>{"xmpp:admin@example.org"});
    CHECK(c.contact.feedback == std::vector<std::string>{"https://example.org/feedback"});
    CHECK(c.contact.sales.empty());
    CHECK(c.contact.security == std::vector<std::string>{"mailto:security@example.org"});
    CHECK(c.contact.support ==
          std::vector<std::string>{"xmpp:support@conference.example.org?join"});
    CHECK(c.log.level == "debug");
}

TEST_CASE("the shipped conf/parley.toml loads and documents the defaults") {
    fs::path file = fs::path(__FILE__).parent_path() / "../../../conf/parley.toml";
    REQUIRE(fs::exists(file));
    Config c = load_config(file);
    Config defaults;
    CHECK(c.state_dir == fs::absolute(file).lexically_normal().parent_path().parent_path() / "var");
    CHECK(c.hosts == defaults.hosts);
    CHECK(c.threads == defaults.threads);
    CHECK(c.c2s.address == defaults.c2s.address);
    CHECK(c.c2s.port == defaults.c2s.port);
    CHECK(c.c2s.direct_tls_port == defaults.c2s.direct_tls_port);
    CHECK(c.c2s.require_tls == defaults.c2s.require_tls);
    CHECK(c.c2s.negotiation_timeout == defaults.c2s.negotiation_timeout);
    CHECK(c.c2s.idle_timeout == defaults.c2s.idle_timeout);
    CHECK(c.c2s.keepalive_interval == defaults.c2s.keepalive_interval);
    CHECK(c.tls.certificate == defaults.tls.certificate);
    CHECK(c.tls.key == defaults.tls.key);
    CHECK(c.tls.ciphers == defaults.tls.ciphers);
    CHECK(c.auth.mechanisms == defaults.auth.mechanisms);
    CHECK(c.auth.scram_iterations == defaults.auth.scram_iterations);
    CHECK(c.storage.postgres == defaults.storage.postgres);
    CHECK(c.storage.threads == defaults.storage.threads);
    CHECK(c.limits.max_stanza_bytes == defaults.limits.max_stanza_bytes);
    CHECK(c.limits.max_depth == defaults.limits.max_depth);
    CHECK(c.limits.max_attributes == defaults.limits.max_attributes);
    CHECK(c.limits.max_outbound_bytes == defaults.limits.max_outbound_bytes);
    CHECK(c.limits.max_auth_failures == defaults.limits.max_auth_failures);
    CHECK(c.limits.max_connections == defaults.limits.max_connections);
    CHECK(c.limits.max_connections_per_ip == defaults.limits.max_connections_per_ip);
    CHECK(c.limits.read_rate_bytes == defaults.limits.read_rate_bytes);
    CHECK(c.limits.max_vcard_bytes == defaults.limits.max_vcard_bytes);
    CHECK(c.limits.max_private_bytes == defaults.limits.max_private_bytes);
    CHECK(c.contact.abuse == defaults.contact.abuse);
    CHECK(c.contact.admin == defaults.contact.admin);
    CHECK(c.contact.feedback == defaults.contact.feedback);
    CHECK(c.contact.sales == defaults.contact.sales);
    CHECK(c.contact.security == defaults.contact.security);
    CHECK(c.contact.support == defaults.contact.support);
    CHECK(c.log.level == defaults.log.level);
}

TEST_CASE("unknown keys and sections name the file, line and dotted key") {
    auto e = error_for("[c2s]\nport = 5222\nportt = 5\n");
    CHECK(e.line() == 3);
    CHECK(e.key() == "c2s.portt");
    CHECK(std::string(e.what()).find(":3: c2s.portt: unknown key") != std::string::npos);

    e = error_for("\n[bosh]\nport = 5269\n");
    CHECK(e.line() == 2);
    CHECK(e.key() == "bosh");

    e = error_for("verbose = true\n");
    CHECK(e.line() == 1);
    CHECK(e.key() == "verbose");

    e = error_for("[log]\nlevel = \"info\"\n[log.extra]\nx = 1\n");
    CHECK(e.key() == "log.extra");

    e = error_for("c2s = 5\n");
    CHECK(e.key() == "c2s");
}

TEST_CASE("wrong types are errors") {
    CHECK(error_for("[c2s]\nport = \"5222\"\n").key() == "c2s.port");
    CHECK(error_for("[c2s]\nport = 5222.0\n").key() == "c2s.port");
    CHECK(error_for("[c2s]\nrequire_tls = 1\n").key() == "c2s.require_tls");
    CHECK(error_for("[server]\nhosts = \"localhost\"\n").key() == "server.hosts");
    CHECK(error_for("[auth]\nmechanisms = [\"PLAIN\", 3]\n").key() == "auth.mechanisms");
    CHECK(error_for("[log]\nlevel = 2\n").key() == "log.level");
    CHECK(error_for("[storage]\npostgres = false\n").key() == "storage.postgres");
    CHECK(error_for("[c2s]\nidle_timeout = \"10m\"\n").key() == "c2s.idle_timeout");
}

TEST_CASE("values out of range are errors") {
    auto e = error_for("[c2s]\n\nport = 70000\n");
    CHECK(e.line() == 3);
    CHECK(e.key() == "c2s.port");
    CHECK(std::string(e.what()).find("between 0 and 65535") != std::string::npos);
    CHECK(error_for("[c2s]\ndirect_tls_port = -1\n").key() == "c2s.direct_tls_port");
    CHECK(error_for("[c2s]\nnegotiation_timeout = 0\n").key() == "c2s.negotiation_timeout");
    CHECK(error_for("[c2s]\naddress = \"example.org\"\n").key() == "c2s.address");
    CHECK(error_for("[auth]\nscram_iterations = 4095\n").key() == "auth.scram_iterations");
    CHECK(error_for("[auth]\nscram_iterations = 10000001\n").key() == "auth.scram_iterations");
    CHECK(error_for("[storage]\nthreads = 0\n").key() == "storage.threads");
    CHECK(error_for("[limits]\nmax_stanza_bytes = 9999\n").key() == "limits.max_stanza_bytes");
    CHECK(error_for("[limits]\nmax_stanza_bytes = 30000\nmax_outbound_bytes = 20000\n").key() ==
          "limits.max_outbound_bytes");
    CHECK(error_for("[limits]\nmax_vcard_bytes = 1023\n").key() == "limits.max_vcard_bytes");
    CHECK(error_for("[limits]\nmax_vcard_bytes = 16777217\n").key() == "limits.max_vcard_bytes");
    CHECK(error_for("[limits]\nmax_private_bytes = 1023\n").key() ==
          "limits.max_private_bytes");
    CHECK(error_for("[limits]\nmax_private_bytes = 16777217\n").key() ==
          "limits.max_private_bytes");
}

TEST_CASE("contact addresses must be URIs") {
    auto e = error_for("[contact]\nabuse = [\n  \"mailto:a@example.org\",\n  \"abuse@example.org\",\n]\n");
    CHECK(e.key() == "contact.abuse");
    CHECK(e.line() == 4);
    CHECK(std::string(e.what()).find("not a URI") != std::string::npos);
    CHECK(error_for("[contact]\nadmin = \"xmpp:admin@example.org\"\n").key() == "contact.admin");
    CHECK(error_for("[contact]\nsupport = [\":nothing\"]\n").key() == "contact.support");
    CHECK(error_for("[contact]\nsecurity = [\"mailto:\"]\n").key() == "contact.security");
    CHECK(error_for("[contact]\nfeedback = [3]\n").key() == "contact.feedback");
    CHECK(error_for("[contact]\nsales = [\"xmpp:a@b\", \"xmpp:a@b\"]\n").key() == "contact.sales");
    e = error_for("[contact]\npress = [\"mailto:press@example.org\"]\n");
    CHECK(e.key() == "contact.press");
    CHECK(std::string(e.what()).find("unknown key") != std::string::npos);
}

TEST_CASE("hosts must be valid, distinct and present") {
    auto e = error_for("[server]\nhosts = [\n  \"ok.example\",\n  \"bad host\",\n]\n");
    CHECK(e.key() == "server.hosts");
    CHECK(e.line() == 4);
    CHECK(error_for("[server]\nhosts = []\n").key() == "server.hosts");
    CHECK(error_for("[server]\nhosts = [\"\"]\n").key() == "server.hosts");
    CHECK(error_for("[server]\nhosts = [\"a.example\", \"A.example\"]\n").key() == "server.hosts");
    CHECK(error_for("[server]\nstate_dir = \"\"\n").key() == "server.state_dir");
}

TEST_CASE("enumerations accept only their names") {
    auto e = error_for("[log]\nlevel = \"verbose\"\n");
    CHECK(e.key() == "log.level");
    CHECK(std::string(e.what()).find("trace debug info warn error critical off") !=
          std::string::npos);
    for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        TempDir dir;
        CHECK(load_config(dir.write(std::string("[log]\nlevel = \"") + level + "\"\n")).log.level ==
              level);
    }
    e = error_for("[auth]\nmechanisms = [\"SCRAM-SHA-1\",\n \"DIGEST-MD5\"]\n");
    CHECK(e.key() == "auth.mechanisms");
    CHECK(e.line() == 3);
    CHECK(error_for("[auth]\nmechanisms = [\"PLAIN\", \"PLAIN\"]\n").key() == "auth.mechanisms");
    TempDir dir;
    auto all = load_config(
        dir.write("[auth]\nmechanisms = [\"SCRAM-SHA-512-PLUS\", \"SCRAM-SHA-256-PLUS\", "
                  "\"SCRAM-SHA-1-PLUS\","
                  " \"SCRAM-SHA-512\", \"SCRAM-SHA-256\", \"SCRAM-SHA-1\", \"PLAIN\"]\n"));
    CHECK(all.auth.mechanisms.size() == 7);
}

TEST_CASE("a certificate needs its key") {
    auto e = error_for("[tls]\ncertificate = \"cert.pem\"\n");
    CHECK(e.key() == "tls.certificate");
    CHECK(e.line() == 2);
    CHECK(error_for("[tls]\nkey = \"key.pem\"\n").key() == "tls.key");
}

TEST_CASE("syntax errors and missing files name the file and line") {
    auto e = error_for("[c2s]\nport = 5222\nport = 5223\n");  // a duplicate key is a parse error
    CHECK(e.line() == 3);
    e = error_for("[c2s\n");
    CHECK(e.line() == 1);

    fs::path missing = fs::temp_directory_path() / "parley_no_such_config.toml";
    try {
        load_config(missing);
        FAIL("no error for a missing file");
    } catch (const ConfigError& err) {
        CHECK(err.file() == missing.string());
        CHECK(err.line() == 0);
    }
}

TEST_CASE("[muc] and [archive]: values, checks between keys, and the shipped example") {
    TempDir dir;
    Config c = load_config(dir.write("[muc]\ndomain = \"Conference.Example.ORG\"\nhistory_messages = 0\n"
                                     "[archive]\ndefault_mode = \"roster\"\nretention = 86400\nwriters = 4\n"));
    CHECK(c.muc.domain == "conference.example.org");  // prepared like a host
    CHECK(c.is_local("conference.example.org"));
    CHECK_FALSE(c.serves("conference.example.org"));  // a service, not a host with accounts
    CHECK(c.muc.history_messages == 0);
    CHECK(c.archive.default_mode == "roster");
    CHECK(c.archive.retention == std::chrono::seconds(86400));
    CHECK(c.archive.writers == 4);

    CHECK(error_for("[muc]\ndomain = \"a..b\"\n").key() == "muc.domain");
    CHECK(error_for("[server]\nhosts = [\"example.org\"]\n[muc]\ndomain = \"example.org\"\n").key() == "muc.domain");
    CHECK(error_for("[muc]\nmax_occupants = 10\ndefault_max_occupants = 20\n").key() == "muc.default_max_occupants");
    CHECK(error_for("[muc]\nmax_rooms = 0\n").key() == "muc.max_rooms");
    CHECK(error_for("[archive]\ndefault_mode = \"sometimes\"\n").key() == "archive.default_mode");
    CHECK(error_for("[archive]\nqueue_capacity = 1000\nbatch_size = 2000\n").key() == "archive.batch_size");
    CHECK(error_for("[archive]\nretention = -1\n").key() == "archive.retention");
    CHECK(error_for("[archive]\nenabled = \"yes\"\n").key() == "archive.enabled");

    fs::path shipped = fs::path(__FILE__).parent_path() / "../../../conf/parley.toml";
    Config example = load_config(shipped);
    Config defaults;
    CHECK(example.muc.domain == "conference.localhost");  // on in the example, off by default
    CHECK(defaults.muc.domain.empty());
    CHECK(example.muc.max_rooms == defaults.muc.max_rooms);
    CHECK(example.muc.max_occupants == defaults.muc.max_occupants);
    CHECK(example.muc.default_max_occupants == defaults.muc.default_max_occupants);
    CHECK(example.muc.history_messages == defaults.muc.history_messages);
    CHECK(example.muc.create_by_anyone == defaults.muc.create_by_anyone);
    CHECK(example.archive.enabled == defaults.archive.enabled);
    CHECK(example.archive.default_mode == defaults.archive.default_mode);
    CHECK(example.archive.retention == defaults.archive.retention);
    CHECK(example.archive.queue_capacity == defaults.archive.queue_capacity);
    CHECK(example.archive.batch_size == defaults.archive.batch_size);
    CHECK(example.archive.writers == defaults.archive.writers);
    CHECK(example.archive.max_page == defaults.archive.max_page);
    CHECK(example.archive.drain_timeout == defaults.archive.drain_timeout);
}
