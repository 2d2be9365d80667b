#include "server/modules/offline/offline.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/offline/offline_policy.hpp"
#include "server/modules/presence/presence_basic.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/offline_store.hpp"

namespace parley::server::modules {

using protocol::StanzaErrorCondition;
using protocol::xml::Element;
namespace store = storage::offline_store;

struct OfflineMessages::State {
    State(routing::Router& r, storage::Database& d, std::size_t l) : router(r), db(d), limit(l) {}
    routing::Router& router;
    storage::Database& db;
    std::size_t limit;
    // Accounts whose stored messages are being delivered right now, with the session
    // that gets them: a second session becoming available meanwhile must not deliver
    // (and later delete) the same rows. The entry goes when the flush ends or when its
    // session closes (its ping then goes unanswered and deletes nothing).
    struct Flush {
        std::uint64_t session_id;
        std::uint64_t token;
        std::string ping_id;  // the pending ping, failed at once if the session closes
    };
    std::mutex mutex;
    std::unordered_map<std::string, Flush> flushing;
    // Accounts that may hold stored messages, so that the login of any other account
    // costs no read. Changed on the account's database thread, in order with its
    // stores and deletes; `unknown` (the start-up read failed) means "any may".
    std::unordered_set<std::string> holding;
    bool unknown = false;

    void set_holding(const std::string& account, bool holds) {
        std::lock_guard lock(mutex);
        if (holds) {
            holding.insert(account);
        } else {
            holding.erase(account);
        }
    }
    bool may_hold(const std::string& account) {
        std::lock_guard lock(mutex);
        return unknown || holding.count(account) != 0;
    }
    std::uint64_t next_token = 0;

    std::optional<std::uint64_t> begin_flush(const std::string& account, std::uint64_t session_id) {
        std::lock_guard lock(mutex);
        const std::uint64_t token = ++next_token;
        if (!flushing.emplace(account, Flush{session_id, token, {}}).second) return std::nullopt;
        return token;
    }
    void end_flush(const std::string& account, std::uint64_t token) {
        std::lock_guard lock(mutex);
        auto it = flushing.find(account);
        if (it != flushing.end() && it->second.token == token) flushing.erase(it);
    }
    void set_ping(const std::string& account, std::uint64_t session_id, std::string id) {
        std::lock_guard lock(mutex);
        auto it = flushing.find(account);
        if (it != flushing.end() && it->second.session_id == session_id) it->second.ping_id = std::move(id);
    }
    void session_closed(const std::string& account, std::uint64_t session_id) {
        std::string ping_id;
        {
            std::lock_guard lock(mutex);
            auto it = flushing.find(account);
            if (it == flushing.end() || it->second.session_id != session_id) return;
            ping_id = std::move(it->second.ping_id);
            flushing.erase(it);
        }
        // No answer can come now: the flush learns it at once instead of at the timeout.
        if (!ping_id.empty()) router.iq_tracker().fail(ping_id);
    }
};

namespace {

using State = OfflineMessages::State;

boost::asio::awaitable<void> store_message(std::shared_ptr<State> st, routing::Stanza original, std::string xml) {
    const protocol::Jid account = original.to.bare();
    const std::string key = routing::account_key(account);
    auto write = [st, bare = account.bare_string(), domain = account.domain(), local = account.local(),
                  xml = std::move(xml), limit = st->limit](pqxx::connection& c) {
        const auto outcome = store::store(c, domain, local, xml, limit);
        if (outcome == store::StoreOutcome::stored) st->set_holding(bare, true);
        return outcome;
    };
    auto result = co_await st->db.run<store::StoreOutcome>(key, std::move(write), boost::asio::use_awaitable);
    if (result && *result == store::StoreOutcome::stored) {
        spdlog::debug("offline_stored to={}", account.bare_string());
        co_return;
    }
    if (!result) {
        spdlog::error("offline_store_failed to={} error={}", account.bare_string(), result.error().message());
    } else if (*result == store::StoreOutcome::full) {
        spdlog::warn("offline_store_full to={} limit={}", account.bare_string(), st->limit);
    }
    st->router.bounce(original, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
}

// XEP-0199 ping from the domain to `full`; its answer (result or error) proves that
// the session read everything sent before it. nullopt on timeout or when the session
// closes first. Router::request would do, but the ping's id must be known so that
// closing the session can fail it.
boost::asio::awaitable<std::optional<Element>> ping_after_delivery(std::shared_ptr<State> st,
                                                                  protocol::Jid full, std::uint64_t session_id) {
    auto init = [st, full, session_id](auto handler) {
        auto ex = boost::asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto& tracker = st->router.iq_tracker();
        const std::string id =
            tracker.add(full, std::chrono::seconds(30), [ex, shared](std::optional<Element> answer) {
                boost::asio::post(ex, [shared, answer = std::move(answer)]() mutable { (*shared)(std::move(answer)); });
            });
        Element ping("iq", std::string(protocol::ns::client));
        ping.set_attr("type", "get");
        ping.set_attr("id", id);
        ping.set_attr("from", full.domain());
        ping.set_attr("to", full.to_string());
        ping.add_child(Element("ping", std::string(protocol::ns::ping)));
        st->set_ping(full.bare_string(), session_id, id);
        if (!st->router.deliver_to_resource(full, std::move(ping))) tracker.fail(id);
    };
    auto op = boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(std::optional<Element>)>(
        std::move(init), boost::asio::use_awaitable);
    co_return co_await std::move(op);
}

// Delivers everything stored for `full`'s account, then pings it; the rows go only
// once the answer proves the session read what came before it.
boost::asio::awaitable<void> flush(std::shared_ptr<State> st, protocol::Jid full, std::uint64_t session_id) {
    const protocol::Jid account = full.bare();
    const std::string key = routing::account_key(account);
    auto read = [st, bare = account.bare_string(), domain = account.domain(),
                 local = account.local()](pqxx::connection& c) {
        auto rows = store::list(c, domain, local);
        if (rows.empty()) st->set_holding(bare, false);
        return rows;
    };
    auto rows = co_await st->db.run<std::vector<store::Message>>(key, std::move(read), boost::asio::use_awaitable);
    if (!rows) {
        spdlog::error("offline_read_failed to={} error={}", account.bare_string(), rows.error().message());
        co_return;
    }
    std::vector<std::int64_t> delivered;
    for (const auto& row : *rows) {
        auto el = parse_stored_xml(row.xml);
        if (!el) {
            // Unreadable rows would block nothing but would stay forever: drop them too.
            spdlog::error("offline_row_unreadable to={} id={}", account.bare_string(), row.id);
            delivered.push_back(row.id);
            continue;
        }
        if (!st->router.deliver_to_resource(full, std::move(*el))) break;  // the session is gone
        delivered.push_back(row.id);
    }
    if (delivered.empty()) co_return;

    auto ping_op = ping_after_delivery(st, full, session_id);  // a named local: GCC 12 coroutine bug
    auto answer = co_await std::move(ping_op);
    if (!answer) {
        spdlog::info("offline_delivery_unacknowledged to={} count={}", full.to_string(), delivered.size());
        co_return;
    }
    auto erase = [st, bare = account.bare_string(), domain = account.domain(), local = account.local(),
                  ids = delivered](pqxx::connection& c) {
        const std::size_t removed = store::remove(c, domain, local, ids);
        if (store::count(c, domain, local) == 0) st->set_holding(bare, false);
        return removed;
    };
    auto removed = co_await st->db.run<std::size_t>(key, std::move(erase), boost::asio::use_awaitable);
    if (!removed) {
        // They will come again at the next login: a repeat, but nothing is lost.
        spdlog::error("offline_delete_failed to={} error={}", account.bare_string(), removed.error().message());
    } else {
        spdlog::debug("offline_delivered to={} count={}", full.to_string(), *removed);
    }
}

}  // namespace

void OfflineMessages::start(ModuleContext& ctx) {
    state_ = std::make_shared<State>(ctx.router(), ctx.db(), ctx.config().limits.max_offline_messages);
    auto st = state_;
    // Which accounts hold messages, read once at start-up (like the blocklists).
    auto load = [](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        std::vector<std::string> out;
        for (const auto& row : t.exec("SELECT DISTINCT localpart, domain FROM offline_messages")) {
            out.push_back(std::string(row[0].c_str()) + "@" + row[1].c_str());
        }
        return out;
    };
    auto holding = ctx.db().run_sync<std::vector<std::string>>("offline-index", load);
    if (holding) {
        for (auto& account : *holding) st->holding.insert(std::move(account));
    } else {
        spdlog::error("offline_index_read_failed error={}", holding.error().message());
        st->unknown = true;
    }

    ctx.hooks().message_undeliverable.add(priority::offline, [st](MessageUndeliverable& ev) {
        routing::Stanza& s = ev.stanza;
        if (!offline::should_store(s.el)) return HookResult::pass;
        auto* io = net::IoPool::current();
        if (!io) return HookResult::pass;
        Element stamped = s.el;
        // The stored copy carries its addresses, whatever the sender wrote.
        stamped.set_attr("from", s.from.to_string());
        if (!stamped.has_attr("to")) stamped.set_attr("to", s.to.to_string());
        offline::add_delay(stamped, s.to.domain(), offline::utc_stamp(std::chrono::system_clock::now()));
        std::string xml = to_stored_xml(stamped);
        boost::asio::co_spawn(*io, store_message(st, std::move(s), std::move(xml)), boost::asio::detached);
        return HookResult::stop;
    });

    ctx.hooks().session_available.add(priority::deliver, [st](SessionAvailable& ev) {
        // RFC 6121 §8.5.2.1.1: a negative priority takes no messages for the bare JID.
        if (presence_priority(ev.presence) < 0) return HookResult::pass;
        auto* io = net::IoPool::current();
        if (!io) return HookResult::pass;
        const std::string account = ev.jid.bare_string();
        if (!st->may_hold(account)) return HookResult::pass;  // nothing stored: no read at login
        auto token = st->begin_flush(account, ev.session_id);
        if (!token) return HookResult::pass;
        protocol::Jid full = ev.jid;
        boost::asio::co_spawn(
            *io,
            [st, full, account, token = *token, session_id = ev.session_id]() -> boost::asio::awaitable<void> {
                try {
                    auto task = flush(st, full, session_id);  // a named local: GCC 12 coroutine bug
                    co_await std::move(task);
                } catch (const std::exception& e) {
                    spdlog::error("offline_flush_failed to={} error={}", full.to_string(), e.what());
                }
                st->end_flush(account, token);
            },
            boost::asio::detached);
        return HookResult::pass;
    });

    ctx.hooks().session_closed.add(priority::deliver, [st](SessionClosed& ev) {
        st->session_closed(ev.jid.bare_string(), ev.session_id);
        return HookResult::pass;
    });

    ctx.add_disco_feature("msgoffline");
}

}  // namespace parley::server::modules
