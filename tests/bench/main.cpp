// parley_bench: a one-thread XMPP load generator for Parley and its peers (login rate,
// idle memory per connection, 1:1 chat rate and latency, MUC fan-out, archive load), optionally split over
// several processes. Usage: parley_bench --port 25222 --scenario chat --connections 200 ...
#include <sys/resource.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "scenarios.hpp"

namespace {

using namespace parley::bench;

constexpr const char* usage_text = R"(usage: parley_bench [OPTIONS]
  --host ADDR          server address (127.0.0.1)
  --port N             c2s port (5222); with --direct-tls the XEP-0368 port
  --direct-tls         TLS from the first byte instead of STARTTLS
  --plain              no TLS at all (the server must allow it; SCRAM in the clear)
  --domain D           XMPP domain (localhost)
  --mechanism M        SCRAM-SHA-256 | SCRAM-SHA-1 | SCRAM-SHA-512 | PLAIN (SCRAM-SHA-256)
  --users-prefix P     accounts are P0, P1, ... (user)
  --password P         password of every account (secret)
  --scenario S         login | idle | chat | muc | archive (login)
                       muc: every account joins one room, --senders of them post
                       archive: chat's load, with --phase-file for scripts/bench
  --connections N      accounts used; chat pairs P0->P1, P2->P3, ... (200)
  --first-user I       the first account is P<I> (0)
  --duration S         chat: measured seconds; login: no new logins after (10)
  --window W           chat: messages in flight per sender (16); muc: messages per
                       sender not yet received by every occupant
  --rate R             chat, muc: offered messages/s in total, 0 = as fast as the window allows (0)
  --senders K          muc: the first K occupants post (5)
  --room NAME          muc: the room's local part (bench)
  --muc-domain D       muc: the MUC service (conference.<domain>)
  --phase-file FILE    chat, archive: append "start MS" and "end MS SENT" (Unix ms)
  --concurrency C      logins in progress at once, over all processes (50)
  --drain S            chat: seconds to wait for messages in flight (3)
  --login-timeout S    per login (20)
  --hold S             idle: seconds every connection stays open before RSS is read (3)
  --to-bare            chat: send to the receiver's bare JID, not its full JID
  --processes K        run K child processes, each with a slice of the accounts (1)
  --source-addresses   with --processes: child i binds to 127.0.0.(2+i)
  --source-address A[,B...]  bind connections to these local addresses, in turn
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

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::istringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        auto count = [&]() { return static_cast<unsigned>(number(a, value())); };
        if (a == "--host") o.server.host = value();
        else if (a == "--port") o.server.port = static_cast<std::uint16_t>(number(a, value()));
        else if (a == "--direct-tls") o.server.direct_tls = true;
        else if (a == "--plain") o.server.plain = true;
        else if (a == "--domain") o.server.domain = value();
        else if (a == "--mechanism") o.server.mechanism = value();
        else if (a == "--users-prefix") o.users_prefix = value();
        else if (a == "--password") o.password = value();
        else if (a == "--scenario") o.scenario = value();
        else if (a == "--connections") o.connections = count();
        else if (a == "--first-user") o.first_user = count();
        else if (a == "--duration") o.duration_s = number(a, value());
        else if (a == "--window") o.window = count();
        else if (a == "--rate") o.rate = number(a, value());
        else if (a == "--concurrency") o.concurrency = count();
        else if (a == "--drain") o.drain_s = number(a, value());
        else if (a == "--login-timeout") o.login_timeout_s = number(a, value());
        else if (a == "--hold") o.hold_s = number(a, value());
        else if (a == "--to-bare") o.to_bare = true;
        else if (a == "--senders") o.senders = count();
        else if (a == "--room") o.room = value();
        else if (a == "--muc-domain") o.muc_domain = value();
        else if (a == "--phase-file") o.phase_file = value();
        else if (a == "--processes") o.processes = std::max(1u, count());
        else if (a == "--source-addresses") o.source_addresses = true;
        else if (a == "--source-address") o.sources = split(value());
        else if (a == "--child") o.child = true;
        else if (a == "--server-pid") o.server_pid = static_cast<int>(number(a, value()));
        else if (a == "--json") o.json_file = value();
        else if (a == "-h" || a == "--help") {
            std::cout << usage_text;
            std::exit(0);
        } else throw std::invalid_argument("unknown option " + a);
    }
    const std::string& s = o.scenario;
    if (s != "login" && s != "idle" && s != "chat" && s != "muc" && s != "archive") {
        throw std::invalid_argument("--scenario is login, idle, chat, muc or archive");
    }
    // A muc sender's window closes on deliveries to every occupant: all in one process.
    if ((s == "muc" || s == "archive") && o.processes > 1) {
        throw std::invalid_argument("--scenario " + s + " runs in one process (no --processes)");
    }
    const std::string& m = o.server.mechanism;
    if (m != "SCRAM-SHA-256" && m != "SCRAM-SHA-1" && m != "SCRAM-SHA-512" && m != "PLAIN") {
        throw std::invalid_argument("--mechanism is SCRAM-SHA-256, SCRAM-SHA-1, SCRAM-SHA-512 or PLAIN");
    }
    if (o.server.plain && o.server.direct_tls) throw std::invalid_argument("--plain and --direct-tls exclude each other");
    if ((s == "chat" || s == "archive" || s == "muc") && o.connections < 2) {
        throw std::invalid_argument(s + " needs --connections >= 2");
    }
    if (o.connections == 0) throw std::invalid_argument("--connections must be at least 1");
    if (o.source_addresses && o.processes < 2) o.sources = {"127.0.0.2"};
    return o;
}

// Every connection is a file: take all the hard limit allows (20,000 here).
void raise_file_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::string self_exe() {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) throw std::runtime_error("cannot read /proc/self/exe");
    return std::string(buf, static_cast<std::size_t>(n));
}

bool has_failure_note(const Report& r) {
    for (const auto& [name, text] : r.notes) {
        if (name == "verdict" || name == "error") return true;
    }
    return false;
}

bool failed(const Report& r) {
    if (r.scenario == "login") return r.get("logins_failed") > 0 || r.get("logins_ok") == 0;
    if (r.scenario == "idle") return r.get("logins_failed") > 0 || r.get("dropped_while_idle") > 0;
    if (r.scenario == "muc") return r.get("delivered") == 0 || has_failure_note(r);
    return r.get("received") == 0 || has_failure_note(r);
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
    raise_file_limit();
    // The servers' certificates are self-signed: the generator checks nothing.
    env.tls.set_verify_mode(boost::asio::ssl::verify_none);
    const Options& o = env.options;
    try {
        Report r;
        if (o.processes > 1 && !o.child) r = run_children(env, self_exe());
        else if (o.scenario == "login") r = run_login(env);
        else if (o.scenario == "idle") r = run_idle(env);
        else if (o.scenario == "muc") r = run_muc(env);
        else if (o.scenario == "archive") r = run_archive(env);
        else r = run_chat(env);
        if (o.child) write_child_results(r);
        else print_summary(o, r);
        if (!o.json_file.empty()) write_json(o, r);
        return failed(r) ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "parley_bench: " << e.what() << "\n";
        return 1;
    }
}
