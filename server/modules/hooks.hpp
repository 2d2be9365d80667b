#pragma once
// The hook catalog: every point where modules plug into the stanza pipeline, the
// order in which they run, and what stopping the chain means. Hooks are synchronous
// and run on the I/O thread that holds the stanza; a hook that needs storage queues a
// write or uses state it already holds.
#include <algorithm>
#include <functional>
#include <vector>

#include "server/routing/stanza.hpp"

namespace parley::server::modules {

enum class HookResult { pass, stop };

// Named priorities, highest runs first: the whole pipeline order in one place.
namespace priority {
inline constexpr int filter = 1000;   // blocking, rate limits, privacy
inline constexpr int archive = 600;   // XEP-0313: stamps stanza-id (before carbons copy it), queues the row
inline constexpr int carbons = 500;   // XEP-0280 copies
inline constexpr int offline = 100;   // XEP-0160: stores what could not be delivered
inline constexpr int deliver = 0;     // the final delivery handler
}  // namespace priority

template <class Event>
class HookChain {
public:
    using Handler = std::function<HookResult(Event&)>;
    void add(int priority, Handler h) {
        auto pos = std::find_if(handlers_.begin(), handlers_.end(),
                                [&](const auto& e) { return e.first < priority; });
        handlers_.insert(pos, {priority, std::move(h)});
    }
    // Runs handlers in priority order until one stops the chain.
    HookResult run(Event& e) const {
        for (const auto& [prio, h] : handlers_) {
            if (h(e) == HookResult::stop) return HookResult::stop;
        }
        return HookResult::pass;
    }
    bool empty() const { return handlers_.empty(); }

private:
    std::vector<std::pair<int, Handler>> handlers_;
};

// A client's stanza, after its stream stamped 'from' and before routing.
// Stop: the stanza is dropped (the hook answered it if an answer was due).
struct StanzaFromClient { routing::Stanza& stanza; };
// Any stanza addressed to a local account (bare or full JID) from anyone but the
// account itself, before it is dispatched by kind. Stop: dropped (the hook answered it
// if an answer was due). Blocking (XEP-0191) filters here.
struct StanzaToUser { routing::Stanza& stanza; };
// A message addressed to a local account (bare or full JID). The last handler
// (deliver) applies RFC 6121 §8.5. Stop: handled.
struct MessageToUser { routing::Stanza& stanza; };
// A message no available resource could take. The default answers
// service-unavailable; offline storage stops the chain after storing it.
struct MessageUndeliverable { routing::Stanza& stanza; };
// Presence with a 'to' addressed to a local account.
struct PresenceToUser { routing::Stanza& stanza; };
// Presence without 'to' from a local session: availability and broadcast.
struct PresenceBroadcast { routing::Stanza& stanza; };
// A session became available: its first available presence since it bound, or since
// it last sent unavailable. Runs after the presence was broadcast. Offline messages
// (XEP-0160) are delivered here.
struct SessionAvailable { const protocol::Jid& jid; std::uint64_t session_id; const protocol::xml::Element& presence; };
// A session is gone (logout, disconnect, conflict): `jid` is its full JID.
struct SessionClosed { const protocol::Jid& jid; std::uint64_t session_id; bool was_available; };

struct Hooks {
    HookChain<StanzaFromClient> stanza_from_client;
    HookChain<StanzaToUser> stanza_to_user;
    HookChain<MessageToUser> message_to_user;
    HookChain<MessageUndeliverable> message_undeliverable;
    HookChain<PresenceToUser> presence_to_user;
    HookChain<PresenceBroadcast> presence_broadcast;
    HookChain<SessionAvailable> session_available;
    HookChain<SessionClosed> session_closed;
};

}  // namespace parley::server::modules
