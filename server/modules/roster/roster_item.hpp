#pragma once
// The pure half of the roster (RFC 6121 §2): checking a client's roster set and
// writing items as XML. No I/O, so every rule is unit-tested on its own.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules::roster {

inline constexpr std::string_view ns_roster = "jabber:iq:roster";
// RFC 6121 §2.6.1: the stream feature that advertises roster versioning.
inline constexpr std::string_view ns_rosterver = "urn:xmpp:features:rosterver";

// Our limits for the "server-configured limit" of RFC 6121 §2.3.3 (bytes of UTF-8).
inline constexpr std::size_t max_name_bytes = 1023;
inline constexpr std::size_t max_group_bytes = 1023;
inline constexpr std::size_t max_groups = 64;

// A checked roster set: one item to create/update, or to remove.
struct RosterSet {
    protocol::Jid jid;
    bool remove = false;
    std::optional<std::string> name;  // an empty name counts as none
    std::vector<std::string> groups;
};

// Checks the <query xmlns='jabber:iq:roster'/> of a roster set sent by `owner` (any
// JID of the account). The errors are those of RFC 6121 §2.1.5 and §2.3.3.
std::variant<RosterSet, protocol::StanzaError> parse_roster_set(const protocol::xml::Element& query,
                                                                const protocol::Jid& owner);

// <item jid='' name='' subscription='' [ask='subscribe'] [approved='true']><group/>…</item>
protocol::xml::Element item_element(const storage::roster_store::Item& item);
// <item jid='' subscription='remove'/>
protocol::xml::Element removed_item_element(const std::string& jid);

// A client's 'ver' as one of our versions; nullopt when it is not one ("" or junk).
std::optional<std::int64_t> parse_version(std::string_view ver);

}  // namespace parley::server::modules::roster
