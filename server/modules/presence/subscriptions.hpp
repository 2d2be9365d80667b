#pragma once
// RFC 6121 §3: managing presence subscriptions. Subscription stanzas a user sends
// (subscribe, subscribed, unsubscribe, unsubscribed with a 'to') go through the
// outbound table of Appendix A.2 on the user's roster, then, stamped with the user's
// bare JID, to the contact; those a local account receives go through the inbound table
// (A.3). State lives in the roster item (subscription, ask, approved: pre-approval of
// §3.4, advertised with the stream feature urn:xmpp:features:pre-approval) and in a
// table of pending inbound requests, redelivered when the user next becomes available.
// Every change is pushed to the interested resources. The pure tables are
// subscription_state.hpp.
#include <memory>

#include "server/modules/module.hpp"

namespace parley::server::modules {

namespace presence {
class PendingIndex;
}

class Subscriptions final : public Module {
public:
    std::string_view name() const override { return "subscriptions"; }
    void start(ModuleContext& ctx) override;

private:
    std::shared_ptr<presence::PendingIndex> index_;
};

}  // namespace parley::server::modules
