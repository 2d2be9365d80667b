#pragma once
// XEP-0280: Message Carbons 1.0 (urn:xmpp:carbons:2), with XEP-0334's <no-copy/> hint.
// Implemented: enable/disable per session (to the own bare JID, or to the server);
// <received/> copies of messages to the account for every other available,
// carbons-enabled resource that does not get the original (RFC 6121 §8.5, the same
// plan as delivery); <sent/> copies of messages a resource sends for the account's
// other available, carbons-enabled resources; <private/> and <no-copy/> are not copied
// and <private/> is removed before delivery; the disco feature.
// Not implemented: copies of errors answering copied messages (§6 says that needs
// tracking most servers do not do); no copies of messages nobody receives (stored
// offline or bounced).
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Carbons final : public Module {
public:
    std::string_view name() const override { return "carbons"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
