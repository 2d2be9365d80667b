#pragma once
// XEP-0199: XMPP Ping. The server answers pings to itself and, on behalf of an
// account, to its bare JID. (Server-initiated pings of clients: not implemented.)
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Ping final : public Module {
public:
    std::string_view name() const override { return "ping"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
