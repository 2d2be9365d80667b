// The generator's results: a summary on stdout, a JSON file, or (as a child) lines
// for the parent process.
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "scenarios.hpp"

namespace parley::bench {

namespace {

std::string format(double v) {
    char buf[64];
    if (v == static_cast<double>(static_cast<long long>(v)) && v < 1e15 && v > -1e15) {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else {
        std::snprintf(buf, sizeof buf, "%.3f", v);
    }
    return buf;
}

const char* transport(const Options& o) {
    return o.server.plain ? "no TLS" : o.server.direct_tls ? "direct TLS" : "STARTTLS";
}

}  // namespace

void print_summary(const Options& o, const Report& r) {
    std::string extra;
    if (r.scenario == "muc") {
        extra = ", " + std::to_string(o.senders) + " senders, window " + std::to_string(o.window) +
                (o.rate > 0 ? ", offered " + format(o.rate) + " msgs/s" : std::string());
    } else if (r.scenario == "chat" || r.scenario == "archive") {
        extra = ", window " + std::to_string(o.window) +
                (o.rate > 0 ? ", offered " + format(o.rate) + " msgs/s" : std::string(", max rate"));
    }
    if (o.processes > 1) extra += ", " + std::to_string(o.processes) + " processes";
    std::printf("== parley_bench %s: %u connections, %s, %s, port %u%s ==\n", r.scenario.c_str(), o.connections,
                transport(o), o.server.mechanism.c_str(), o.server.port, extra.c_str());
    for (const auto& [name, value] : r.figures) std::printf("  %-32s %s\n", name.c_str(), format(value).c_str());
    for (const auto& [name, text] : r.notes) std::printf("  %-32s %s\n", name.c_str(), text.c_str());
    std::fflush(stdout);
}

void write_json(const Options& o, const Report& r) {
    std::ofstream out(o.json_file);
    out << "{\n  \"scenario\": " << json_string(r.scenario) << ",\n  \"options\": {\"port\": " << o.server.port
        << ", \"direct_tls\": " << (o.server.direct_tls ? "true" : "false")
        << ", \"tls\": " << (o.server.plain ? "false" : "true")
        << ", \"mechanism\": " << json_string(o.server.mechanism) << ", \"connections\": " << o.connections
        << ", \"first_user\": " << o.first_user << ", \"processes\": " << o.processes
        << ", \"duration_s\": " << o.duration_s << ", \"window\": " << o.window << ", \"rate\": " << o.rate
        << ", \"concurrency\": " << o.concurrency << ", \"hold_s\": " << o.hold_s;
    if (r.scenario == "muc") out << ", \"senders\": " << o.senders << ", \"room\": " << json_string(o.room);
    out << "},\n  \"figures\": {";
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
    out << "\n  }";
    // Bucket b holds latencies in [e^(b/100) - 1, e^((b+1)/100) - 1) microseconds.
    if (r.latency.count() > 0) out << ",\n  \"latency_histogram_log_us_x100\": " << r.latency.to_json();
    out << "\n}\n";
    if (!out) throw std::runtime_error("cannot write " + o.json_file);
}

void write_child_results(const Report& r) {
    for (const auto& [name, value] : r.figures) std::printf("fig %s %.17g\n", name.c_str(), value);
    for (const auto& [name, text] : r.notes) {
        std::string one_line = text;
        for (char& c : one_line) c = c == '\n' ? ' ' : c;
        std::printf("note %s %s\n", name.c_str(), one_line.c_str());
    }
    for (const auto& [b, n] : r.latency.buckets()) std::printf("hist %d %llu\n", b, static_cast<unsigned long long>(n));
    std::printf("max %.17g\nend\n", r.latency.max_ms());
    std::fflush(stdout);
}

}  // namespace parley::bench
