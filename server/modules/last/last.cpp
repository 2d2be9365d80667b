#include "server/modules/last/last.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>

#include "server/log.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/last_activity_store.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules {

using protocol::StanzaErrorCondition;
using protocol::xml::Element;

namespace {
constexpr std::string_view ns_last = "jabber:iq:last";

bool has_available_resource(routing::SessionRegistry& sessions, const protocol::Jid& account,
                            const std::string& except_resource = {}) {
    for (const auto& r : sessions.resources(account)) {
        if (r.available && r.resource != except_resource) return true;
    }
    return false;
}

boost::asio::awaitable<void> record_logout(storage::Database& db, protocol::Jid account, std::string status) {
    const std::string key = routing::account_key(account);
    auto write = [domain = account.domain(), local = account.local(), status = std::move(status)](pqxx::connection& c) {
        storage::last_activity_store::record_logout(c, domain, local, status);
    };
    auto done = co_await db.run<void>(key, std::move(write), boost::asio::use_awaitable);
    if (!done) spdlog::error("last_activity_store_failed account={} error={}", account.bare_string(), done.error().message());
}

void spawn_record_logout(storage::Database& db, const protocol::Jid& account, std::string status) {
    auto* io = net::IoPool::current();
    if (!io) return;
    boost::asio::co_spawn(*io, record_logout(db, account.bare(), std::move(status)), boost::asio::detached);
}

// XEP-0012 §8: only those who may see the account's presence, i.e. the account itself
// and contacts it has a 'from' or 'both' subscription with.
boost::asio::awaitable<bool> may_see_presence(storage::Database& db, const protocol::Jid& account,
                                              const protocol::Jid& requester) {
    if (requester.bare() == account.bare()) co_return true;
    const std::string key = routing::account_key(account);
    auto read = [domain = account.domain(), local = account.local(), who = requester.bare_string()](
                    pqxx::connection& c) {
        for (const auto& item : storage::roster_store::get(c, domain, local).items) {
            if (item.jid == who) return item.subscription == "from" || item.subscription == "both";
        }
        return false;
    };
    auto allowed = co_await db.run<bool>(key, std::move(read), boost::asio::use_awaitable);
    if (!allowed) {
        spdlog::error("last_activity_roster_failed account={} error={}", account.bare_string(),
                      allowed.error().message());
        co_return false;
    }
    co_return *allowed;
}

}  // namespace

void LastActivity::start(ModuleContext& ctx) {
    // Modules start just before the server accepts connections, so this is its start.
    // steady_clock: uptime must not jump when the wall clock is set.
    const auto started = std::chrono::steady_clock::now();
    ctx.on_iq(routing::IqType::get, std::string(ns_last), routing::IqScope::server,
              [started](const routing::Stanza&) -> boost::asio::awaitable<routing::IqResult> {
                  const auto up = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - started);
                  protocol::xml::Element q("query", std::string(ns_last));
                  q.set_attr("seconds", std::to_string(up.count()));
                  co_return std::optional<protocol::xml::Element>(std::move(q));
              });
    ctx.add_disco_feature(std::string(ns_last));

    auto& db = ctx.db();
    auto& sessions = ctx.sessions();
    ctx.on_iq(routing::IqType::get, std::string(ns_last), routing::IqScope::account,
              [&db, &sessions](const routing::Stanza& iq) -> boost::asio::awaitable<routing::IqResult> {
                  const protocol::Jid account = iq.to.bare();
                  auto check = may_see_presence(db, account, iq.from);
                  const bool allowed = co_await std::move(check);
                  if (!allowed) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
                  Element q("query", std::string(ns_last));
                  // §4: while a resource is available the account is not "logged out".
                  if (has_available_resource(sessions, account)) {
                      q.set_attr("seconds", "0");
                      co_return std::optional<Element>(std::move(q));
                  }
                  const std::string key = routing::account_key(account);
                  auto read = [domain = account.domain(), local = account.local()](pqxx::connection& c) {
                      return storage::last_activity_store::get(c, domain, local);
                  };
                  auto last = co_await db.run<std::optional<storage::last_activity_store::LastActivity>>(
                      key, std::move(read), boost::asio::use_awaitable);
                  if (!last) co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
                  if (!*last) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
                  q.set_attr("seconds", std::to_string((*last)->seconds));
                  if (!(*last)->status.empty()) q.add_text((*last)->status);
                  co_return std::optional<Element>(std::move(q));
              });
    ctx.add_account_feature(std::string(ns_last));

    // An unavailable presence from the last available resource is a logout with a
    // status. Runs before the presence module marks the resource unavailable.
    ctx.hooks().presence_broadcast.add(priority::deliver + 10, [&db, &sessions](PresenceBroadcast& ev) {
        const routing::Stanza& s = ev.stanza;
        if (s.el.attr("type") != "unavailable") return HookResult::pass;
        const protocol::Jid account = s.from.bare();
        bool was_available = false;
        for (const auto& r : sessions.resources(account)) {
            if (r.resource == s.from.resource()) was_available = r.available;
        }
        if (!was_available || has_available_resource(sessions, account, s.from.resource())) return HookResult::pass;
        spawn_record_logout(db, account, s.el.child_text("status"));
        return HookResult::pass;
    });
    // A session that went away while available (no unavailable presence first). It is
    // already unbound, so any available resource left is another one.
    ctx.hooks().session_closed.add(priority::deliver, [&db, &sessions](SessionClosed& ev) {
        if (!ev.was_available) return HookResult::pass;
        const protocol::Jid account = ev.jid.bare();
        if (has_available_resource(sessions, account)) return HookResult::pass;
        spawn_record_logout(db, account, {});
        return HookResult::pass;
    });
}

}  // namespace parley::server::modules
