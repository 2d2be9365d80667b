// PRECIS (RFC 8264) string classes and the two RFC 8265 profiles we need, on ICU.
//
// The derived property follows RFC 8264 §8 in order: exceptions, unassigned, ASCII7,
// join controls, old Hangul jamo, ignorables, controls, HasCompat, letters/digits,
// other letters/digits, spaces, symbols, punctuation. The bidi rule of
// UsernameCaseMapped is not applied: it only constrains right-to-left usernames,
// and the comparison stays stable without it.
#include "protocol/precis.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <cstdint>

namespace parley::protocol::precis {
namespace {

using U16 = std::u16string;

enum class StringClass { identifier, freeform };
enum class Prop { pvalid, contextj, contexto, disallowed };

const UNormalizer2* nfc_instance() {
    UErrorCode ec = U_ZERO_ERROR;
    return unorm2_getNFCInstance(&ec);
}
const UNormalizer2* nfkc_instance() {
    UErrorCode ec = U_ZERO_ERROR;
    return unorm2_getNFKCInstance(&ec);
}

std::optional<U16> to_utf16(std::string_view s) {
    if (!is_valid_utf8(s)) return std::nullopt;
    U16 out(s.size(), u'\0');  // never more UTF-16 units than UTF-8 bytes
    int32_t len = 0;
    UErrorCode ec = U_ZERO_ERROR;
    u_strFromUTF8(out.data(), static_cast<int32_t>(out.size()), &len, s.data(),
                  static_cast<int32_t>(s.size()), &ec);
    if (U_FAILURE(ec)) return std::nullopt;
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::optional<std::string> to_utf8(const U16& s) {
    std::string out(s.size() * 3, '\0');
    int32_t len = 0;
    UErrorCode ec = U_ZERO_ERROR;
    u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len, s.data(),
                static_cast<int32_t>(s.size()), &ec);
    if (U_FAILURE(ec)) return std::nullopt;
    out.resize(static_cast<std::size_t>(len));
    return out;
}

// Runs an ICU "preflight, then fill" string function.
template <typename Fn>
std::optional<U16> icu_transform(const U16& in, Fn fn) {
    UErrorCode ec = U_ZERO_ERROR;
    U16 out(in.size() + 8, u'\0');
    int32_t len = fn(out.data(), static_cast<int32_t>(out.size()), &ec);
    if (ec == U_BUFFER_OVERFLOW_ERROR) {
        ec = U_ZERO_ERROR;
        out.assign(static_cast<std::size_t>(len), u'\0');
        len = fn(out.data(), len, &ec);
    }
    if (U_FAILURE(ec)) return std::nullopt;
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::optional<U16> nfc(const U16& s) {
    const UNormalizer2* n = nfc_instance();
    UErrorCode ec = U_ZERO_ERROR;
    if (unorm2_isNormalized(n, s.data(), static_cast<int32_t>(s.size()), &ec) && U_SUCCESS(ec))
        return s;
    return icu_transform(s, [&](UChar* dst, int32_t cap, UErrorCode* e) {
        return unorm2_normalize(n, s.data(), static_cast<int32_t>(s.size()), dst, cap, e);
    });
}

std::optional<U16> to_lower(const U16& s) {
    return icu_transform(s, [&](UChar* dst, int32_t cap, UErrorCode* e) {
        return u_strToLower(dst, cap, s.data(), static_cast<int32_t>(s.size()), "", e);
    });
}

std::u32string code_points(const U16& s) {
    std::u32string cps;
    for (int32_t i = 0, n = static_cast<int32_t>(s.size()); i < n;) {
        UChar32 c;
        U16_NEXT(s.data(), i, n, c);
        cps.push_back(static_cast<char32_t>(c));
    }
    return cps;
}

// RFC 8265 §3.3.1 step 1: fullwidth and halfwidth forms become their decomposition.
U16 map_width(const U16& s) {
    const UNormalizer2* nfkc = nfkc_instance();
    U16 out;
    for (char32_t c : code_points(s)) {
        auto dt = u_getIntPropertyValue(static_cast<UChar32>(c), UCHAR_DECOMPOSITION_TYPE);
        if (dt == U_DT_WIDE || dt == U_DT_NARROW) {
            UChar buf[16];
            UErrorCode ec = U_ZERO_ERROR;
            int32_t len = unorm2_getDecomposition(nfkc, static_cast<UChar32>(c), buf, 16, &ec);
            if (U_SUCCESS(ec) && len > 0) {
                out.append(buf, static_cast<std::size_t>(len));
                continue;
            }
        }
        UChar buf[2];
        int32_t len = 0;
        U16_APPEND_UNSAFE(buf, len, static_cast<UChar32>(c));
        out.append(buf, static_cast<std::size_t>(len));
    }
    return out;
}

// RFC 8265 §4.2.1: non-ASCII spaces become U+0020.
U16 map_spaces(const U16& s) {
    U16 out = s;
    for (auto& u : out)  // every Zs code point is in the BMP
        if (u != u' ' && u_charType(u) == U_SPACE_SEPARATOR) u = u' ';
    return out;
}

// RFC 5892 §2.6 exceptions (F), shared by PRECIS.
std::optional<Prop> exception(char32_t c) {
    switch (c) {
    case 0x00DF: case 0x03C2: case 0x06FD: case 0x06FE: case 0x0F0B: case 0x3007:
        return Prop::pvalid;
    case 0x00B7: case 0x0375: case 0x05F3: case 0x05F4: case 0x30FB:
        return Prop::contexto;
    case 0x0640: case 0x07FA: case 0x302E: case 0x302F: case 0x303B:
        return Prop::disallowed;
    default: break;
    }
    if ((c >= 0x0660 && c <= 0x0669) || (c >= 0x06F0 && c <= 0x06F9)) return Prop::contexto;
    if (c >= 0x3031 && c <= 0x3035) return Prop::disallowed;
    return std::nullopt;
}

bool has_compat(char32_t c) {  // toNFKC(cp) != cp
    UChar buf[2];
    int32_t len = 0;
    U16_APPEND_UNSAFE(buf, len, static_cast<UChar32>(c));
    UErrorCode ec = U_ZERO_ERROR;
    UBool normalized = unorm2_isNormalized(nfkc_instance(), buf, len, &ec);
    return U_FAILURE(ec) || !normalized;
}

Prop derive(char32_t cp, StringClass cls) {
    const auto c = static_cast<UChar32>(cp);
    if (auto e = exception(cp)) return *e;
    const int8_t type = u_charType(c);
    if (type == U_UNASSIGNED) return Prop::disallowed;  // also noncharacters
    if (cp >= 0x21 && cp <= 0x7E) return Prop::pvalid;
    if (u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL)) return Prop::contextj;
    const auto hst = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
    if (hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO || hst == U_HST_TRAILING_JAMO)
        return Prop::disallowed;
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
        u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT))
        return Prop::disallowed;
    if (type == U_CONTROL_CHAR) return Prop::disallowed;
    const Prop free_only = cls == StringClass::freeform ? Prop::pvalid : Prop::disallowed;
    if (has_compat(cp)) return free_only;
    switch (type) {
    case U_LOWERCASE_LETTER: case U_UPPERCASE_LETTER: case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER: case U_MODIFIER_LETTER: case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
        return Prop::pvalid;
    case U_TITLECASE_LETTER: case U_LETTER_NUMBER: case U_OTHER_NUMBER:
    case U_ENCLOSING_MARK: case U_SPACE_SEPARATOR: case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL: case U_MODIFIER_SYMBOL: case U_OTHER_SYMBOL:
    case U_CONNECTOR_PUNCTUATION: case U_DASH_PUNCTUATION: case U_START_PUNCTUATION:
    case U_END_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
        return free_only;
    default:
        return Prop::disallowed;
    }
}

UScriptCode script_of(char32_t c) {
    UErrorCode ec = U_ZERO_ERROR;
    return uscript_getScript(static_cast<UChar32>(c), &ec);
}

int joining_type(char32_t c) {
    return u_getIntPropertyValue(static_cast<UChar32>(c), UCHAR_JOINING_TYPE);
}

// ZWNJ without a virama: (L|D) T* ZWNJ T* (R|D), RFC 5892 Appendix A.1.
bool zwnj_joins(const std::u32string& s, std::size_t i) {
    std::size_t b = i;
    while (b > 0 && joining_type(s[b - 1]) == U_JT_TRANSPARENT) --b;
    if (b == 0) return false;
    const int before = joining_type(s[b - 1]);
    if (before != U_JT_LEFT_JOINING && before != U_JT_DUAL_JOINING) return false;
    std::size_t a = i + 1;
    while (a < s.size() && joining_type(s[a]) == U_JT_TRANSPARENT) ++a;
    if (a == s.size()) return false;
    const int after = joining_type(s[a]);
    return after == U_JT_RIGHT_JOINING || after == U_JT_DUAL_JOINING;
}

// RFC 5892 Appendix A rules for CONTEXTJ and CONTEXTO code points.
bool context_ok(const std::u32string& s, std::size_t i) {
    const char32_t c = s[i];
    const char32_t before = i > 0 ? s[i - 1] : 0;
    const char32_t after = i + 1 < s.size() ? s[i + 1] : 0;
    const bool virama_before = i > 0 && u_getCombiningClass(static_cast<UChar32>(before)) == 9;
    switch (c) {
    case 0x200C: return virama_before || zwnj_joins(s, i);
    case 0x200D: return virama_before;
    case 0x00B7: return before == 0x6C && after == 0x6C;
    case 0x0375: return after != 0 && script_of(after) == USCRIPT_GREEK;
    case 0x05F3: case 0x05F4: return i > 0 && script_of(before) == USCRIPT_HEBREW;
    case 0x30FB:
        for (char32_t x : s) {
            auto sc = script_of(x);
            if (sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA || sc == USCRIPT_HAN) return true;
        }
        return false;
    default: break;
    }
    if (c >= 0x0660 && c <= 0x0669) {
        for (char32_t x : s)
            if (x >= 0x06F0 && x <= 0x06F9) return false;
        return true;
    }
    if (c >= 0x06F0 && c <= 0x06F9) {
        for (char32_t x : s)
            if (x >= 0x0660 && x <= 0x0669) return false;
        return true;
    }
    return false;
}

bool conforms(const U16& s, StringClass cls) {
    const std::u32string cps = code_points(s);
    for (std::size_t i = 0; i < cps.size(); ++i) {
        switch (derive(cps[i], cls)) {
        case Prop::pvalid: break;
        case Prop::contextj:
        case Prop::contexto:
            if (!context_ok(cps, i)) return false;
            break;
        case Prop::disallowed: return false;
        }
    }
    return true;
}

}  // namespace

bool is_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

bool is_valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    for (std::size_t i = 0; i < n;) {
        const unsigned char c = p[i];
        if (c < 0x80) { ++i; continue; }
        std::size_t len;
        char32_t cp, min;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

std::optional<std::string> username_case_mapped(std::string_view s) {
    if (s.empty()) return std::nullopt;
    if (is_ascii(s)) {
        // Only printable ASCII is valid in IdentifierClass; lower-casing is all the
        // mapping ASCII needs.
        std::string out(s);
        for (char& c : out) {
            if (c < 0x21 || c > 0x7E) return std::nullopt;
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        return out;
    }
    auto u = to_utf16(s);
    if (!u) return std::nullopt;
    auto lowered = to_lower(map_width(*u));
    if (!lowered) return std::nullopt;
    auto normalized = nfc(*lowered);
    if (!normalized || normalized->empty() || !conforms(*normalized, StringClass::identifier))
        return std::nullopt;
    return to_utf8(*normalized);
}

std::optional<std::string> opaque_string(std::string_view s) {
    if (s.empty()) return std::nullopt;
    if (is_ascii(s)) {
        for (char c : s)
            if (c < 0x20 || c > 0x7E) return std::nullopt;
        return std::string(s);
    }
    auto u = to_utf16(s);
    if (!u) return std::nullopt;
    auto normalized = nfc(map_spaces(*u));
    if (!normalized || normalized->empty() || !conforms(*normalized, StringClass::freeform))
        return std::nullopt;
    return to_utf8(*normalized);
}

}  // namespace parley::protocol::precis
