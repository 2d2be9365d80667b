#include "server/modules/mam/mam_policy.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "server/modules/mam/mam.hpp"
#include "server/modules/offline/offline_policy.hpp"

namespace parley::server::modules {

namespace mam {

using protocol::xml::Element;

bool should_archive(const Element& message) {
    if (message.find_child("no-permanent-store", protocol::ns::hints)) return false;
    if (message.find_child("result", ns_mam)) return false;
    if (message.find_child_ns(protocol::ns::carbons)) return false;  // the copy's original is archived
    return offline::should_store(message);  // type, <no-store/>, <store/>, chat states
}

namespace {

// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t& pos, int n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (int i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return false;
        out = out * 10 + (c - '0');
    }
    pos += n;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const int yoe = y - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return std::int64_t{era} * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

}  // namespace

std::optional<std::int64_t> parse_datetime(std::string_view s) {
    std::size_t pos = 0;
    int y, mo, d, h, mi, sec;
    if (!digits(s, pos, 4, y) || !expect(s, pos, '-') || !digits(s, pos, 2, mo) || !expect(s, pos, '-') ||
        !digits(s, pos, 2, d) || !expect(s, pos, 'T') || !digits(s, pos, 2, h) || !expect(s, pos, ':') ||
        !digits(s, pos, 2, mi) || !expect(s, pos, ':') || !digits(s, pos, 2, sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::int64_t micros = 0;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int n = 0;
        while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
            if (n < 6) micros = micros * 10 + (s[pos] - '0');
            ++n;
            ++pos;
        }
        if (n == 0) return std::nullopt;
        for (int i = n; i < 6; ++i) micros *= 10;
    }
    int offset_minutes = 0;
    if (pos < s.size() && s[pos] == 'Z') {
        ++pos;
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
        const int sign = s[pos] == '-' ? -1 : 1;
        ++pos;
        int oh, om;
        if (!digits(s, pos, 2, oh) || !expect(s, pos, ':') || !digits(s, pos, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        offset_minutes = sign * (oh * 60 + om);
    } else {
        return std::nullopt;  // XEP-0082: a DateTime carries its zone
    }
    if (pos != s.size()) return std::nullopt;
    const std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
    return secs * 1'000'000 + micros;
}

std::string format_datetime(std::int64_t unix_us) {
    std::int64_t secs = unix_us / 1'000'000;
    std::int64_t micros = unix_us % 1'000'000;
    if (micros < 0) {
        micros += 1'000'000;
        --secs;
    }
    const std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
    return buf;
}

Decision decide(const Prefs& prefs, std::string_view other_bare) {
    auto listed = [&](const std::vector<std::string>& list) {
        return std::find(list.begin(), list.end(), other_bare) != list.end();
    };
    // XEP-0313 §6.1: <never/> wins over <always/>, and both over the default.
    if (listed(prefs.never)) return Decision::skip;
    if (listed(prefs.always)) return Decision::archive;
    if (prefs.default_mode == "never") return Decision::skip;
    if (prefs.default_mode == "roster") return Decision::ask_roster;
    return Decision::archive;
}

std::string id_text(std::int64_t id) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
    return buf;
}

std::optional<std::int64_t> parse_id(std::string_view text) {
    if (text.size() != 16) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : text) {
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else return std::nullopt;
        v = v << 4 | static_cast<unsigned>(d);
    }
    if (v > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v);
}

void stamp_stanza_id(Element& message, std::int64_t id, const std::string& by) {
    auto& children = message.children();
    std::erase_if(children, [&](const Element& c) {
        return !c.is_text() && c.name() == "stanza-id" && c.xmlns() == ns_sid && c.attr("by") == by;
    });
    Element sid("stanza-id", std::string(ns_sid));
    sid.set_attr("id", id_text(id));
    sid.set_attr("by", by);
    message.add_child(std::move(sid));
}

}  // namespace mam
}  // namespace parley::server::modules
