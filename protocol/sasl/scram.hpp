#pragma once
// SCRAM (RFC 5802, RFC 7677) server side for SHA-1, SHA-256 and SHA-512, each also as
// -PLUS with channel binding tls-exporter (RFC 9266) or tls-server-end-point (RFC 5929).
// A state machine with no I/O: the session looks the credential up between steps.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "protocol/sasl/sasl.hpp"

namespace parley::protocol::sasl {

enum class Hash { sha1, sha256, sha512 };
std::string_view to_string(Hash h);                 // "SHA-1", "SHA-256", "SHA-512"
std::string_view storage_name(Hash h);              // "sha1", "sha256", "sha512"
std::optional<Hash> hash_from_storage_name(std::string_view s);

// What the server stores per account and hash: never the password.
struct ScramCredential {
    Hash hash = Hash::sha256;
    std::string salt;         // raw bytes
    std::uint32_t iterations = 4096;
    std::string stored_key;   // raw bytes, H(ClientKey)
    std::string server_key;   // raw bytes, HMAC(SaltedPassword, "Server Key")
};

// PBKDF2 (Hi) + key derivation. `password` must already be SASLprep'd (OpaqueString).
ScramCredential make_scram_credential(Hash hash, std::string_view password,
                                      std::string_view salt, std::uint32_t iterations);
// Same, with a fresh random 16-byte salt.
ScramCredential make_scram_credential(Hash hash, std::string_view password,
                                      std::uint32_t iterations);
// For PLAIN: recomputes StoredKey from the password and compares in constant time.
bool verify_password(const ScramCredential& cred, std::string_view password);

enum class ChannelBindingType { tls_exporter, tls_server_end_point };
std::string_view to_string(ChannelBindingType t);  // "tls-exporter", "tls-server-end-point"

// The channel-binding data this TLS connection can provide (empty = not available).
struct ChannelBindings {
    std::string tls_exporter;
    std::string tls_server_end_point;
    bool plus_offered = false;  // the server advertised -PLUS mechanisms on this stream
};

class ScramServer {
public:
    ScramServer(Hash hash, bool plus, ChannelBindings bindings);

    struct ClientFirst {
        std::string username;  // decoded (=2C/=3D) and SASLprep'd
        std::string authzid;   // empty when absent
    };
    // Step 1. Failure::malformed_request on bad syntax; a GS2 flag that does not fit
    // this mechanism and the offered bindings fails as RFC 5802 §6 says ('y' when
    // -PLUS was offered, 'p=' on a non-PLUS mechanism, an unknown binding type).
    std::variant<ClientFirst, Failure> client_first(std::string_view message);

    // Step 2: the server-first message. With no credential (no such user) a
    // plausible challenge is made and the exchange fails at client_final, so that
    // accounts cannot be enumerated.
    std::string server_first(const std::optional<ScramCredential>& credential,
                             std::uint32_t fake_iterations = 4096);

    // Step 3: verifies the channel binding and the proof; returns the server-final
    // message ("v=...") on success.
    std::variant<std::string, Failure> client_final(std::string_view message);

    // Tests only: use this server nonce instead of 24 random bytes (RFC example
    // exchanges are byte-exact). Call before server_first.
    void set_nonce_for_test(std::string server_nonce) { test_nonce_ = std::move(server_nonce); }

private:
    // Each step is accepted once, in order; any failure or misuse ends the exchange.
    enum class Step { client_first, server_first, client_final, finished };

    Hash hash_;
    bool plus_;
    ChannelBindings bindings_;
    std::string gs2_header_, client_first_bare_, server_first_, nonce_;
    std::string username_, client_nonce_, cb_data_, test_nonce_;
    std::optional<ScramCredential> cred_;
    Step step_ = Step::client_first;
};

}  // namespace parley::protocol::sasl
