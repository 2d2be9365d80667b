// XEP-0191: Blocking Command — see blocking.hpp for what is implemented.
#include "server/modules/blocking/blocking.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_set>
#include <variant>

#include "protocol/namespaces.hpp"
#include "server/modules/blocking/block_filter.hpp"
#include "server/modules/blocking/block_list.hpp"
#include "server/routing/router.hpp"
#include "storage/blocklist_store.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules {

using protocol::Jid;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace blocking {

// What the handlers and hooks share; owned by the module, which lives as long as
// the server.
struct Shared {
    BlockList list;
    storage::Database* db = nullptr;
    routing::Router* router = nullptr;
    routing::SessionRegistry* sessions = nullptr;
    // Sessions that retrieved the blocklist: only they get pushes (§3.3, like the
    // interested resources of RFC 6121 rosters).
    std::mutex interested_mutex;
    std::unordered_set<std::uint64_t> interested;

    bool is_interested(std::uint64_t id) {
        std::lock_guard lock(interested_mutex);
        return interested.count(id) != 0;
    }
};

namespace {

using Items = std::vector<std::string>;

// The <item jid=''/> children, prepared and without duplicates; an error when a child
// is not an item or its JID is invalid.
std::variant<Items, StanzaError> parse_items(const Element& payload) {
    Items out;
    for (const auto& child : payload.children()) {
        if (child.is_text()) continue;
        if (child.name() != "item" || child.xmlns() != ns_blocking) {
            return protocol::stanza_error(StanzaErrorCondition::bad_request);
        }
        auto jid = Jid::parse(child.attr("jid"));
        if (!jid) return protocol::stanza_error(StanzaErrorCondition::jid_malformed);
        std::string text = jid->to_string();
        if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
    }
    return out;
}

Element list_element(std::string_view name, const Items& items) {
    Element el{std::string(name), std::string(ns_blocking)};
    for (const auto& jid : items) el.add_child("item").set_attr("jid", jid);
    return el;
}

// The payload, when it is the element this handler is for.
const Element* payload_named(const routing::Stanza& iq, std::string_view name) {
    const Element* p = iq.el.first_child_element();
    return p && p->name() == name ? p : nullptr;
}

void push(Shared& s, const Jid& account, const Element& change) {
    static std::atomic<std::uint64_t> next_id{0};
    for (const auto& entry : s.sessions->resources(account)) {
        if (!s.is_interested(entry.ref.id)) continue;
        const Jid full = account.bare().with_resource(entry.resource);
        Element iq("iq", std::string(protocol::ns::client));
        iq.set_attr("type", "set");
        iq.set_attr("id", "block-push" + std::to_string(next_id.fetch_add(1, std::memory_order_relaxed)));
        iq.set_attr("to", full.to_string());
        iq.add_child(change);
        s.router->deliver_to_resource(full, std::move(iq));
    }
}

// Roster contacts subscribed to the account's presence (from/both) that one of
// `items` matches.
boost::asio::awaitable<std::vector<Jid>> subscribers_matching(Shared& s, const Jid& account, const Items& items) {
    std::vector<Jid> matched;
    if (items.empty()) co_return matched;
    std::vector<Jid> parsed;
    for (const auto& text : items) {
        if (auto jid = Jid::parse(text)) parsed.push_back(std::move(*jid));
    }
    const std::string key = routing::account_key(account);
    auto load = [d = account.domain(), l = account.local()](pqxx::connection& c) {
        return storage::roster_store::get(c, d, l);
    };
    auto roster = co_await s.db->run<storage::roster_store::Roster>(key, std::move(load), boost::asio::use_awaitable);
    if (!roster) {
        spdlog::error("blocking_roster_load_failed account={} error={}", account.bare_string(), roster.error().message());
        co_return matched;
    }
    for (const auto& item : roster->items) {
        if (item.subscription != "from" && item.subscription != "both") continue;
        auto contact = Jid::parse(item.jid);
        if (!contact) continue;
        for (const auto& blocked : parsed) {
            if (matches(blocked, *contact)) {
                matched.push_back(*contact);
                break;
            }
        }
    }
    co_return matched;
}

// §3.3: on block each available resource goes offline for the contact; §3.4: on
// unblock the contact gets each available resource's current presence again.
void send_presence(Shared& s, const Jid& account, const std::vector<Jid>& contacts, bool available) {
    if (contacts.empty()) return;
    for (const auto& entry : s.sessions->resources(account)) {
        if (!entry.available) continue;
        if (available && !entry.presence) continue;  // nothing broadcast yet
        const Jid full = account.bare().with_resource(entry.resource);
        for (const auto& contact : contacts) {
            Element el = available ? *entry.presence : Element("presence", std::string(protocol::ns::client));
            if (!available) el.set_attr("type", "unavailable");
            el.set_attr("from", full.to_string());
            el.set_attr("to", contact.to_string());
            s.router->route(routing::Stanza{std::move(el), full, contact, 0});
        }
    }
}

boost::asio::awaitable<IqResult> handle_get(Shared& s, const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    if (!payload_named(iq, "blocklist")) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (iq.origin_session != 0) {
        std::lock_guard lock(s.interested_mutex);
        s.interested.insert(iq.origin_session);
    }
    co_return std::optional<Element>(list_element("blocklist", s.list.items(iq.to)));
}

boost::asio::awaitable<IqResult> handle_block(Shared& s, const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* payload = payload_named(iq, "block");
    if (!payload) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    auto parsed = parse_items(*payload);
    if (auto* error = std::get_if<StanzaError>(&parsed)) co_return std::move(*error);
    Items items = std::get<Items>(std::move(parsed));
    // §3.3: a block without items is an error.
    if (items.empty()) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);

    const Jid account = iq.to.bare();
    const std::string key = routing::account_key(account);
    auto store = [&list = s.list, account, items](pqxx::connection& c) {
        Items added = storage::blocklist_store::add(c, account.domain(), account.local(), items);
        list.add(account, items);  // committed: memory follows in the same order
        return added;
    };
    auto added = co_await s.db->run<Items>(key, std::move(store), boost::asio::use_awaitable);
    if (!added) {
        spdlog::error("blocklist_store_failed account={} error={}", account.bare_string(), added.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    spdlog::debug("blocklist_block account={} items={} new={}", account.bare_string(), items.size(), added->size());
    push(s, account, list_element("block", items));
    auto contacts = co_await subscribers_matching(s, account, *added);
    send_presence(s, account, contacts, false);
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> handle_unblock(Shared& s, const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* payload = payload_named(iq, "unblock");
    if (!payload) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    auto parsed = parse_items(*payload);
    if (auto* error = std::get_if<StanzaError>(&parsed)) co_return std::move(*error);
    Items items = std::get<Items>(std::move(parsed));

    const Jid account = iq.to.bare();
    const std::string key = routing::account_key(account);
    // §3.5: no items means every item.
    auto store = [&list = s.list, account, items](pqxx::connection& c) {
        if (items.empty()) {
            Items removed = storage::blocklist_store::clear(c, account.domain(), account.local());
            list.clear(account);
            return removed;
        }
        Items removed = storage::blocklist_store::remove(c, account.domain(), account.local(), items);
        list.remove(account, items);
        return removed;
    };
    auto removed = co_await s.db->run<Items>(key, std::move(store), boost::asio::use_awaitable);
    if (!removed) {
        spdlog::error("blocklist_store_failed account={} error={}", account.bare_string(), removed.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    spdlog::debug("blocklist_unblock account={} items={} removed={}", account.bare_string(), items.size(),
                  removed->size());
    push(s, account, list_element("unblock", items));
    auto contacts = co_await subscribers_matching(s, account, *removed);
    // A contact still covered by another item (a domain item, say) stays blocked.
    std::erase_if(contacts, [&](const Jid& c) { return s.list.is_blocked(account, c); });
    send_presence(s, account, contacts, true);
    co_return std::optional<Element>{};
}

void load_all(Shared& s) {
    auto load = [](pqxx::connection& c) { return storage::blocklist_store::all(c); };
    auto rows = s.db->run_sync<std::vector<storage::blocklist_store::Entry>>("blocklist", std::move(load));
    if (!rows) throw std::runtime_error("blocklist_load_failed: " + rows.error().message());
    for (const auto& row : *rows) {
        auto account = Jid::from_parts(row.localpart, row.domain);
        if (!account) continue;
        s.list.add(*account, {row.jid});
    }
    spdlog::info("blocklists_loaded accounts={} items={}", s.list.account_count(), rows->size());
}

}  // namespace
}  // namespace blocking

Blocking::Blocking() : shared_(std::make_unique<blocking::Shared>()) {}
Blocking::~Blocking() = default;

void Blocking::start(ModuleContext& ctx) {
    blocking::Shared* s = shared_.get();
    s->db = &ctx.db();
    s->router = &ctx.router();
    s->sessions = &ctx.sessions();
    blocking::load_all(*s);

    const std::string ns(blocking::ns_blocking);
    ctx.on_iq(routing::IqType::get, ns, routing::IqScope::account,
              [s](const routing::Stanza& iq) { return blocking::handle_get(*s, iq); });
    // One set handler: the dispatcher keys by namespace, and both <block/> and
    // <unblock/> share it.
    ctx.on_iq(routing::IqType::set, ns, routing::IqScope::account, [s](const routing::Stanza& iq) {
        const protocol::xml::Element* p = iq.el.first_child_element();
        if (p && p->name() == "unblock") return blocking::handle_unblock(*s, iq);
        return blocking::handle_block(*s, iq);
    });
    ctx.hooks().session_closed.add(priority::deliver, [s](SessionClosed& ev) {
        std::lock_guard lock(s->interested_mutex);
        s->interested.erase(ev.session_id);
        return HookResult::pass;
    });
    blocking::install_filters(ctx, s->list);
    ctx.set_block_check([s](const Jid& account, const Jid& other) { return s->list.is_blocked(account, other); });
    // §3.1: a client asks its server's disco#info.
    ctx.add_disco_feature(ns);
}

}  // namespace parley::server::modules
