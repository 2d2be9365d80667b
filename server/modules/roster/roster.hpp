#pragma once
// RFC 6121 §2: Managing the Roster, with roster versioning (§2.6, the successor of
// XEP-0237). Implemented: roster get (with 'ver': an empty result when the client's
// version is current, else the whole roster with the new version), roster set (add,
// update, remove) with the errors of §2.1.5 and §2.3.3, and roster pushes to every
// interested resource (one that requested the roster this session). The stream feature
// <ver xmlns='urn:xmpp:features:rosterver'/> is offered by c2s negotiation.
// 'subscription', 'ask' and 'approved' change only through the presence subscriptions
// (presence/subscriptions.hpp); removing an item ends its subscriptions (§2.5.2: the
// contact gets unsubscribe and/or unsubscribed, and unavailable presence).
// Not implemented: incremental roster sync by pushes after a stale 'ver' (the whole
// roster is sent instead, which §2.6.3 allows; the store can compute the changes).
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Roster final : public Module {
public:
    std::string_view name() const override { return "roster"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
