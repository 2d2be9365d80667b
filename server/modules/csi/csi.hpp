#pragma once
// XEP-0352: Client State Indication 1.0 (urn:xmpp:csi:0). This module advertises the
// stream feature after authentication; the client session itself (server/c2s/) takes
// <active/> and <inactive/> and, while inactive, holds presence updates in a
// csi::PresenceHold: the latest per sender, sent in order when the client is active
// again, before a message or other presence from the same sender, or all at once when
// more than [limits] max_csi_held_presences are held. Messages, iq and everything else
// go out at once. A session starts active; what is held is dropped with the session.
// Not implemented: holding or dropping other traffic (chat states, PEP), push.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class ClientStateIndication final : public Module {
public:
    std::string_view name() const override { return "csi"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
