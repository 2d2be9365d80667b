#include "server/modules/carbons/carbons.hpp"

#include <algorithm>

#include "protocol/namespaces.hpp"
#include "server/modules/carbons/carbon_copy.hpp"
#include "server/modules/message/message_targets.hpp"
#include "server/routing/router.hpp"

namespace parley::server::modules {

namespace ns = protocol::ns;
using carbons::Direction;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;

namespace {

bool has_carbons_enabled(const std::vector<routing::ResourceEntry>& resources) {
    return std::any_of(resources.begin(), resources.end(), [](const auto& r) { return r.carbons && r.available; });
}

// <received/> copies for the resources RFC 6121 delivery leaves out.
void copy_received(routing::SessionRegistry& sessions, const routing::Stanza& s) {
    const auto resources = sessions.resources(s.to);
    if (!has_carbons_enabled(resources)) return;
    const MessagePlan plan = plan_message_delivery(s.to, s.el.attr("type"), resources);
    if (plan.action != MessagePlan::Action::deliver) return;  // nobody gets it: no copies
    const std::string account = s.to.bare_string();
    for (std::size_t i = 0; i < resources.size(); ++i) {
        const auto& r = resources[i];
        if (!r.carbons || !r.available || r.ref.id == s.origin_session) continue;
        if (std::find(plan.targets.begin(), plan.targets.end(), i) != plan.targets.end()) continue;
        r.ref.deliver(carbons::make_carbon(Direction::received, s.el, account, account + "/" + r.resource));
    }
}

// <sent/> copies for the sender's other resources.
void copy_sent(routing::SessionRegistry& sessions, const routing::Stanza& s) {
    const auto resources = sessions.resources(s.from);
    if (!has_carbons_enabled(resources)) return;
    const std::string account = s.from.bare_string();
    for (const auto& r : resources) {
        if (!r.carbons || !r.available || r.ref.id == s.origin_session) continue;
        r.ref.deliver(carbons::make_carbon(Direction::sent, s.el, account, account + "/" + r.resource));
    }
}

routing::IqResult set_carbons(routing::SessionRegistry& sessions, const routing::Stanza& s) {
    // Only a client's own session may switch its carbons (§4/§5: not-allowed otherwise).
    if (s.origin_session == 0 || !s.from.has_resource()) {
        return protocol::stanza_error(StanzaErrorCondition::not_allowed);
    }
    const Element* payload = s.el.first_child_element();
    if (!payload || payload->child_element_count() != 0 ||
        (payload->name() != "enable" && payload->name() != "disable")) {
        return protocol::stanza_error(StanzaErrorCondition::bad_request);
    }
    const bool enable = payload->name() == "enable";
    // Enabling twice, or disabling twice, is not an error (§8.1).
    if (!sessions.update(s.from, s.origin_session, [enable](routing::ResourceEntry& e) { e.carbons = enable; })) {
        return protocol::stanza_error(StanzaErrorCondition::not_allowed);
    }
    return std::optional<Element>{};
}

}  // namespace

void Carbons::start(ModuleContext& ctx) {
    auto& sessions = ctx.sessions();
    auto on_account = [&sessions](const routing::Stanza& s) -> boost::asio::awaitable<routing::IqResult> {
        if (!routing::is_from_owner(s)) co_return protocol::stanza_error(StanzaErrorCondition::not_allowed);
        co_return set_carbons(sessions, s);
    };
    auto on_server = [&sessions](const routing::Stanza& s) -> boost::asio::awaitable<routing::IqResult> {
        co_return set_carbons(sessions, s);
    };
    ctx.on_iq(routing::IqType::set, std::string(ns::carbons), routing::IqScope::account, on_account);
    ctx.on_iq(routing::IqType::set, std::string(ns::carbons), routing::IqScope::server, on_server);
    ctx.add_disco_feature(std::string(ns::carbons));

    ctx.hooks().message_to_user.add(priority::carbons, [&sessions](MessageToUser& ev) {
        routing::Stanza& s = ev.stanza;
        if (carbons::is_private(s.el)) {
            // §7: the recipient's server strips the marker before delivery.
            s.el.remove_children("private", ns::carbons);
            return HookResult::pass;
        }
        if (carbons::is_eligible(s.el, Direction::received)) copy_received(sessions, s);
        return HookResult::pass;
    });
    ctx.hooks().stanza_from_client.add(priority::carbons, [&sessions](StanzaFromClient& ev) {
        const routing::Stanza& s = ev.stanza;
        if (s.el.name() != "message") return HookResult::pass;
        // To the own account the original reaches the other resources as a received
        // copy (or itself); a sent copy too would duplicate it.
        if (s.to.empty() || (s.to.local() == s.from.local() && s.to.domain() == s.from.domain())) {
            return HookResult::pass;
        }
        if (carbons::is_eligible(s.el, Direction::sent)) copy_sent(sessions, s);
        return HookResult::pass;
    });
}

}  // namespace parley::server::modules
