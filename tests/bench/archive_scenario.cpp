// The archive scenario: the chat scenario's load (pairs, window, 1:1 messages with a
// <body>, which the server archives once per party), with the phase's wall-clock start
// and end written to --phase-file. The generator does not talk to PostgreSQL:
// scripts/bench counts the archive's rows around the run and turns the marks into
// rows per second (rows written / time from the first send until the count stops).
#include <chrono>
#include <fstream>
#include <stdexcept>

#include "scenarios.hpp"

namespace parley::bench {

void mark_phase(const Options& o, const char* what, std::int64_t count) {
    if (o.phase_file.empty() || o.child) return;
    const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
    std::ofstream out(o.phase_file, std::ios::app);
    out << what << ' ' << unix_ms;
    if (count >= 0) out << ' ' << count;
    out << '\n';
    if (!out) throw std::runtime_error("cannot write " + o.phase_file);
}

Report run_archive(Env& env) {
    Report r = run_chat(env);
    r.scenario = "archive";
    // Each message between two local accounts is archived twice, once per party.
    r.add("archive_rows_expected", 2 * r.get("sent"));
    return r;
}

}  // namespace parley::bench
