#pragma once
// What goes into a message archive (XEP-0313 §7) and the text forms MAM uses: archive
// ids (XEP-0359 stanza-ids, RSM ids) and XEP-0082 DateTimes. Pure functions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/namespaces.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::modules::mam {

inline constexpr std::string_view ns_mam = protocol::ns::mam;
inline constexpr std::string_view ns_sid = protocol::ns::sid;  // XEP-0359
inline constexpr std::string_view ns_rsm = protocol::ns::rsm;  // XEP-0059

// A 1:1 message worth archiving: type chat or normal with content (a body, an
// encrypted payload, a receipt…), not only chat states; not marked <no-store/> or
// <no-permanent-store/> (XEP-0334); not itself a carbon copy or an archive result.
bool should_archive(const protocol::xml::Element& message);

// XEP-0082 DateTime ("2026-11-28T06:28:22Z", with optional fraction and an offset
// such as "+02:00") → Unix microseconds; nullopt when malformed.
std::optional<std::int64_t> parse_datetime(std::string_view text);
// Unix microseconds → "2026-11-28T06:28:22.123456Z".
std::string format_datetime(std::int64_t unix_us);

// The archive's decision for one account (XEP-0313 §6 preferences).
enum class Decision { archive, skip, ask_roster };
struct Prefs {
    std::string default_mode = "always";  // always | never | roster
    std::vector<std::string> always;      // bare JIDs
    std::vector<std::string> never;
};
Decision decide(const Prefs& prefs, std::string_view other_bare);

}  // namespace parley::server::modules::mam
