#pragma once
// Roster pushes (RFC 6121 §2.1.6), shared by the roster module and the presence
// subscriptions, which change items too.
#include <cstdint>

#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"
#include "server/routing/router.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules::roster {

// Sends `item` (an <item/> element) in a roster push of `version` to every interested
// resource of `owner` (one that requested the roster in this session).
void push(routing::Router& router, const protocol::Jid& owner, std::int64_t version,
          const protocol::xml::Element& item);
// The same for a stored item.
void push(routing::Router& router, const protocol::Jid& owner, const storage::roster_store::Item& item);

}  // namespace parley::server::modules::roster
