// PEP notifications (XEP-0163 §4.3): event messages after a publish, retract, purge
// or delete, and the last published items when a resource becomes available.
// Filtered by caps (XEP-0115 "<node>+notify", §4.3.3). Contacts on other servers get
// them at the resources that sent us presence, once their caps were verified over
// federation (server/modules/caps).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "protocol/namespaces.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules::pep {

namespace ps = storage::pep_store;
using protocol::Jid;
using protocol::xml::Element;

namespace {

Element event_message(const Jid& owner, const std::string& to, const Element& event_child) {
    Element msg("message", std::string(protocol::ns::client));
    msg.set_attr("from", owner.bare_string());
    msg.set_attr("to", to);
    msg.set_attr("type", "headline");
    msg.add_child("event", std::string(protocol::ns::pubsub_event)).add_child(event_child);
    return msg;
}

bool has_feature(const caps::Features& features, const std::string& feature) {
    return std::binary_search(features.begin(), features.end(), feature);
}

// The 'ver' of a presence's XEP-0115 <c/>, "" when it has none.
std::string presence_caps_ver(const Element& presence) {
    const Element* c = presence.find_child("c", protocol::ns::caps);
    return c ? std::string(c->attr("ver")) : std::string();
}

}  // namespace

std::string Service::caps_ver(const routing::ResourceEntry& r) {
    if (!r.caps_ver.empty()) return r.caps_ver;
    return r.presence ? presence_caps_ver(*r.presence) : std::string();
}

boost::asio::awaitable<void> Service::broadcast(const Jid& owner, const std::string& node, const NodeConfig& config,
                                                const Element& event_child) {
    const std::string feature = node + "+notify";
    auto notify_resources = [&](const Jid& account) {
        for (const auto& r : sessions_.resources(account)) {
            if (!r.available) continue;
            const std::string ver = caps_ver(r);
            if (ver.empty() || !caps_.has_feature(ver, feature)) continue;
            r.ref.deliver(event_message(owner, account.bare_string() + "/" + r.resource, event_child));
        }
    };
    notify_resources(owner);
    if (config.access_model == "whitelist") co_return;

    // Contacts with a presence subscription to the owner (XEP-0163 §4.3.1), here or on
    // another server.
    auto load = [owner](pqxx::connection& c) { return storage::roster_store::get(c, owner.domain(), owner.local()); };
    const std::string key = routing::account_key(owner);
    auto roster = co_await db_.run<storage::roster_store::Roster>(key, std::move(load), boost::asio::use_awaitable);
    if (!roster) {
        spdlog::error("pep_roster_failed account={} error={}", owner.bare_string(), roster.error().message());
        co_return;
    }
    for (const auto& item : roster->items) {
        if (item.subscription != "from" && item.subscription != "both") continue;
        auto contact = Jid::parse(item.jid);
        if (!contact || !contact->has_local() || ctx_.is_blocked(owner, *contact)) continue;
        if (router_.is_local_domain(contact->domain())) {
            notify_resources(contact->bare());
            continue;
        }
        for (const auto& [full, ver] : remote_resources(contact->bare())) {
            auto to = Jid::parse(full);
            if (!to || !caps_.has_feature(ver, feature)) continue;
            Element msg = event_message(owner, full, event_child);
            router_.route(routing::Stanza{std::move(msg), owner, std::move(*to), 0});
        }
    }
}

std::vector<std::pair<std::string, std::string>> Service::remote_resources(const Jid& bare) const {
    const std::string prefix = bare.bare_string() + "/";
    std::vector<std::pair<std::string, std::string>> out;
    std::lock_guard lock(mutex_);
    for (auto it = remote_vers_.lower_bound(prefix); it != remote_vers_.end() && it->first.starts_with(prefix); ++it) {
        out.emplace_back(it->first, it->second);
    }
    return out;
}

boost::asio::awaitable<void> Service::send_last_items(const Jid& owner, const Jid& to, const std::string& ver) {
    auto features = caps_.features(ver);
    if (!features) co_return;
    const bool to_owner = to.bare() == owner;

    struct Loaded {
        std::vector<ps::NodeState> nodes;
        std::string subscription = "none";
    };
    const std::string contact = to.bare_string();
    auto load = [owner, to_owner, contact](pqxx::connection& c) {
        Loaded out;
        out.nodes = ps::nodes(c, owner.domain(), owner.local());
        const bool any_presence = std::any_of(out.nodes.begin(), out.nodes.end(),
                                              [](const auto& n) { return n.config.access_model == "presence"; });
        if (!to_owner && any_presence) {
            for (const auto& item : storage::roster_store::get(c, owner.domain(), owner.local()).items) {
                if (item.jid == contact) out.subscription = item.subscription;
            }
        }
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto loaded = co_await db_.run<Loaded>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) {
        spdlog::error("pep_last_items_failed account={} error={}", owner.bare_string(), loaded.error().message());
        co_return;
    }
    for (auto& n : loaded->nodes) {
        const NodeConfig& cfg = n.config;
        if (cfg.send_last_published_item != "on_sub_and_presence" || !cfg.deliver_notifications) continue;
        if (check_access(cfg, to_owner, loaded->subscription) != Access::allowed) continue;
        if (!has_feature(*features, n.node + "+notify")) continue;
        std::optional<Item> last = cfg.persist_items ? n.last : volatile_item(owner, n.node);
        if (!last) continue;
        Element items_el("items", std::string(protocol::ns::pubsub_event));
        items_el.set_attr("node", n.node);
        Element& item_el = items_el.add_child("item");
        item_el.set_attr("id", last->id);
        if (cfg.deliver_payloads) {
            if (auto payload = parse_stored_xml(last->payload)) item_el.add_child(std::move(*payload));
        }
        Element msg = event_message(owner, to.to_string(), items_el);
        if (router_.is_local_domain(to.domain())) {
            router_.deliver_to_resource(to, std::move(msg));
        } else {
            router_.route(routing::Stanza{std::move(msg), owner, to, 0});  // a remote contact's resource
        }
    }
}

boost::asio::awaitable<void> Service::last_items_on_login(const Jid& full, const std::string& ver) {
    // The account's own nodes first.
    const Jid account = full.bare();
    co_await send_last_items(account, full, ver);
    // A contact the account is subscribed to ('to') that is not subscribed back never
    // receives the account's presence, so the presence_to_user path does not run for
    // it: send that contact's items from here. ('both' is covered by that path.)
    auto load = [account](pqxx::connection& c) { return storage::roster_store::get(c, account.domain(), account.local()); };
    const std::string key = routing::account_key(account);
    auto roster = co_await db_.run<storage::roster_store::Roster>(key, std::move(load), boost::asio::use_awaitable);
    if (!roster) co_return;
    for (const auto& item : roster->items) {
        if (item.subscription != "to") continue;
        auto contact = Jid::parse(item.jid);
        if (!contact || !contact->has_local() || !router_.is_local_domain(contact->domain())) continue;
        const Jid owner = contact->bare();
        co_await send_last_items(owner, full, ver);
    }
}

void Service::when_caps_known(const Jid& full, const std::optional<Jid>& owner, const std::string& ver) {
    // Registered first, then the cache checked: a verification finishing in between
    // finds the entry, and only one of the two takes it.
    {
        std::lock_guard lock(mutex_);
        Pending& p = pending_[full.to_string()];
        if (owner) {
            p.owners.insert(owner->bare_string());
        } else {
            p.login = true;
        }
    }
    if (caps_.features(ver)) run_pending(full, ver);
}

void Service::run_pending(const Jid& full, const std::string& ver) {
    Pending p;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(full.to_string());
        if (it == pending_.end()) return;
        p = std::move(it->second);
        pending_.erase(it);
    }
    auto* io = net::IoPool::current();
    if (!io) return;
    boost::asio::co_spawn(
        *io,
        [self = shared_from_this(), full, ver, p = std::move(p)]() -> boost::asio::awaitable<void> {
            if (p.login) co_await self->last_items_on_login(full, ver);
            for (const auto& o : p.owners) {
                auto owner = Jid::parse(o);
                if (!owner) continue;
                const Jid owner_jid = *owner;
                co_await self->send_last_items(owner_jid, full, ver);
            }
        },
        boost::asio::detached);
}

HookResult Service::on_presence_to_user(PresenceToUser& ev) {
    const routing::Stanza& s = ev.stanza;
    if (routing::is_from_owner(s) || !s.from.has_resource() || !s.from.has_local()) return HookResult::pass;
    const bool remote = !router_.is_local_domain(s.from.domain());
    const std::string_view type = s.el.attr("type");
    const std::string contact = s.from.to_string();
    const std::string owner_key = s.to.bare_string();
    if (type == "unavailable") {
        std::lock_guard lock(mutex_);
        if (remote) {
            remote_vers_.erase(contact);
            pending_.erase(contact);
        }
        auto it = presence_seen_.find(contact);
        if (it != presence_seen_.end()) {
            it->second.erase(owner_key);
            if (it->second.empty()) presence_seen_.erase(it);
        }
        return HookResult::pass;
    }
    if (!type.empty()) return HookResult::pass;
    const std::string ver = presence_caps_ver(s.el);
    // Only a resource's first available presence to this owner brings the last items
    // (later ones are status changes).
    {
        std::lock_guard lock(mutex_);
        if (remote) {
            auto known = remote_vers_.find(contact);
            if (known != remote_vers_.end()) {
                known->second = ver;
            } else if (remote_vers_.size() < max_remote_resources && pending_.size() < max_remote_resources) {
                remote_vers_.emplace(contact, ver);
            } else {
                return HookResult::pass;  // full: this resource gets no notifications
            }
        }
        if (!presence_seen_[contact].insert(owner_key).second) return HookResult::pass;
    }
    if (!ver.empty()) when_caps_known(s.from, s.to.bare(), ver);
    return HookResult::pass;
}

HookResult Service::on_session_available(SessionAvailable& ev) {
    const std::string ver = presence_caps_ver(ev.presence);
    if (!ver.empty()) when_caps_known(ev.jid, std::nullopt, ver);
    return HookResult::pass;
}

void Service::on_caps_verified(const Jid& full, const std::string& ver) { run_pending(full, ver); }

HookResult Service::on_session_closed(SessionClosed& ev) {
    std::lock_guard lock(mutex_);
    presence_seen_.erase(ev.jid.to_string());
    pending_.erase(ev.jid.to_string());
    return HookResult::pass;
}

}  // namespace parley::server::modules::pep
