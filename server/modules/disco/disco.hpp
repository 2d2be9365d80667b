#pragma once
// XEP-0030: Service Discovery 2.5. disco#info and disco#items of the server, listing
// exactly the identities, features and XEP-0128 forms the started modules registered;
// the server's own XEP-0115 caps (<c/> in the stream features, computed here because
// Disco starts last, and the same info answered at node#ver); disco#info and
// disco#items of a local account's bare JID, answered by the server (§3.1,
// account/registered). Other nodes: item-not-found.
//
// Who may ask about an account (§8 Security Considerations): the account itself, and
// entities it shares presence with (a subscription of 'from' or 'both' in its roster).
// Everyone else, and anyone asking about an account that does not exist, gets
// service-unavailable, the same answer in both cases, so that disco cannot be used to
// learn which accounts exist (directory harvesting). Prosody and ejabberd behave the
// same way, so clients already expect service-unavailable from strangers' accounts.
#include "server/modules/module.hpp"

namespace parley::server::modules {

// The 'node' of the server's caps (XEP-0115 §6.3); disco#info at "<node>#<ver>" answers
// the same as plain disco#info.
inline constexpr std::string_view server_caps_node = "https://parley.example/caps";

class Disco final : public Module {
public:
    std::string_view name() const override { return "disco"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
