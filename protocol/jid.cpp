// JID preparation per RFC 7622. Pure-ASCII parts (nearly every JID on the wire) take
// a fast path in precis.cpp and here that never touches ICU or libidn2.
#include "protocol/jid.hpp"

#include <arpa/inet.h>
#include <idn2.h>

#include <vector>

#include "protocol/precis.hpp"

namespace parley::protocol {
namespace {

constexpr std::size_t max_part = 1023;  // octets, RFC 7622 §3.2–3.4
// Preparation shrinks a string by at most a factor of 3 (fullwidth → ASCII, jamo →
// syllable), so longer input cannot be valid and is refused before any work.
constexpr std::size_t max_input = 4 * max_part;
constexpr std::size_t max_label = 63;

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_ldh_label(std::string_view label) {
    if (label.empty() || label.size() > max_label) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) return false;
    }
    return true;
}

bool starts_with_ace(std::string_view label) {
    return label.size() >= 4 && label.substr(0, 4) == "xn--";
}

// A label that is not plain LDH ASCII: IDNA2008 (with the UTS #46 mapping that
// lower-cases it) via libidn2, then back to its U-label form for comparison. Done per
// label so that libidn2's DNS limit of 255 octets does not cut RFC 7622's 1023.
std::optional<std::string> prep_idn_label(const std::string& label) {
    // libidn2's UTS #46 mapping silently drops some ASCII (space, '_') even with the
    // STD3 flag, so the ASCII part of a label is held to LDH here first.
    for (char c : label) {
        const bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-';
        if (static_cast<unsigned char>(c) < 0x80 && !ldh) return std::nullopt;
    }
    uint8_t* ascii = nullptr;
    int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(label.c_str()), &ascii,
                            IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
    if (rc != IDN2_OK) return std::nullopt;
    std::string a(reinterpret_cast<char*>(ascii));
    idn2_free(ascii);
    for (char& c : a) c = ascii_lower(c);
    if (!is_ldh_label(a)) return std::nullopt;
    if (!starts_with_ace(a)) return a;  // e.g. fullwidth ASCII letters mapped down
    char* unicode = nullptr;
    if (idn2_to_unicode_8z8z(a.c_str(), &unicode, 0) != IDN2_OK) return std::nullopt;
    std::string u(unicode);
    idn2_free(unicode);
    return u;
}

// RFC 7622 §3.2: "[IPv6]" literal, canonicalized so that equal addresses compare equal.
std::optional<std::string> prep_ip6_literal(std::string_view s) {
    if (s.size() < 3 || s.back() != ']') return std::nullopt;
    std::string inner(s.substr(1, s.size() - 2));
    unsigned char addr[16];
    if (inet_pton(AF_INET6, inner.c_str(), addr) != 1) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, addr, buf, sizeof buf)) return std::nullopt;
    return "[" + std::string(buf) + "]";
}

// Splits at '.' and at the dots UTS #46 maps to it (U+3002, U+FF0E, U+FF61).
std::vector<std::string> split_labels(std::string_view s) {
    std::vector<std::string> labels(1);
    for (std::size_t i = 0; i < s.size();) {
        if (s[i] == '.') {
            labels.emplace_back();
            ++i;
            continue;
        }
        const std::string_view rest = s.substr(i);
        if (rest.starts_with("\xE3\x80\x82") || rest.starts_with("\xEF\xBC\x8E") ||
            rest.starts_with("\xEF\xBD\xA1")) {
            labels.emplace_back();
            i += 3;
            continue;
        }
        labels.back().push_back(s[i]);
        ++i;
    }
    return labels;
}

// The common case: ASCII LDH labels, no A-label, no ICU or libidn2. nullopt leaves
// the decision to the general path.
std::optional<std::string> prep_ascii_domain(std::string_view s) {
    if (!precis::is_ascii(s)) return std::nullopt;
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    if (out.size() > 1 && out.back() == '.') out.pop_back();
    if (out.size() > max_part) return std::nullopt;
    const std::string_view v = out;
    for (std::size_t start = 0;;) {
        const auto dot = v.find('.', start);
        const auto label = v.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (starts_with_ace(label) || !is_ldh_label(label)) return std::nullopt;
        if (dot == std::string_view::npos) return out;
        start = dot + 1;
    }
}

bool has_localpart_exclusion(std::string_view s) {  // RFC 7622 §3.3.1
    return s.find_first_of("\"&'/:<>@") != std::string_view::npos;
}

}  // namespace

std::optional<std::string> Jid::prep_localpart(std::string_view s) {
    if (s.empty() || s.size() > max_input) return std::nullopt;
    auto out = precis::username_case_mapped(s);
    // Checked after mapping: fullwidth '＠' only becomes '@' there.
    if (!out || out->size() > max_part || has_localpart_exclusion(*out)) return std::nullopt;
    return out;
}

std::optional<std::string> Jid::prep_resource(std::string_view s) {
    if (s.empty() || s.size() > max_input) return std::nullopt;
    auto out = precis::opaque_string(s);
    if (!out || out->size() > max_part) return std::nullopt;
    return out;
}

std::optional<std::string> Jid::prep_domain(std::string_view s) {
    if (s.empty() || s.size() > max_input) return std::nullopt;
    if (s.front() == '[') return prep_ip6_literal(s);
    if (auto ascii = prep_ascii_domain(s)) return ascii;
    if (!precis::is_valid_utf8(s)) return std::nullopt;
    std::vector<std::string> labels = split_labels(s);
    if (labels.size() > 1 && labels.back().empty()) labels.pop_back();  // one trailing dot
    std::string out;
    out.reserve(s.size());
    for (auto& label : labels) {
        if (label.empty()) return std::nullopt;
        if (precis::is_ascii(label)) {
            for (char& c : label) c = ascii_lower(c);
            if (starts_with_ace(label)) {
                auto u = prep_idn_label(label);
                if (!u) return std::nullopt;
                label = std::move(*u);
            } else if (!is_ldh_label(label)) {
                return std::nullopt;
            }
        } else {
            auto u = prep_idn_label(label);
            if (!u) return std::nullopt;
            label = std::move(*u);
        }
        if (!out.empty()) out.push_back('.');
        out += label;
    }
    if (out.empty() || out.size() > max_part) return std::nullopt;
    return out;
}

std::optional<Jid> Jid::from_parts(std::string_view local, std::string_view domain,
                                   std::string_view resource) {
    Jid j;
    if (!local.empty()) {
        auto l = prep_localpart(local);
        if (!l) return std::nullopt;
        j.local_ = std::move(*l);
    }
    auto d = prep_domain(domain);
    if (!d) return std::nullopt;
    j.domain_ = std::move(*d);
    if (!resource.empty()) {
        auto r = prep_resource(resource);
        if (!r) return std::nullopt;
        j.resource_ = std::move(*r);
    }
    return j;
}

std::optional<Jid> Jid::parse(std::string_view text) {
    // RFC 7622 §3.1: the resourcepart is everything after the first '/'; the
    // localpart is what precedes the first '@' before that.
    std::string_view head = text, resource;
    const auto slash = text.find('/');
    if (slash != std::string_view::npos) {
        head = text.substr(0, slash);
        resource = text.substr(slash + 1);
        if (resource.empty()) return std::nullopt;
    }
    std::string_view local, domain = head;
    const auto at = head.find('@');
    if (at != std::string_view::npos) {
        local = head.substr(0, at);
        domain = head.substr(at + 1);
        if (local.empty()) return std::nullopt;
    }
    return from_parts(local, domain, resource);
}

Jid Jid::bare() const {
    Jid j;
    j.local_ = local_;
    j.domain_ = domain_;
    return j;
}

Jid Jid::with_resource(std::string resource) const {
    Jid j = bare();
    j.resource_ = std::move(resource);
    return j;
}

std::string Jid::bare_string() const {
    if (local_.empty()) return domain_;
    std::string s;
    s.reserve(local_.size() + 1 + domain_.size());
    s += local_;
    s += '@';
    s += domain_;
    return s;
}

std::string Jid::to_string() const {
    std::string s = bare_string();
    if (!resource_.empty()) {
        s += '/';
        s += resource_;
    }
    return s;
}

}  // namespace parley::protocol
