// XEP-0313: Message Archive Management — see mam.hpp for what is implemented.
// The write side: two hooks put a row for each party on the archive's write queue
// (storage/archive_queue.hpp) and stamp the recipient's XEP-0359 stanza-id before the
// message is delivered, so routing never waits for PostgreSQL. The read side and the
// preferences iq are in mam_query.cpp and here.
#include "server/modules/mam/mam.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "protocol/xml/element.hpp"
#include "server/modules/mam/mam_policy.hpp"
#include "server/modules/mam/prefs_cache.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/archive_queue.hpp"
#include "storage/archive_store.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"
#include "storage/user_store.hpp"

namespace parley::server::modules {

using boost::asio::awaitable;
using protocol::Jid;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;
using routing::Stanza;

namespace mam {
namespace {

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

storage::archive_store::Row make_row(std::int64_t id, const Jid& archive, const Jid& with, const Element& message) {
    storage::archive_store::Row row;
    row.id = id;
    row.archive = archive.bare_string();
    row.with_bare = with.bare_string();
    row.with_resource = with.resource();
    row.ts_us = now_us();
    row.xml = protocol::xml::to_string(message);
    return row;
}

void spawn(awaitable<void> task) {
    if (auto* io = net::IoPool::current()) boost::asio::co_spawn(*io, std::move(task), boost::asio::detached);
}

// The recipient's row when its archiving cannot be decided on the I/O thread: the
// account may not exist (nobody is online), or its preference is "roster". Runs on the
// account's database thread, ahead of any offline store or MAM query for it, so the row
// is queued before anything could show the message to the account.
awaitable<void> archive_after_check(ModuleContext& ctx, storage::archive_store::Row row, bool ask_roster,
                                    Stanza original, Jid account) {
    storage::ArchiveQueue& queue = ctx.archive();
    const std::string key = routing::account_key(account);
    auto job = [&queue, row = std::move(row), ask_roster, domain = account.domain(), local = account.local()](
                   pqxx::connection& c) mutable -> int {
        if (!storage::user_store::exists(c, domain, local)) return 0;
        if (ask_roster) {
            pqxx::read_transaction t(c);
            if (!storage::roster_store::find_item(t, domain, local, row.with_bare)) return 0;
        }
        return queue.push(std::move(row)) ? 1 : -1;
    };
    auto done = co_await ctx.db().run<int>(key, std::move(job), boost::asio::use_awaitable);
    if (!done) {
        spdlog::error("archive_check_failed account={} error={}", account.bare_string(), done.error().message());
        co_return;
    }
    if (*done < 0) {
        spdlog::warn("archive_queue_full account={} (message not archived; sender told)", account.bare_string());
        ctx.router().bounce(original, protocol::stanza_error(StanzaErrorCondition::resource_constraint));
    }
}

// Deletes what is older than the retention period, on its own thread (the module
// holds no I/O context); ends when the module goes away.
class RetentionSweeper {
public:
    RetentionSweeper(storage::Database& db, std::chrono::seconds retention) {
        const auto interval = std::clamp<std::chrono::seconds>(retention / 10, std::chrono::seconds(1),
                                                               std::chrono::seconds(3600));
        thread_ = std::thread([this, &db, retention, interval] {
            std::unique_lock lock(mutex_);
            while (!cv_.wait_for(lock, interval, [this] { return stopping_; })) {
                lock.unlock();
                const std::int64_t cutoff =
                    now_us() - std::chrono::duration_cast<std::chrono::microseconds>(retention).count();
                auto removed = db.run_sync<std::size_t>("archive", [cutoff](pqxx::connection& c) {
                    return storage::archive_store::remove_older_than(c, cutoff);
                });
                if (!removed) {
                    spdlog::warn("archive_retention_failed error={}", removed.error().message());
                } else if (*removed > 0) {
                    spdlog::info("archive_retention removed={}", *removed);
                }
                lock.lock();
            }
        });
    }
    ~RetentionSweeper() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stopping_ = false;
    std::thread thread_;
};

Element prefs_element(const Prefs& p) {
    Element prefs("prefs", std::string(ns_mam));
    prefs.set_attr("default", p.default_mode);
    for (const auto* list : {&p.always, &p.never}) {
        Element& el = prefs.add_child(list == &p.always ? "always" : "never");
        for (const auto& jid : *list) el.add_child("jid").add_text(jid);
    }
    return prefs;
}

// <prefs default=… ><always><jid/>…</always><never>…</never></prefs> → Prefs; nullopt
// when malformed (an unknown mode, a JID that does not parse).
std::optional<Prefs> read_prefs(const Element& el) {
    Prefs p;
    p.default_mode = std::string(el.attr("default"));
    if (p.default_mode != "always" && p.default_mode != "never" && p.default_mode != "roster") return std::nullopt;
    for (const auto& child : el.children()) {
        if (child.is_text()) continue;
        std::vector<std::string>* list = child.name() == "always" ? &p.always
                                         : child.name() == "never" ? &p.never
                                                                   : nullptr;
        if (!list) return std::nullopt;
        for (const auto& j : child.children()) {
            if (j.is_text()) continue;
            auto jid = Jid::parse(j.text());
            if (j.name() != "jid" || !jid) return std::nullopt;
            list->push_back(jid->bare_string());
        }
    }
    return p;
}

struct State {
    explicit State(std::string default_mode) : prefs(std::move(default_mode)) {}
    PrefsCache prefs;
    std::unique_ptr<RetentionSweeper> sweeper;
};

awaitable<IqResult> handle_prefs(ModuleContext& ctx, State& st, const Stanza& iq, const Element& prefs_el) {
    const std::string account = iq.to.bare_string();
    if (iq.el.attr("type") == "get") co_return std::optional<Element>(prefs_element(st.prefs.get(account)));
    auto prefs = read_prefs(prefs_el);
    if (!prefs) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    storage::archive_store::Prefs stored{prefs->default_mode, prefs->always, prefs->never};
    auto save = [account, stored = std::move(stored)](pqxx::connection& c) {
        storage::archive_store::save_prefs(c, account, stored);
    };
    const std::string key = routing::account_key(iq.to);
    auto saved = co_await ctx.db().run<void>(key, std::move(save), boost::asio::use_awaitable);
    if (!saved) {
        spdlog::error("mam_prefs_store_failed account={} error={}", account, saved.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    st.prefs.set(account, *prefs);
    co_return std::optional<Element>(prefs_element(*prefs));
}

awaitable<IqResult> handle_iq(ModuleContext& ctx, State& st, const Stanza& iq) {
    // XEP-0313 §4: a user's archive is the user's alone.
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* payload = iq.el.first_child_element();
    if (payload && payload->name() == "prefs") co_return co_await handle_prefs(ctx, st, iq, *payload);
    if (!payload || payload->name() != "query") co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    const std::string archive = iq.to.bare_string();
    co_return co_await answer_query(ctx, archive, iq);
}

}  // namespace
}  // namespace mam

void Mam::start(ModuleContext& ctx) {
    using namespace mam;
    const auto& cfg = ctx.config().archive;
    auto state = std::make_shared<State>(cfg.default_mode);
    if (cfg.enabled) {
        auto loaded = ctx.db().run_sync<std::vector<std::pair<std::string, storage::archive_store::Prefs>>>(
            "archive", [](pqxx::connection& c) { return storage::archive_store::all_prefs(c); });
        if (loaded) {
            for (auto& [account, p] : *loaded) state->prefs.set(account, Prefs{p.default_mode, p.always, p.never});
        } else {
            spdlog::error("mam_prefs_load_failed error={} (defaults apply)", loaded.error().message());
        }
        if (cfg.retention.count() > 0) state->sweeper = std::make_unique<RetentionSweeper>(ctx.db(), cfg.retention);
    }
    state_ = state;
    if (!cfg.enabled) return;

    ctx.add_account_feature(std::string(ns_mam));
    ctx.add_account_feature(std::string(ns_sid));
    ctx.add_disco_feature(std::string(ns_sid));
    for (auto type : {routing::IqType::get, routing::IqType::set}) {
        ctx.on_iq(type, std::string(ns_mam), routing::IqScope::account,
                  [&ctx, state](const Stanza& iq) { return handle_iq(ctx, *state, iq); });
    }

    // Recipient side, before carbons copy the message and before delivery: the stanza-id
    // must be in every copy the account's clients see.
    ctx.hooks().message_to_user.add(priority::archive, [&ctx, state](MessageToUser& ev) {
        Stanza& s = ev.stanza;
        if (!should_archive(s.el)) return HookResult::pass;
        const Jid account = s.to.bare();
        const std::string account_text = account.bare_string();
        const Decision decision = state->prefs.decide(account_text, s.from.bare_string());
        if (decision == Decision::skip) return HookResult::pass;
        storage::ArchiveQueue& queue = ctx.archive();
        const std::int64_t id = queue.next_id();
        stamp_stanza_id(s.el, id, account_text);
        auto row = make_row(id, account, s.from, s.el);
        if (decision == Decision::archive && !ctx.sessions().resources(account).empty()) {
            if (!queue.push(std::move(row))) {
                spdlog::warn("archive_queue_full account={} (message refused)", account_text);
                ctx.router().bounce(s, protocol::stanza_error(StanzaErrorCondition::resource_constraint));
                return HookResult::stop;
            }
            return HookResult::pass;
        }
        spawn(archive_after_check(ctx, std::move(row), decision == Decision::ask_roster, s, account));
        return HookResult::pass;
    });

    // Sender side: a local account's outgoing message, after the filters (blocking)
    // passed it. Messages to oneself are archived on the recipient side only.
    ctx.hooks().stanza_from_client.add(priority::archive, [&ctx, state](StanzaFromClient& ev) {
        Stanza& s = ev.stanza;
        if (s.el.name() != "message" || s.to.empty() || s.to.bare() == s.from.bare()) return HookResult::pass;
        if (!should_archive(s.el)) return HookResult::pass;
        const Jid account = s.from.bare();
        const Decision decision = state->prefs.decide(account.bare_string(), s.to.bare_string());
        if (decision == Decision::skip) return HookResult::pass;
        storage::ArchiveQueue& queue = ctx.archive();
        auto row = make_row(queue.next_id(), account, s.to, s.el);
        if (decision == Decision::ask_roster) {
            spawn(archive_after_check(ctx, std::move(row), true, s, account));
            return HookResult::pass;
        }
        if (!queue.push(std::move(row))) {
            spdlog::warn("archive_queue_full account={} (message refused)", account.bare_string());
            ctx.router().bounce(s, protocol::stanza_error(StanzaErrorCondition::resource_constraint));
            return HookResult::stop;
        }
        return HookResult::pass;
    });
}

}  // namespace parley::server::modules
