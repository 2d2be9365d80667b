#include "server/modules/roster/roster_push.hpp"

#include <atomic>
#include <string>

#include "protocol/namespaces.hpp"
#include "server/modules/roster/roster_item.hpp"

namespace parley::server::modules::roster {

using protocol::xml::Element;

void push(routing::Router& router, const protocol::Jid& owner, std::int64_t version, const Element& item) {
    static std::atomic<std::uint64_t> next_id{0};
    for (const auto& entry : router.sessions().resources(owner)) {
        if (!entry.roster_requested) continue;
        const protocol::Jid full = owner.bare().with_resource(entry.resource);
        Element iq("iq", std::string(protocol::ns::client));
        iq.set_attr("type", "set");
        iq.set_attr("id", "push" + std::to_string(next_id.fetch_add(1, std::memory_order_relaxed)));
        iq.set_attr("to", full.to_string());
        Element& query = iq.add_child("query", std::string(ns_roster));
        query.set_attr("ver", std::to_string(version));
        query.add_child(item);
        router.deliver_to_resource(full, std::move(iq));
    }
}

void push(routing::Router& router, const protocol::Jid& owner, const storage::roster_store::Item& item) {
    push(router, owner, item.version, item_element(item));
}

}  // namespace parley::server::modules::roster
