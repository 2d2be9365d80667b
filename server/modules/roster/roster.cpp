#include "server/modules/roster/roster.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <atomic>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/roster/roster_item.hpp"
#include "server/modules/presence/presence.hpp"
#include "server/modules/presence/subscription_state.hpp"
#include "server/modules/roster/roster_push.hpp"
#include "server/routing/router.hpp"
#include "server/routing/session_registry.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"
#include "storage/subscription_store.hpp"

namespace parley::server::modules {

namespace rs = storage::roster_store;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;
using routing::Stanza;

namespace {


// RFC 6121 §2.1.5 (and §2.3.3): only the account's own resources may read or change
// its roster.

Element roster_query(std::int64_t version) {
    Element q("query", std::string(roster::ns_roster));
    q.set_attr("ver", std::to_string(version));
    return q;
}

struct Removal {
    std::optional<rs::Item> item;
    std::optional<std::int64_t> version;
    bool pending_in = false;
};

// §2.5.2: removing an item ends the subscriptions it carried, in both directions, as if
// the user had sent unsubscribe and unsubscribed; the contact stops seeing the user.
void end_subscriptions(routing::Router& router, const protocol::Jid& owner, const protocol::Jid& contact,
                       const rs::Item& item, bool pending_in) {
    const auto sub = presence::parse_sub(item.subscription).value_or(presence::Sub::none);
    if (presence::contact_sees_us(sub)) presence::send_unavailable(router, owner, contact);
    if (presence::we_see_contact(sub) || item.ask) {
        presence::send_typed(router, "unsubscribe", owner, contact);
    }
    if (presence::contact_sees_us(sub) || pending_in) {
        presence::send_typed(router, "unsubscribed", owner, contact);
    }
}

awaitable<IqResult> handle_get(storage::Database& db, routing::SessionRegistry& sessions, const Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    // Interested from now on (§2.1.6), so no change between our read and the
    // result goes unpushed.
    sessions.set_roster_requested(iq.from, iq.origin_session);

    const std::string* ver = iq.el.first_child_element()->find_attr("ver");
    auto read = [domain = iq.from.domain(), local = iq.from.local()](pqxx::connection& c) {
        return rs::get(c, domain, local);
    };
    const std::string key = routing::account_key(iq.to);
    auto roster = co_await db.run<rs::Roster>(key, std::move(read), use_awaitable);
    if (!roster) {
        spdlog::error("roster_read_failed jid={} error={}", key, roster.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    // §2.6.3: the client's version is current → an empty result.
    if (ver && roster::parse_version(*ver) == roster->version) co_return std::optional<Element>{};
    Element q = roster_query(roster->version);
    for (const auto& item : roster->items) q.add_child(roster::item_element(item));
    co_return std::optional<Element>(std::move(q));
}

awaitable<IqResult> handle_set(storage::Database& db, routing::Router& router, routing::SessionRegistry& sessions,
                               const Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    auto parsed = roster::parse_roster_set(*iq.el.first_child_element(), iq.from);
    if (auto* err = std::get_if<StanzaError>(&parsed)) co_return std::move(*err);
    roster::RosterSet set = std::move(std::get<roster::RosterSet>(parsed));

    const std::string key = routing::account_key(iq.to);
    const protocol::Jid owner = iq.from.bare();
    std::string contact = set.jid.to_string();
    if (set.remove) {
        auto remove = [domain = owner.domain(), local = owner.local(), contact](pqxx::connection& c) {
            Removal r;
            {
                pqxx::read_transaction t(c);
                r.item = rs::find_item(t, domain, local, contact);
            }
            if (!r.item) return r;
            r.version = rs::remove_item(c, domain, local, contact);
            r.pending_in = storage::subscription_store::forget_request(c, domain, local, contact);
            return r;
        };
        auto removed = co_await db.run<Removal>(key, std::move(remove), use_awaitable);
        if (!removed) {
            spdlog::error("roster_write_failed jid={} error={}", key, removed.error().message());
            co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
        }
        // §2.5.3: removing what is not there.
        if (!removed->version) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
        roster::push(router, owner, *removed->version, roster::removed_item_element(contact));
        end_subscriptions(router, owner, set.jid, *removed->item, removed->pending_in);
        co_return std::optional<Element>{};
    }

    auto write = [domain = owner.domain(), local = owner.local(), contact, name = std::move(set.name),
                  groups = std::move(set.groups)](pqxx::connection& c) {
        return rs::set_item(c, domain, local, contact, name, groups);
    };
    auto stored = co_await db.run<rs::Item>(key, std::move(write), use_awaitable);
    if (!stored) {
        spdlog::error("roster_write_failed jid={} error={}", key, stored.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    roster::push(router, owner, *stored);
    co_return std::optional<Element>{};
}

}  // namespace

void Roster::start(ModuleContext& ctx) {
    storage::Database& db = ctx.db();
    routing::Router& router = ctx.router();
    routing::SessionRegistry& sessions = ctx.sessions();
    const std::string ns(roster::ns_roster);
    ctx.on_iq(routing::IqType::get, ns, routing::IqScope::account,
              [&db, &sessions](const Stanza& iq) { return handle_get(db, sessions, iq); });
    ctx.on_iq(routing::IqType::set, ns, routing::IqScope::account,
              [&db, &router, &sessions](const Stanza& iq) { return handle_set(db, router, sessions, iq); });
}

}  // namespace parley::server::modules
