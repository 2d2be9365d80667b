// parley_bench: a one-thread XMPP load generator for Parley (login and 1:1 chat rates).
// Usage: parley_bench --port 25222 --scenario chat --connections 200 --duration 10 ...
#include <openssl/ssl.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "scenarios.hpp"

namespace {

using namespace parley::bench;

constexpr const char* usage_text = R"(usage: parley_bench [OPTIONS]
  --host ADDR          server address (127.0.0.1)
  --port N             c2s port (5222); with --direct-tls the XEP-0368 port
  --direct-tls         TLS from the first byte instead of STARTTLS
  --domain D           XMPP domain (localhost)
  --users-prefix P     accounts are P0, P1, ... (user)
  --password P         password of every account (secret)
  --scenario S         login | chat (login)
  --connections N      accounts used; chat pairs P0->P1, P2->P3, ... (200)
  --duration S         chat: measured seconds; login: no new logins after (10)
  --window W           chat: messages in flight per sender (16)
  --rate R             chat: offered messages/s in total, 0 = as fast as possible (0)
  --concurrency C      logins in progress at once (50)
  --drain S            chat: seconds to wait for messages in flight (3)
  --login-timeout S    per login (20)
  --to-bare            chat: send to the receiver's bare JID, not its full JID
  --server-pid PID     sample the server's CPU time and RSS from /proc
  --json FILE          also write the results as JSON
)";

double number(const std::string& opt, const char* text) {
    try {
        std::size_t used = 0;
        double v = std::stod(text, &used);
        if (used != std::strlen(text) || v < 0) throw std::invalid_argument(opt);
        return v;
    } catch (const std::exception&) {
        throw std::invalid_argument(opt + " needs a non-negative number, not '" + text + "'");
    }
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--host") o.server.host = value();
        else if (a == "--port") o.server.port = static_cast<std::uint16_t>(number(a, value()));
        else if (a == "--direct-tls") o.server.direct_tls = true;
        else if (a == "--domain") o.server.domain = value();
        else if (a == "--users-prefix") o.users_prefix = value();
        else if (a == "--password") o.password = value();
        else if (a == "--scenario") o.scenario = value();
        else if (a == "--connections") o.connections = static_cast<unsigned>(number(a, value()));
        else if (a == "--duration") o.duration_s = number(a, value());
        else if (a == "--window") o.window = static_cast<unsigned>(number(a, value()));
        else if (a == "--rate") o.rate = number(a, value());
        else if (a == "--concurrency") o.concurrency = static_cast<unsigned>(number(a, value()));
        else if (a == "--drain") o.drain_s = number(a, value());
        else if (a == "--login-timeout") o.login_timeout_s = number(a, value());
        else if (a == "--to-bare") o.to_bare = true;
        else if (a == "--server-pid") o.server_pid = static_cast<int>(number(a, value()));
        else if (a == "--json") o.json_file = value();
        else if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else throw std::invalid_argument("unknown option " + a);
    }
    if (o.scenario != "login" && o.scenario != "chat") throw std::invalid_argument("--scenario is login or chat");
    if (o.scenario == "chat" && o.connections < 2) throw std::invalid_argument("chat needs --connections >= 2");
    if (o.connections == 0) throw std::invalid_argument("--connections must be at least 1");
    return o;
}

std::string format(double v) {
    char buf[64];
    if (v == static_cast<double>(static_cast<long long>(v)) && v < 1e15) {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else {
        std::snprintf(buf, sizeof buf, "%.3f", v);
    }
    return buf;
}

void print_summary(const Options& o, const Report& r) {
    std::printf("== parley_bench %s: %u connections, %s port %u%s ==\n", r.scenario.c_str(), o.connections,
                o.server.direct_tls ? "direct TLS" : "STARTTLS", o.server.port,
                r.scenario == "chat" ? (", window " + std::to_string(o.window)).c_str() : "");
    for (const auto& [name, value] : r.figures) std::printf("  %-30s %s\n", name.c_str(), format(value).c_str());
    for (const auto& [name, text] : r.notes) std::printf("  %-30s %s\n", name.c_str(), text.c_str());
    std::fflush(stdout);
}

void write_json(const Options& o, const Report& r) {
    std::ofstream out(o.json_file);
    out << "{\n  \"scenario\": " << json_string(r.scenario) << ",\n  \"options\": {\"port\": " << o.server.port
        << ", \"direct_tls\": " << (o.server.direct_tls ? "true" : "false") << ", \"connections\": " << o.connections
        << ", \"duration_s\": " << o.duration_s << ", \"window\": " << o.window << ", \"rate\": " << o.rate
        << ", \"concurrency\": " << o.concurrency << "},\n  \"figures\": {";
    const char* sep = "\n";
    for (const auto& [name, value] : r.figures) {
        out << sep << "    " << json_string(name) << ": " << format(value);
        sep = ",\n";
    }
    out << "\n  },\n  \"notes\": {";
    sep = "\n";
    for (const auto& [name, text] : r.notes) {
        out << sep << "    " << json_string(name) << ": " << json_string(text);
        sep = ",\n";
    }
    out << "\n  }\n}\n";
    if (!out) throw std::runtime_error("cannot write " + o.json_file);
}

bool has_failure_note(const Report& r) {
    for (const auto& [name, text] : r.notes) {
        if (name == "verdict" || name == "error") return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    Env env;
    try {
        env.options = parse(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "parley_bench: " << e.what() << "\n" << usage_text;
        return 2;
    }
    // The server's certificate is self-signed: the generator checks nothing.
    env.tls.set_verify_mode(boost::asio::ssl::verify_none);
    try {
        Report r = env.options.scenario == "login" ? run_login(env) : run_chat(env);
        print_summary(env.options, r);
        if (!env.options.json_file.empty()) write_json(env.options, r);
        const bool failed = env.options.scenario == "login" ? r.get("logins_failed") > 0 || r.get("logins_ok") == 0
                                                            : r.get("received") == 0 || has_failure_note(r);
        return failed ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "parley_bench: " << e.what() << "\n";
        return 1;
    }
}
