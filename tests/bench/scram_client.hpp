#pragma once
// Client side of SCRAM (RFC 5802, RFC 7677) for the load generator, without channel
// binding ("n,,"). The derived keys are cached per (user, salt, iterations), so a
// generator that logs the same account in again does not spend its CPU on PBKDF2.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace parley::bench {

enum class ScramHash { sha1, sha256, sha512 };

class ScramKeyCache {
public:
    struct Keys {
        std::string client_key, server_key;
    };
    // Computes PBKDF2 on a miss; counts hits and misses for the report.
    const Keys& get(ScramHash hash, std::string_view user, std::string_view password,
                    std::string_view salt, std::uint32_t iterations);
    std::uint64_t hits() const { return hits_; }
    std::uint64_t misses() const { return misses_; }

private:
    std::map<std::string, Keys> keys_;
    std::uint64_t hits_ = 0, misses_ = 0;
};

// One exchange: client_first() → server_first(challenge) → verify_server_final().
class ScramClient {
public:
    ScramClient(ScramHash hash, std::string user, std::string password, ScramKeyCache& cache);

    std::string client_first();
    // The client-final message, or nullopt when the server-first message is malformed
    // or its nonce does not extend ours.
    std::optional<std::string> client_final(std::string_view server_first);
    // True when the server's signature ("v=...") is the one we expect.
    bool verify_server_final(std::string_view server_final) const;

private:
    ScramHash hash_;
    std::string user_, password_;
    ScramKeyCache& cache_;
    std::string nonce_, client_first_bare_, expected_server_signature_;
};

}  // namespace parley::bench
