#pragma once
// XEP-0012: Last Activity, for the server only: a query to the domain answers the
// seconds since the server started (§6, uptime). Not implemented: an account's last
// activity (§4, the time since its last logout, which needs storage) — queries to
// accounts get no answer from this module.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class LastActivity final : public Module {
public:
    std::string_view name() const override { return "last"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
