#pragma once
// Latencies kept as counts in logarithmic buckets (about 1% wide), so child processes
// can hand theirs to the parent and the merged percentiles stay within 1%.
#include <cstdint>
#include <map>
#include <string>

namespace parley::bench {

class LatencyHistogram {
public:
    void add(double ms);
    void add_bucket(int bucket, std::uint64_t count);
    void merge(const LatencyHistogram& other);

    std::uint64_t count() const { return count_; }
    double max_ms() const { return max_ms_; }
    void set_max_ms(double ms) { max_ms_ = ms > max_ms_ ? ms : max_ms_; }
    // Nearest rank, p in [0, 100]: the upper edge of the bucket holding that rank
    // (the exact maximum for p = 100). 0 when empty.
    double percentile(double p) const;
    const std::map<int, std::uint64_t>& buckets() const { return buckets_; }
    // "[[bucket, count], ...]"
    std::string to_json() const;

private:
    std::map<int, std::uint64_t> buckets_;
    std::uint64_t count_ = 0;
    double max_ms_ = 0;
};

}  // namespace parley::bench
