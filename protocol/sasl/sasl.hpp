#pragma once
// Shared SASL pieces (RFC 6120 §6): failure conditions, PLAIN (RFC 4616), base64.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace parley::protocol::sasl {

enum class Failure {
    aborted, account_disabled, credentials_expired, encryption_required,
    incorrect_encoding, invalid_authzid, invalid_mechanism, malformed_request,
    mechanism_too_weak, not_authorized, temporary_auth_failure,
};
std::string_view to_string(Failure f);  // "not-authorized"

struct PlainRequest {
    std::string authzid;   // may be empty
    std::string authcid;   // SASLprep'd username
    std::string password;  // SASLprep'd (OpaqueString)
};
// authzid NUL authcid NUL passwd; malformed_request on bad syntax.
std::variant<PlainRequest, Failure> parse_plain(std::string_view message);

std::string base64_encode(std::string_view raw);
// Strict RFC 4648 decoding; "=" alone is the empty string (RFC 6120 §6.4.2).
std::optional<std::string> base64_decode(std::string_view text);

// PRECIS OpaqueString for passwords and SCRAM usernames' comparison (RFC 8265 §4).
std::optional<std::string> saslprep(std::string_view s);

}  // namespace parley::protocol::sasl
