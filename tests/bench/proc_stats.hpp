#pragma once
// CPU time and memory of the server process (from /proc) and of the generator itself
// (getrusage), sampled around a measured phase.
#include <cstdint>
#include <string>
#include <vector>

namespace parley::bench {

struct ProcSample {
    bool ok = false;
    double cpu_ms = 0;     // utime + stime
    std::int64_t rss_kb = 0;
    double machine_busy_ms = 0;  // all processes on all cores (/proc/stat), read even when !ok
};

// pid <= 0 or an unreadable /proc entry gives ok = false.
ProcSample sample_process(int pid);
double self_cpu_ms();
double now_ms();  // steady clock

// p in [0, 100]; sorts `values`. 0 when empty.
double percentile(std::vector<double>& values, double p);

// Minimal JSON writing for the report.
std::string json_string(const std::string& s);

}  // namespace parley::bench
