#pragma once
// XEP-0030: Service Discovery. disco#info and disco#items of the server, listing
// exactly the features the started modules registered; disco#info of an account's
// bare JID, answered by the server to the account itself (others: issue of presence
// subscriptions, not yet). Nodes are not supported (item-not-found).
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Disco final : public Module {
public:
    std::string_view name() const override { return "disco"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
