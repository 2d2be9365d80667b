#pragma once
// RFC 6121 §4: exchanging presence. A session's available presence sets its
// availability and priority in the session table (which decide bare-JID message
// delivery) and is broadcast to the contacts subscribed to the account ('from' or
// 'both') and to the account's other resources; the first one (initial presence) also
// probes the contacts the account is subscribed to ('to' or 'both') and shows the new
// resource its siblings. Probes are answered with the last presence of each available
// resource (§4.3.2; no answer when none is available). Unavailable presence, sent or
// implied by a dropped connection, goes the same way and also to every entity that got
// directed presence (§4.6) from that session. Presence to a local account is delivered
// to the addressed resource or to all available ones. Available presence carries the
// account's avatar hash (XEP-0398 §4, <x xmlns='vcard-temp:x:update'><photo/>), taken
// from its PEP avatar metadata. Subscription stanzas are the
// subscriptions module's (subscriptions.hpp). Remote contacts wait for federation.
#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Presence final : public Module {
public:
    std::string_view name() const override { return "presence"; }
    void start(ModuleContext& ctx) override;
};

// <priority/> of a presence stanza: -128..127, 0 when absent or invalid.
int presence_priority(const protocol::xml::Element& presence);

namespace presence {
// A bodiless <presence type='type'/> from `from` to `to` (subscription stanzas, probes,
// unavailable), routed so the recipient's filters apply; remote recipients wait for
// federation.
void send_typed(routing::Router& router, std::string_view type, const protocol::Jid& from,
                const protocol::Jid& to);
// The current presence of each available resource of `account`, sent to `contact`
// (a subscriber that was just approved or unblocked).
void send_current_presence(routing::Router& router, const protocol::Jid& account, const protocol::Jid& contact);
// Unavailable presence from each available resource of `account` to `contact` (a
// subscription cancelled, or the contact blocked).
void send_unavailable(routing::Router& router, const protocol::Jid& account, const protocol::Jid& contact);
}  // namespace presence

}  // namespace parley::server::modules
