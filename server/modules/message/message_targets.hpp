#pragma once
// RFC 6121 §8.5 as a pure decision: given a message's address and type and the
// recipient account's resources, which resources get it. Shared by delivery and by
// carbons (XEP-0280), which copies to the resources that do not get the original.
#include <cstddef>
#include <string_view>
#include <vector>

#include "protocol/jid.hpp"
#include "server/routing/session_registry.hpp"

namespace parley::server::modules {

struct MessagePlan {
    enum class Action {
        deliver,        // to `targets`
        bounce,         // service-unavailable to the sender (groupchat nobody can take)
        drop,           // silently (headline or error nobody can take)
        undeliverable,  // nobody available: the MessageUndeliverable chain decides
    };
    Action action = Action::drop;
    std::vector<std::size_t> targets;  // indices into the resources given
};

// `to` is the prepared 'to' (full or bare); `type` the message's 'type' ("" = normal).
// A full JID that is bound takes the message whatever its presence; otherwise chat and
// normal fall back to the bare JID, groupchat bounces, headline and error are dropped.
// To the bare JID: the available resources of the highest non-negative priority
// (headline: every non-negative one); none → undeliverable (error: dropped; groupchat:
// bounced).
MessagePlan plan_message_delivery(const protocol::Jid& to, std::string_view type,
                                  const std::vector<routing::ResourceEntry>& resources);

}  // namespace parley::server::modules
