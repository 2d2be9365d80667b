#include "server/modules/message/message_delivery.hpp"

#include "server/modules/message/message_targets.hpp"
#include "server/routing/router.hpp"

namespace parley::server::modules {

using protocol::StanzaErrorCondition;

void MessageDelivery::start(ModuleContext& ctx) {
    auto& router = ctx.router();
    auto& hooks = ctx.hooks();
    hooks.message_to_user.add(priority::deliver, [&router, &hooks](MessageToUser& ev) {
        routing::Stanza& s = ev.stanza;
        // The common case, a bound full JID, without copying the account's resources
        // (plan_message_delivery decides the same).
        if (s.to.has_resource()) {
            if (auto ref = router.sessions().find(s.to)) {
                ref->deliver(std::move(s.el));
                return HookResult::stop;
            }
        }
        const auto resources = router.sessions().resources(s.to);
        const MessagePlan plan = plan_message_delivery(s.to, s.el.attr("type"), resources);
        switch (plan.action) {
            case MessagePlan::Action::deliver:
                for (const std::size_t i : plan.targets) resources[i].ref.deliver(s.el);
                break;
            case MessagePlan::Action::bounce:
                router.bounce(s, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
                break;
            case MessagePlan::Action::undeliverable: {
                MessageUndeliverable undeliverable{s};
                hooks.message_undeliverable.run(undeliverable);
                break;
            }
            case MessagePlan::Action::drop:
                break;
        }
        return HookResult::stop;
    });
    // Lowest priority: nothing stored the message, so the sender learns it was not delivered.
    hooks.message_undeliverable.add(priority::deliver, [&router](MessageUndeliverable& ev) {
        const std::string_view type = ev.stanza.el.attr("type");
        if (type != "headline" && type != "error") {
            router.bounce(ev.stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        }
        return HookResult::stop;
    });
}

}  // namespace parley::server::modules
