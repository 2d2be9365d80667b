#pragma once
// The part of RFC 6121 §4 the session table needs: a session's own presence sets its
// availability and priority (which decide bare-JID message delivery), and directed
// presence reaches local resources. Roster broadcast and subscriptions: not yet.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class PresenceBasic final : public Module {
public:
    std::string_view name() const override { return "presence"; }
    void start(ModuleContext& ctx) override;
};

// <priority/> of a presence stanza: -128..127, 0 when absent or invalid.
int presence_priority(const protocol::xml::Element& presence);

}  // namespace parley::server::modules
