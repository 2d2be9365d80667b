#pragma once
// XEP-0092: Software Version, for the server itself: name "Parley" and its version.
// <os/> is left out on purpose (XEP-0092 §4 lets a server omit it): telling everyone
// the operating system only helps attackers pick exploits. Queries to accounts are
// for their clients to answer, not the server.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Version final : public Module {
public:
    std::string_view name() const override { return "version"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
