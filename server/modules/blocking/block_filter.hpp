#pragma once
// XEP-0191 enforcement on the stanza pipeline: stanzas from blocked JIDs to a user
// (StanzaToUser) and from a user to JIDs it blocks (StanzaFromClient).
#include "server/modules/blocking/block_list.hpp"
#include "server/modules/module.hpp"

namespace parley::server::modules::blocking {

inline constexpr std::string_view ns_blocking = "urn:xmpp:blocking";
inline constexpr std::string_view ns_blocking_errors = "urn:xmpp:blocking:errors";

// The error a user gets for a stanza to a JID it blocks (XEP-0191 §3.3).
protocol::StanzaError blocked_error();

// Adds both filters at priority::filter; `list` must outlive the hooks.
void install_filters(ModuleContext& ctx, const BlockList& list);

}  // namespace parley::server::modules::blocking
