#include "server/modules/roster/roster_item.hpp"

#include <algorithm>
#include <charconv>

namespace parley::server::modules::roster {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;

namespace {

StanzaError error(StanzaErrorCondition condition, std::string text) {
    return StanzaError{condition, std::move(text), {}, {}};
}

}  // namespace

std::variant<RosterSet, StanzaError> parse_roster_set(const Element& query, const protocol::Jid& owner) {
    // §2.1.5: one and only one <item/>.
    const Element* item = nullptr;
    std::size_t items = 0;
    for (const auto& child : query.children()) {
        if (child.is_text() || child.name() != "item" || child.xmlns() != ns_roster) continue;
        item = &child;
        ++items;
    }
    if (items != 1) return error(StanzaErrorCondition::bad_request, "a roster set carries exactly one item");

    const std::string* jid_text = item->find_attr("jid");
    if (!jid_text) return error(StanzaErrorCondition::bad_request, "the item has no jid");
    auto jid = protocol::Jid::parse(*jid_text);
    if (!jid) return error(StanzaErrorCondition::jid_malformed, {});

    RosterSet set;
    set.jid = std::move(*jid);
    // §2.1.5: any subscription value other than "remove" is ignored (the subscription
    // state belongs to the server), and so is 'ask'.
    set.remove = item->attr("subscription") == "remove";
    if (set.remove) return set;

    // The account's own JID is never a contact: its presence is the user's own.
    if (set.jid.bare() == owner.bare()) {
        return error(StanzaErrorCondition::not_allowed, "the account itself cannot be a roster item");
    }
    if (const std::string* name = item->find_attr("name"); name && !name->empty()) {
        if (name->size() > max_name_bytes) return error(StanzaErrorCondition::not_acceptable, "name too long");
        set.name = *name;
    }
    for (const auto& child : item->children()) {
        if (child.is_text() || child.name() != "group" || child.xmlns() != ns_roster) continue;
        std::string group = child.text();
        // §2.3.3: an empty or over-long group is not-acceptable, a repeated one bad-request.
        if (group.empty()) return error(StanzaErrorCondition::not_acceptable, "empty group name");
        if (group.size() > max_group_bytes) return error(StanzaErrorCondition::not_acceptable, "group name too long");
        if (std::find(set.groups.begin(), set.groups.end(), group) != set.groups.end()) {
            return error(StanzaErrorCondition::bad_request, "duplicate group");
        }
        set.groups.push_back(std::move(group));
    }
    if (set.groups.size() > max_groups) return error(StanzaErrorCondition::not_acceptable, "too many groups");
    return set;
}

Element item_element(const storage::roster_store::Item& item) {
    Element el("item", std::string(ns_roster));
    el.set_attr("jid", item.jid);
    if (item.name) el.set_attr("name", *item.name);
    el.set_attr("subscription", item.subscription);
    if (item.ask) el.set_attr("ask", "subscribe");
    if (item.approved) el.set_attr("approved", "true");
    for (const auto& group : item.groups) el.add_child("group").add_text(group);
    return el;
}

Element removed_item_element(const std::string& jid) {
    Element el("item", std::string(ns_roster));
    el.set_attr("jid", jid);
    el.set_attr("subscription", "remove");
    return el;
}

std::optional<std::int64_t> parse_version(std::string_view ver) {
    std::int64_t v = 0;
    if (ver.empty() || ver.size() > 19 || ver.front() == '-' || ver.front() == '+') return std::nullopt;
    auto [end, ec] = std::from_chars(ver.data(), ver.data() + ver.size(), v);
    if (ec != std::errc{} || end != ver.data() + ver.size()) return std::nullopt;
    return v;
}

}  // namespace parley::server::modules::roster
