#include "latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace parley::bench {

namespace {

// Bucket b holds latencies of microseconds us with floor(100 * ln(1 + us)) == b.
int bucket_of(double ms) {
    const double us = ms > 0 ? ms * 1000 : 0;
    return static_cast<int>(std::floor(100 * std::log1p(us)));
}

double upper_edge_ms(int bucket) { return std::expm1((bucket + 1) / 100.0) / 1000; }

}  // namespace

void LatencyHistogram::add(double ms) {
    ++buckets_[bucket_of(ms)];
    ++count_;
    set_max_ms(ms);
}

void LatencyHistogram::add_bucket(int bucket, std::uint64_t count) {
    buckets_[bucket] += count;
    count_ += count;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
    for (const auto& [b, n] : other.buckets_) add_bucket(b, n);
    set_max_ms(other.max_ms_);
}

double LatencyHistogram::percentile(double p) const {
    if (count_ == 0) return 0;
    if (p >= 100) return max_ms_;
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
    if (rank == 0) rank = 1;
    std::uint64_t seen = 0;
    for (const auto& [b, n] : buckets_) {
        seen += n;
        // The edge may overshoot the largest sample; never report more than it.
        if (seen >= rank) return std::min(upper_edge_ms(b), max_ms_);
    }
    return max_ms_;
}

std::string LatencyHistogram::to_json() const {
    std::string out = "[";
    for (const auto& [b, n] : buckets_) {
        if (out.size() > 1) out += ",";
        out += "[" + std::to_string(b) + "," + std::to_string(n) + "]";
    }
    return out + "]";
}

}  // namespace parley::bench
