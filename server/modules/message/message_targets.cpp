#include "server/modules/message/message_targets.hpp"

#include <algorithm>

namespace parley::server::modules {

MessagePlan plan_message_delivery(const protocol::Jid& to, std::string_view type,
                                  const std::vector<routing::ResourceEntry>& resources) {
    using Action = MessagePlan::Action;
    MessagePlan plan;
    if (to.has_resource()) {
        for (std::size_t i = 0; i < resources.size(); ++i) {
            if (resources[i].resource == to.resource()) {
                plan.action = Action::deliver;
                plan.targets.push_back(i);
                return plan;
            }
        }
        if (type == "groupchat") {
            plan.action = Action::bounce;
            return plan;
        }
        if (type == "headline" || type == "error") return plan;  // drop
    }
    if (type == "groupchat") {
        plan.action = Action::bounce;
        return plan;
    }
    if (type == "error") return plan;
    int best = -1;
    for (const auto& r : resources) {
        if (r.available && r.priority >= 0) best = std::max(best, r.priority);
    }
    if (best < 0) {
        plan.action = Action::undeliverable;
        return plan;
    }
    const bool all_non_negative = type == "headline";
    plan.action = Action::deliver;
    for (std::size_t i = 0; i < resources.size(); ++i) {
        const auto& r = resources[i];
        if (!r.available || r.priority < 0) continue;
        if (!all_non_negative && r.priority != best) continue;
        plan.targets.push_back(i);
    }
    return plan;
}

}  // namespace parley::server::modules
