#pragma once
// XEP-0012: Last Activity. A query to the domain answers the seconds since the server
// started (§6, uptime). A query to an account's bare JID (§4, offline user query)
// answers the seconds since its last logout (its last available resource went away)
// with the <status/> of that unavailable presence; 0 while a resource is available.
// Allowed for the account itself and for contacts with a 'from' or 'both' subscription
// (§8), otherwise forbidden; item-not-found for an account that never logged out.
// Not implemented: idle time of a full JID (§5), which clients answer themselves.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class LastActivity final : public Module {
public:
    std::string_view name() const override { return "last"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
