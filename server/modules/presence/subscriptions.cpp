#include "server/modules/presence/subscriptions.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <mutex>
#include <unordered_set>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/presence/presence.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/modules/presence/subscription_state.hpp"
#include "server/modules/roster/roster_push.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/subscription_store.hpp"

namespace parley::server::modules {

namespace ss = storage::subscription_store;
namespace rs = storage::roster_store;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using presence::Outcome;
using presence::Sub;
using presence::SubState;
using presence::SubType;
using protocol::Jid;
using protocol::xml::Element;
using routing::Stanza;

namespace presence {
// Accounts that may have pending inbound requests, so that the login of any other
// account costs no read. Marked on the account's database thread when a request is
// stored; cleared when a read at login finds none. `unknown` (the start-up read
// failed) means "any may".
class PendingIndex {
public:
    void set(const std::string& account, bool pending) {
        std::lock_guard lock(mutex_);
        if (pending) {
            accounts_.insert(account);
        } else {
            accounts_.erase(account);
        }
    }
    bool may_have(const std::string& account) const {
        std::lock_guard lock(mutex_);
        return unknown_ || accounts_.count(account) != 0;
    }
    void set_unknown() {
        std::lock_guard lock(mutex_);
        unknown_ = true;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_set<std::string> accounts_;
    bool unknown_ = false;
};
}  // namespace presence

using presence::PendingIndex;

namespace {

constexpr int subscriptions_priority = 100;  // above the presence module's delivery


SubState state_of(const ss::Current& cur) {
    SubState s;
    s.pending_in = cur.pending_in;
    if (cur.item) {
        s.sub = presence::parse_sub(cur.item->subscription).value_or(Sub::none);
        s.pending_out = cur.item->ask;
        s.approved = cur.item->approved;
    }
    return s;
}

// The storage change for an outcome: the item is written when it exists and changed, or
// when the new state needs one (a stranger's pending request alone does not).
ss::Change change_for(const ss::Current& cur, const std::string& contact, const Outcome& o,
                      const std::string& request_stanza) {
    ss::Change change;
    if (!o.changed) return change;
    const SubState& n = o.next;
    const bool needs_item = n.sub != Sub::none || n.pending_out || n.approved;
    if (cur.item || needs_item) {
        rs::Item item = cur.item.value_or(rs::Item{});
        item.jid = contact;
        item.subscription = std::string(presence::to_string(n.sub));
        item.ask = n.pending_out;
        item.approved = n.approved;
        if (!cur.item || item != *cur.item) change.item = std::move(item);
    }
    if (n.pending_in != cur.pending_in) {
        change.pending_in = n.pending_in;
        change.request_stanza = request_stanza;
    }
    return change;
}

void route(routing::Router& router, Element el, const Jid& from, const Jid& to) {
    el.set_attr("from", from.to_string());
    el.set_attr("to", to.to_string());
    router.route(Stanza{std::move(el), from, to, 0});
}

struct Processed {
    bool ok = false;
    ss::Current before;
    Outcome outcome;
    std::optional<rs::Item> written;
};

// Runs one table on `account`'s relation to `contact`, in one transaction.
awaitable<Processed> process(storage::Database& db, PendingIndex& index, const Jid& account, const Jid& contact,
                             SubType type, bool outbound, std::string request_stanza) {
    auto outcome = std::make_shared<Outcome>();
    auto work = [&index, bare = account.bare_string(), domain = account.domain(), local = account.local(),
                 contact = contact.bare_string(), type, outbound, request_stanza = std::move(request_stanza),
                 outcome](pqxx::connection& c) {
        auto applied = ss::update(c, domain, local, contact, [&](const ss::Current& cur) {
            const SubState state = state_of(cur);
            *outcome = outbound ? presence::outbound(state, type) : presence::inbound(state, type);
            return change_for(cur, contact, *outcome, request_stanza);
        });
        if (applied.before.account_exists && outcome->next.pending_in) index.set(bare, true);
        return applied;
    };
    const std::string key = routing::account_key(account);
    auto applied = co_await db.run<ss::Applied>(key, std::move(work), use_awaitable);
    Processed p;
    if (!applied) {
        spdlog::error("subscription_update_failed jid={} contact={} error={}", key, contact.bare_string(),
                      applied.error().message());
        co_return p;
    }
    p.ok = true;
    p.before = std::move(applied->before);
    p.outcome = *outcome;
    p.written = std::move(applied->written);
    co_return p;
}

// §3.1.2, §3.2.2, §3.3.2, §3.4.1: a user's subscription stanza to `stanza.to`.
awaitable<void> handle_outbound(ModuleContext& ctx, PendingIndex& index, Stanza stanza, SubType type) {
    routing::Router& router = ctx.router();
    const Jid user = stanza.from.bare();
    const Jid contact = stanza.to.bare();
    Processed p = co_await process(ctx.db(), index, user, contact, type, true, std::string());
    if (!p.ok) co_return;
    if (p.written) roster::push(router, user, *p.written);
    if (p.outcome.forward) {
        // Stamped with the bare JID (§3.1.2); a status or nick the client added stays.
        route(router, std::move(stanza.el), user, contact);
    }
    if (p.outcome.send_presence) presence::send_current_presence(router, user, contact);
    if (p.outcome.send_unavailable) presence::send_unavailable(router, user, contact);
}

// §3.1.3, §3.1.6, §3.2.3, §3.3.3: a contact's subscription stanza to a local account.
awaitable<void> handle_inbound(ModuleContext& ctx, PendingIndex& index, Stanza stanza, SubType type) {
    routing::Router& router = ctx.router();
    const Jid account = stanza.to.bare();
    const Jid contact = stanza.from.bare();
    stanza.el.set_attr("from", contact.to_string());  // subscriptions are between bare JIDs
    stanza.el.set_attr("to", account.to_string());
    std::string request;
    if (type == SubType::subscribe) request = to_stored_xml(stanza.el);
    Processed p = co_await process(ctx.db(), index, account, contact, type, false, std::move(request));
    if (!p.ok) co_return;
    if (!p.before.account_exists) {
        // §3.1.3: no such user — the request is declined on its behalf.
        if (type == SubType::subscribe) {
            presence::send_typed(router, "unsubscribed", account, contact);
        }
        co_return;
    }
    if (p.written) roster::push(router, account, *p.written);
    if (p.outcome.forward) {
        for (const auto& r : router.sessions().resources(account)) {
            if (r.available) r.ref.deliver(stanza.el);
        }
    }
    if (type == SubType::subscribed && p.outcome.changed && presence::we_see_contact(p.outcome.next.sub)) {
        // The contact's presence, sent right after its approval, can overtake the
        // approval (this side's processing waits on storage), and clients ignore
        // presence from someone they are not yet subscribed to: ask again, now that the
        // approval has been delivered (a probe, as at login).
        presence::send_typed(router, "probe", account, contact);
    }
    if (p.outcome.auto_subscribed) {
        presence::send_typed(router, "subscribed", account, contact);
    }
    if (p.outcome.send_presence) presence::send_current_presence(router, account, contact);
}

// §3.1.3: requests that waited while the user was away are delivered when it comes back.
awaitable<void> redeliver_requests(storage::Database& db, PendingIndex& index, routing::Router& router, Jid full) {
    auto read = [&index, bare = full.bare_string(), domain = full.domain(), local = full.local()](pqxx::connection& c) {
        auto requests = ss::pending_requests(c, domain, local);
        if (requests.empty()) index.set(bare, false);
        return requests;
    };
    const std::string key = routing::account_key(full);
    auto requests = co_await db.run<std::vector<std::string>>(key, std::move(read), use_awaitable);
    if (!requests) {
        spdlog::error("subscription_requests_read_failed jid={} error={}", key, requests.error().message());
        co_return;
    }
    for (const auto& xml : *requests) {
        auto el = parse_stored_xml(xml);
        if (!el) continue;
        router.deliver_to_resource(full, std::move(*el));
    }
}

void spawn(awaitable<void> task) {
    if (auto* io = net::IoPool::current()) boost::asio::co_spawn(*io, std::move(task), boost::asio::detached);
}

}  // namespace

void Subscriptions::start(ModuleContext& ctx) {
    auto& hooks = ctx.hooks();
    index_ = std::make_shared<PendingIndex>();
    PendingIndex& index = *index_;  // the module lives as long as the hooks that use it
    auto load = [](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        std::vector<std::string> out;
        for (const auto& row : t.exec("SELECT DISTINCT localpart, domain FROM presence_requests")) {
            out.push_back(std::string(row[0].c_str()) + "@" + row[1].c_str());
        }
        return out;
    };
    auto pending = ctx.db().run_sync<std::vector<std::string>>("subscription-index", load);
    if (pending) {
        for (const auto& account : *pending) index.set(account, true);
    } else {
        spdlog::error("subscription_index_read_failed error={}", pending.error().message());
        index.set_unknown();
    }
    Element feature("sub", "urn:xmpp:features:pre-approval");
    ctx.add_stream_feature(std::move(feature));

    hooks.stanza_from_client.add(subscriptions_priority, [&ctx, &index](StanzaFromClient& ev) {
        Stanza& s = ev.stanza;
        if (s.el.name() != "presence" || s.to.empty()) return HookResult::pass;
        const auto type = presence::parse_sub_type(s.el.attr("type"));
        if (!type) return HookResult::pass;
        // Subscribing to oneself, or to a server, means nothing. A remote contact's
        // request goes out over federation (or the router answers remote-server-not-found).
        if (s.to.bare() == s.from.bare() || !s.to.has_local()) return HookResult::stop;
        spawn(handle_outbound(ctx, index, std::move(s), *type));
        return HookResult::stop;
    });

    hooks.presence_to_user.add(subscriptions_priority, [&ctx, &index](PresenceToUser& ev) {
        Stanza& s = ev.stanza;
        const auto type = presence::parse_sub_type(s.el.attr("type"));
        if (!type) return HookResult::pass;
        if (s.from.bare() == s.to.bare()) return HookResult::stop;
        spawn(handle_inbound(ctx, index, std::move(s), *type));
        return HookResult::stop;
    });

    hooks.session_available.add(subscriptions_priority, [&ctx, &index](SessionAvailable& ev) {
        if (!index.may_have(ev.jid.bare_string())) return HookResult::pass;  // no read at login
        spawn(redeliver_requests(ctx.db(), index, ctx.router(), ev.jid));
        return HookResult::pass;
    });
}

}  // namespace parley::server::modules
