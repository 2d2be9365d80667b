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
// Conversions (conversions.cpp): XEP-0398 avatars between PEP and the vCard PHOTO,
// both ways; XEP-0402 §5.3 bookmarks kept the same in urn:xmpp:bookmarks:1, the
// XEP-0048 PEP node storage:bookmarks and private XML storage (XEP-0411), whichever
// the client writes; features urn:xmpp:pep-vcard-conversion:0,
// urn:xmpp:bookmarks:1#compat, #compat-pep and urn:xmpp:bookmarks-conversion:0.
// XEP-0048 bookmarks a client kept in private storage before the conversions existed
// reach PEP when the account first reads a bookmarks node (XEP-0411 §4). Not done: a
// vCard or PEP avatar stored before the conversions existed (converted at its next
// change); XEP-0398 §4 avatar hashes in presence (the presence module's part).
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
