#pragma once
// XEP-0054: vcard-temp, kept in PostgreSQL.
// Implemented: an account sets its own vCard (no 'to', or its own bare JID) — another
// account's → forbidden; a vCard larger than [limits] max_vcard_bytes → not-acceptable
// and the old one stays. Anyone may get an account's vCard from its bare JID; the
// server answers, never the account's resources (§3.3). When there is none: the owner
// gets an empty <vCard/> result (§3.1 allows that or item-not-found; clients treat
// empty as "no vCard yet" and then publish), anyone else service-unavailable (§3.3
// requires an error there, and service-unavailable does not tell whether the account
// exists). Disco: 'vcard-temp' on the server and on accounts.
// Not implemented: a vCard of the server itself (an iq to the domain gets the
// router's service-unavailable, which §3.3 allows for "no vCard"); content checks of
// the vCard (stored as sent); XEP-0153 avatar hashes in presence.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class VCard final : public Module {
public:
    std::string_view name() const override { return "vcard"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
