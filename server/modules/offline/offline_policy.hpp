#pragma once
// Which undeliverable messages go to offline storage (XEP-0160 §3, with the hints of
// XEP-0334 and XEP-0085 §5.6), and the XEP-0203 stamp they get. Pure functions.
#include <chrono>
#include <string>
#include <string_view>

#include "protocol/namespaces.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::modules::offline {

inline constexpr std::string_view ns_delay = protocol::ns::delay;  // XEP-0203
inline constexpr std::string_view ns_hints = protocol::ns::hints;  // XEP-0334
inline constexpr std::string_view ns_chatstates = "http://jabber.org/protocol/chatstates";  // XEP-0085

// True for a message of type normal (or none) or chat that carries something worth
// keeping: <no-store/> says no; <store/> overrides the payload rule (not the type
// rule); a message with nothing but chat states (and <thread/>) is not stored.
bool should_store(const protocol::xml::Element& message);

// XEP-0082 DateTime in UTC with milliseconds: "2026-11-28T03:46:47.123Z".
std::string utc_stamp(std::chrono::system_clock::time_point t);

// Adds <delay xmlns='urn:xmpp:delay' from='{domain}' stamp='{stamp}'/>.
void add_delay(protocol::xml::Element& message, const std::string& domain, std::string stamp);

}  // namespace parley::server::modules::offline
