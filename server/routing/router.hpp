#pragma once
// Chooses where a stanza goes by its destination (RFC 6120 §10): a local account, the
// server itself, or a remote domain. Callable from any I/O thread.
#include "protocol/errors.hpp"
#include "server/config.hpp"
#include "server/modules/hooks.hpp"
#include "server/routing/iq_dispatcher.hpp"
#include "server/routing/session_registry.hpp"
#include "server/routing/stanza.hpp"

namespace parley::server::routing {

class Router {
public:
    Router(const Config& config, SessionRegistry& sessions, modules::Hooks& hooks, IqDispatcher& iq);

    // Routes a stanza whose 'from' is trusted. A missing 'to' means the sender's own
    // account for message and iq, and a broadcast for presence.
    void route(Stanza stanza);

    // Sends the error reply for `stanza` back to its sender, unless the stanza is
    // itself an error (RFC 6120 §8.3.1: never answer an error with an error).
    void bounce(const Stanza& stanza, protocol::StanzaError error);

    // Delivers to one bound local resource; false when it is not bound.
    bool deliver_to_resource(const protocol::Jid& full, protocol::xml::Element el);

    bool is_local_domain(const std::string& domain) const { return config_.serves(domain); }
    SessionRegistry& sessions() { return sessions_; }

private:
    void route_to_server(Stanza stanza);
    void route_to_account(Stanza stanza);

    const Config& config_;
    SessionRegistry& sessions_;
    modules::Hooks& hooks_;
    IqDispatcher& iq_;
};

}  // namespace parley::server::routing
