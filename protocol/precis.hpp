#pragma once
// PRECIS profiles (RFC 8264, RFC 8265) used by JIDs and SASL. Input is UTF-8; the
// result is the enforced UTF-8 string, or nullopt when the input is ill-formed UTF-8,
// contains a code point the profile's string class disallows, or is empty after
// enforcement. Pure-ASCII input never reaches ICU.
#include <optional>
#include <string>
#include <string_view>

namespace parley::protocol::precis {

// RFC 8265 §3.3 UsernameCaseMapped: width mapping, toLowerCase, NFC, IdentifierClass.
// The bidi rule is not applied (see precis.cpp).
std::optional<std::string> username_case_mapped(std::string_view s);

// RFC 8265 §4.2 OpaqueString: non-ASCII spaces → U+0020, NFC, FreeformClass.
std::optional<std::string> opaque_string(std::string_view s);

bool is_ascii(std::string_view s);

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace parley::protocol::precis
