#pragma once
// Lowercase hexadecimal of raw bytes (digests, random ids, dialback keys).
#include <cstddef>
#include <string>

namespace parley::protocol {

inline std::string to_hex(const unsigned char* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[data[i] >> 4];
        out += digits[data[i] & 15];
    }
    return out;
}

}  // namespace parley::protocol
