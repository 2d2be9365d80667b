// SASL pieces shared by the mechanisms: RFC 6120 §6.5 failure names, PLAIN
// (RFC 4616), strict base64 (RFC 4648) and SASLprep as PRECIS OpaqueString (RFC 8265).
#include "protocol/sasl/sasl.hpp"

#include <array>
#include <cstdint>

#include "protocol/jid.hpp"
#include "protocol/precis.hpp"

namespace parley::protocol::sasl {

std::string_view to_string(Failure f) {
    switch (f) {
    case Failure::aborted: return "aborted";
    case Failure::account_disabled: return "account-disabled";
    case Failure::credentials_expired: return "credentials-expired";
    case Failure::encryption_required: return "encryption-required";
    case Failure::incorrect_encoding: return "incorrect-encoding";
    case Failure::invalid_authzid: return "invalid-authzid";
    case Failure::invalid_mechanism: return "invalid-mechanism";
    case Failure::malformed_request: return "malformed-request";
    case Failure::mechanism_too_weak: return "mechanism-too-weak";
    case Failure::not_authorized: return "not-authorized";
    case Failure::temporary_auth_failure: return "temporary-auth-failure";
    }
    return "not-authorized";
}

// RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd, where authcid and
// passwd are 1*SAFE. So a missing NUL, a third NUL, an empty authcid or password, or
// bad UTF-8 are syntax errors (malformed-request). A well-formed username or password
// that PRECIS rejects cannot belong to any account: not-authorized, like a wrong
// password. The authcid is prepared as a JID localpart so it names the account.
std::variant<PlainRequest, Failure> parse_plain(std::string_view message) {
    const auto first = message.find('\0');
    if (first == std::string_view::npos) return Failure::malformed_request;
    const auto second = message.find('\0', first + 1);
    if (second == std::string_view::npos) return Failure::malformed_request;
    if (message.find('\0', second + 1) != std::string_view::npos)
        return Failure::malformed_request;
    const std::string_view authzid = message.substr(0, first);
    const std::string_view authcid = message.substr(first + 1, second - first - 1);
    const std::string_view passwd = message.substr(second + 1);
    if (authcid.empty() || passwd.empty()) return Failure::malformed_request;
    if (!precis::is_valid_utf8(message)) return Failure::malformed_request;

    auto user = Jid::prep_localpart(authcid);
    auto pass = saslprep(passwd);
    if (!user || !pass) return Failure::not_authorized;
    return PlainRequest{std::string(authzid), std::move(*user), std::move(*pass)};
}

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto decode_table = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view raw) {
    std::string out;
    out.reserve((raw.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(raw[k])); };
    for (; i + 3 <= raw.size(); i += 3) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += alphabet[v & 63];
    }
    const std::size_t rest = raw.size() - i;
    if (rest == 1) {
        const std::uint32_t v = byte(i) << 16;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
        out += alphabet[v >> 18];
        out += alphabet[(v >> 12) & 63];
        out += alphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

// Strict: length a multiple of 4, only the alphabet, at most two '=' and only at the
// end, and zero padding bits (RFC 4648 §3.5), so each byte string has one encoding.
std::optional<std::string> base64_decode(std::string_view text) {
    if (text == "=") return std::string();
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t pad = 0;
    if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const std::size_t data = last ? 4 - pad : 4;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            if (k >= data) {
                if (text[i + k] != '=') return std::nullopt;
                v <<= 6;
                continue;
            }
            const std::int8_t d = decode_table[static_cast<unsigned char>(text[i + k])];
            if (d < 0) return std::nullopt;
            v = v << 6 | static_cast<std::uint32_t>(d);
        }
        out += static_cast<char>(v >> 16);
        if (data >= 3) out += static_cast<char>((v >> 8) & 0xFF);
        if (data == 4) out += static_cast<char>(v & 0xFF);
        if ((data == 2 && (v & 0xFFFF) != 0) || (data == 3 && (v & 0xFF) != 0))
            return std::nullopt;  // non-zero padding bits
    }
    return out;
}

std::optional<std::string> saslprep(std::string_view s) { return precis::opaque_string(s); }

}  // namespace parley::protocol::sasl
