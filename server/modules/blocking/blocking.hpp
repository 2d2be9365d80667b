#pragma once
// XEP-0191: Blocking Command (version 1.3), kept in PostgreSQL and in memory.
// Implemented: blocklist retrieval, block (one or more items; none → bad-request, an
// invalid JID → jid-malformed and nothing stored), unblock of items or of everything
// (no items), only by the account itself (anyone else: forbidden); pushes of each
// <block/>/<unblock/> to every resource of the account that has retrieved the
// blocklist in its session (the one that made the change included, as with roster
// pushes); XEP-0016 JID matching (full, bare, domain/resource, domain). Inbound from a
// blocked JID: message and iq get/set → service-unavailable (the user looks offline),
// presence and iq result/error dropped. Outbound to a blocked JID: message and iq
// get/set → <not-acceptable/> with <blocked xmlns='urn:xmpp:blocking:errors'/>;
// presence and answers (iq result/error, error messages) dropped silently. Stanzas
// between an account and itself or its server are never blocked. On block, each
// available resource sends unavailable presence to the newly blocked contacts that
// are subscribed to the account's presence (roster subscription from/both, §3.3);
// on unblock, those contacts get the current presence of each available resource.
// The presence code asks ModuleContext::is_blocked for its broadcasts.
// Disco: 'urn:xmpp:blocking' on the server (§3.1: clients ask their server).
// Start-up: every account's list is read once with a blocking Database::run_sync in
// start(), before any session exists, so that the synchronous checks never wait for
// storage; after that, each change is applied to memory on the database thread right
// after its transaction commits, in the account's write order.
// Not implemented: presence to entities that got directed presence but have no
// subscription; XEP-0016 privacy lists (not offered, so no shared store is needed);
// remote domains (no federation yet).
#include <memory>

#include "server/modules/module.hpp"

namespace parley::server::modules {

namespace blocking {
struct Shared;
}

class Blocking final : public Module {
public:
    Blocking();
    ~Blocking() override;
    std::string_view name() const override { return "blocking"; }
    void start(ModuleContext& ctx) override;

private:
    std::unique_ptr<blocking::Shared> shared_;
};

}  // namespace parley::server::modules
