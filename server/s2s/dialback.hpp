#pragma once
// Server dialback keys (XEP-0220 §2.1, generated as XEP-0185 recommends) and the small
// pieces of the s2s wire format that both stream directions share.
#include <string>
#include <string_view>

namespace parley::server::s2s {

inline constexpr std::string_view dialback_ns = "jabber:server:dialback";
inline constexpr std::string_view dialback_feature_ns = "urn:xmpp:features:dialback";

// SHA-256 of the configured secret, in hex: what the key function takes, so that the
// secret itself is not kept in memory longer than start-up.
std::string hash_secret(std::string_view secret);

// XEP-0185: HMAC-SHA256(hex(SHA256(secret)), receiving + ' ' + originating + ' ' +
// stream id), in lowercase hex.
std::string dialback_key(std::string_view hashed_secret, std::string_view receiving,
                         std::string_view originating, std::string_view stream_id);

// Compares two keys in time independent of where they differ.
bool keys_equal(std::string_view a, std::string_view b);

// A fresh random stream id / secret (hex).
std::string random_hex(std::size_t bytes);

// The opening of an s2s stream (RFC 6120 §4.7 with the dialback namespace declared, as
// XEP-0220 §2.1 asks). `id` and `to` are left out when empty.
std::string stream_header(std::string_view from, std::string_view to, std::string_view id);

}  // namespace parley::server::s2s
