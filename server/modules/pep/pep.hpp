#pragma once
// XEP-0163: Personal Eventing Protocol, with the parts of XEP-0060 (PubSub) clients use
// on their own account.
// Implemented: publish (§7.1) with auto-create and publish-options as preconditions
// (§7.1.5: a differing option → conflict + precondition-not-met; an unknown option
// likewise; access_model roster/authorize → feature-not-implemented + unsupported);
// item ids generated when absent; one payload per item; items larger than [limits]
// max_pep_item_bytes → not-acceptable + payload-too-big; create (§8.1, with a
// configure form); retract (§7.2, notify); items (§6.5, max_items, item ids; errors
// of §6.5.9: presence-subscription-required, closed-node); owner configure get/set
// (§8.2; a bad form changes nothing), default (§8.3), delete (§8.4), purge (§8.5).
// Access models open, presence (roster subscription 'from' or 'both') and whitelist
// (the owner only). The client's access model is stored as asked, never overridden
// (OMEMO nodes are published open).
// Notifications (§4.3): headline messages from the owner's bare JID to each available
// local resource, the owner's own and those of contacts with a presence subscription
// (unless whitelist), whose verified caps include "<node>+notify"; last published
// items when a contact's available presence reaches the owner and when an own
// resource becomes available (and the items of 'to'-only contacts then), right away
// when its caps ver is known, else when the caps module verifies it.
// persist_items false: items are not written to PostgreSQL; the last one is kept in
// memory only (lost on restart).
// Not implemented: explicit subscriptions, affiliations and whitelists of other JIDs,
// access models roster and authorize, remote subscribers (no federation yet),
// collection nodes, item expiry, disco#items of the nodes.
#include <memory>

#include "server/modules/module.hpp"

namespace parley::server::modules {

namespace pep {
class Service;
}

class Pep final : public Module {
public:
    std::string_view name() const override { return "pep"; }
    void start(ModuleContext& ctx) override;

private:
    std::shared_ptr<pep::Service> service_;
};

}  // namespace parley::server::modules
