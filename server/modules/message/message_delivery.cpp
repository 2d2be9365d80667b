#include "server/modules/message/message_delivery.hpp"

#include <algorithm>

#include "server/routing/router.hpp"

namespace parley::server::modules {

using protocol::StanzaErrorCondition;

namespace {

HookResult deliver_to_bare(routing::Router& router, Hooks& hooks, routing::Stanza& s) {
    const std::string_view type = s.el.attr("type");
    if (type == "groupchat") {
        router.bounce(s, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        return HookResult::stop;
    }
    if (type == "error") return HookResult::stop;
    auto resources = router.sessions().resources(s.to);
    int best = -1;
    for (const auto& r : resources) {
        if (r.available && r.priority >= 0) best = std::max(best, r.priority);
    }
    if (best < 0) {
        MessageUndeliverable ev{s};
        hooks.message_undeliverable.run(ev);
        return HookResult::stop;
    }
    const bool all_non_negative = type == "headline";
    for (const auto& r : resources) {
        if (!r.available || r.priority < 0) continue;
        if (!all_non_negative && r.priority != best) continue;
        r.ref.deliver(s.el);
    }
    return HookResult::stop;
}

}  // namespace

void MessageDelivery::start(ModuleContext& ctx) {
    auto& router = ctx.router();
    auto& hooks = ctx.hooks();
    hooks.message_to_user.add(priority::deliver, [&router, &hooks](MessageToUser& ev) {
        routing::Stanza& s = ev.stanza;
        if (s.to.has_resource()) {
            if (auto ref = router.sessions().find(s.to)) {
                ref->deliver(std::move(s.el));
                return HookResult::stop;
            }
            const std::string_view type = s.el.attr("type");
            if (type == "groupchat") {
                router.bounce(s, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
                return HookResult::stop;
            }
            if (type == "headline" || type == "error") return HookResult::stop;
        }
        return deliver_to_bare(router, hooks, s);
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
