#include "server/modules/presence/presence_basic.hpp"

#include <algorithm>
#include <charconv>

#include "server/routing/router.hpp"

namespace parley::server::modules {

int presence_priority(const protocol::xml::Element& presence) {
    const std::string text = presence.child_text("priority");
    int value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || p != text.data() + text.size()) return 0;
    return std::clamp(value, -128, 127);
}

void PresenceBasic::start(ModuleContext& ctx) {
    auto& router = ctx.router();
    auto& hooks = ctx.hooks();
    ctx.hooks().presence_broadcast.add(priority::deliver, [&router, &hooks](PresenceBroadcast& ev) {
        routing::Stanza& s = ev.stanza;
        const std::string_view type = s.el.attr("type");
        if (type.empty()) {
            bool was_available = true;
            auto stored = std::make_shared<const protocol::xml::Element>(s.el);
            router.sessions().update(s.from, s.origin_session, [&](routing::ResourceEntry& e) {
                was_available = e.available;
                e.available = true;
                e.priority = presence_priority(s.el);
                e.presence = stored;
            });
            if (!was_available) {
                SessionAvailable available{s.from, s.origin_session, s.el};
                hooks.session_available.run(available);
            }
        } else if (type == "unavailable") {
            router.sessions().set_presence(s.from, s.origin_session, false, 0);
        }
        return HookResult::stop;
    });
    ctx.hooks().presence_to_user.add(priority::deliver, [&router](PresenceToUser& ev) {
        routing::Stanza& s = ev.stanza;
        if (s.to.has_resource()) {
            router.deliver_to_resource(s.to, std::move(s.el));  // absent: silently dropped
            return HookResult::stop;
        }
        for (const auto& r : router.sessions().resources(s.to)) {
            if (r.available) r.ref.deliver(s.el);
        }
        return HookResult::stop;
    });
}

}  // namespace parley::server::modules
