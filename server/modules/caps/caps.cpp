#include "server/modules/caps/caps.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/caps/caps_hash.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"

namespace parley::server::modules {

using protocol::xml::Element;

namespace {

// Queries awaiting an answer, all clients together: past this, new vers wait for a
// later presence instead of costing the server memory and the clients traffic.
constexpr std::size_t max_in_flight = 256;
// Sessions waiting on one ver being verified (the first of them is the one asked).
constexpr std::size_t max_waiters_per_ver = 64;
// (session, ver) pairs whose answer did not verify; cleared when full (the worst case
// is one more query per such session).
constexpr std::size_t max_failed = 4096;
constexpr std::chrono::seconds query_timeout{30};

struct Waiter {
    protocol::Jid jid;
    std::uint64_t session = 0;
    std::string via;  // our domain that asks (a remote entity's contact's); "" = jid's
};

struct State {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<Waiter>> in_flight;  // ver → waiters
    std::set<std::pair<std::uint64_t, std::string>> failed;
};

struct Query {
    std::string node;
    std::string ver;
    caps::HashAlgorithm algorithm;
};

caps::Features features_of(const Element& query) {
    caps::Features features;
    for (const Element& child : query.children()) {
        if (!child.is_text() && child.name() == "feature") features.emplace_back(child.attr("var"));
    }
    return features;
}

// Asks `asked` for the disco#info behind the ver; true when the answer verified.
boost::asio::awaitable<bool> ask(routing::Router& router, caps::CapsCache& cache, const Waiter& asked, const Query& q) {
    Element iq("iq", std::string(protocol::ns::client));
    iq.set_attr("type", "get");
    iq.add_child("query", std::string(protocol::ns::disco_info)).set_attr("node", q.node + "#" + q.ver);
    auto from = protocol::Jid::from_parts({}, asked.via.empty() ? asked.jid.domain() : asked.via);
    if (!from) co_return false;
    protocol::Jid server_jid = *from;
    protocol::Jid to = asked.jid;
    std::chrono::milliseconds timeout = query_timeout;
    auto answer = co_await router.request(std::move(iq), std::move(server_jid), std::move(to), timeout,
                                          boost::asio::use_awaitable);
    if (!answer) {
        spdlog::warn("caps_query_failed jid={} ver={} reason=no_answer", asked.jid.to_string(), q.ver);
        co_return false;
    }
    const Element* query = answer->find_child("query", protocol::ns::disco_info);
    if (answer->attr("type") != "result" || !query) {
        spdlog::warn("caps_query_failed jid={} ver={} reason=error_reply", asked.jid.to_string(), q.ver);
        co_return false;
    }
    if (!caps::matches(*query, q.algorithm, q.ver)) {
        spdlog::warn("caps_hash_mismatch jid={} ver={}", asked.jid.to_string(), q.ver);
        co_return false;
    }
    cache.put(q.ver, features_of(*query));
    spdlog::debug("caps_verified jid={} ver={}", asked.jid.to_string(), q.ver);
    co_return true;
}

// Verifies one ver: asks its first waiter; on failure the next one (§5.4 step 3.9:
// check another entity that advertises the value), until one verifies or none is left.
boost::asio::awaitable<void> verify(routing::Router& router, caps::CapsCache& cache, std::shared_ptr<State> state,
                                    Waiter asked, Query q) {
    for (;;) {
        bool ok = false;
        try {
            ok = co_await ask(router, cache, asked, q);
        } catch (const std::exception& ex) {
            spdlog::error("caps_query_error ver={} error={}", q.ver, ex.what());
        }
        std::vector<Waiter> waiters;
        {
            std::lock_guard lock(state->mutex);
            auto it = state->in_flight.find(q.ver);
            if (it != state->in_flight.end()) waiters = std::move(it->second);
            state->in_flight.erase(q.ver);
            if (!ok) {
                if (state->failed.size() >= max_failed) state->failed.clear();
                state->failed.emplace(asked.session, q.ver);
                std::erase_if(waiters, [&](const Waiter& w) { return w.session == asked.session; });
                if (waiters.empty()) co_return;
                state->in_flight.emplace(q.ver, waiters);
            }
        }
        if (ok) {
            for (const Waiter& w : waiters) cache.notify_verified(w.jid, w.session, q.ver);
            co_return;
        }
        asked = waiters.front();
    }
}

// The ver a presence advertises with a hash we support; nullopt otherwise (no <c/>,
// legacy caps without 'hash', an unknown hash).
std::optional<Query> advertised(const Element& presence) {
    const Element* c = presence.find_child("c", protocol::ns::caps);
    if (!c) return std::nullopt;
    auto algorithm = caps::hash_from_name(c->attr("hash"));
    if (!algorithm || c->attr("ver").empty()) return std::nullopt;
    return Query{std::string(c->attr("node")), std::string(c->attr("ver")), *algorithm};
}

// Starts verifying `q` with `self` as the first entity asked, unless the ver is known,
// already being verified (self waits then), or failed for this entity before.
void start_verify(routing::Router& router, caps::CapsCache& cache, const std::shared_ptr<State>& state, Waiter self,
                  Query q) {
    if (cache.features(q.ver)) return;
    {
        std::lock_guard lock(state->mutex);
        if (state->failed.contains({self.session, q.ver})) return;
        auto it = state->in_flight.find(q.ver);
        if (it != state->in_flight.end()) {
            auto& waiters = it->second;
            bool known = std::any_of(waiters.begin(), waiters.end(),
                                     [&](const Waiter& w) { return w.session == self.session; });
            if (!known && waiters.size() < max_waiters_per_ver) waiters.push_back(self);
            return;
        }
        if (state->in_flight.size() >= max_in_flight) {
            spdlog::warn("caps_query_skipped jid={} ver={} reason=too_many_in_flight", self.jid.to_string(), q.ver);
            return;
        }
        state->in_flight.emplace(q.ver, std::vector<Waiter>{self});
    }
    auto* io = net::IoPool::current();
    if (!io) {
        std::lock_guard lock(state->mutex);
        state->in_flight.erase(q.ver);
        return;
    }
    boost::asio::co_spawn(*io, verify(router, cache, state, std::move(self), std::move(q)), boost::asio::detached);
}

// A remote resource has no session of ours: a key from its JID stands in for one (the
// top bit set, so it never equals a local session id, which counts up from 1).
std::uint64_t remote_session_key(const protocol::Jid& full) {
    return std::hash<std::string>{}(full.to_string()) | (std::uint64_t{1} << 63);
}

}  // namespace

void Caps::start(ModuleContext& ctx) {
    auto state = std::make_shared<State>();
    routing::Router* router = &ctx.router();
    caps::CapsCache* cache = &ctx.caps();
    routing::SessionRegistry* sessions = &ctx.sessions();

    // Above delivery, so the ver is on the session before the presence is broadcast and
    // before SessionAvailable runs.
    ctx.hooks().presence_broadcast.add(priority::deliver + 100, [=](PresenceBroadcast& ev) {
        const routing::Stanza& s = ev.stanza;
        const std::string_view type = s.el.attr("type");
        if (!type.empty() && type != "unavailable") return HookResult::pass;
        std::optional<Query> q = type.empty() ? advertised(s.el) : std::nullopt;
        std::string ver = q ? q->ver : std::string();
        sessions->update(s.from, s.origin_session, [&](routing::ResourceEntry& e) { e.caps_ver = ver; });
        if (q) start_verify(*router, *cache, state, Waiter{s.from, s.origin_session, {}}, std::move(*q));
        return HookResult::pass;
    });
    // A contact on another server advertises its caps in the presence it sends our
    // users; its ver is verified the same way, over federation, so that PEP knows
    // whether it wants notifications. Before PEP's own hook, which waits for it.
    ctx.hooks().presence_to_user.add(priority::deliver + 100, [=](PresenceToUser& ev) {
        const routing::Stanza& s = ev.stanza;
        if (!s.el.attr("type").empty() || !s.from.has_resource() || router->is_local_domain(s.from.domain())) {
            return HookResult::pass;
        }
        if (std::optional<Query> q = advertised(s.el)) {
            Waiter remote{s.from, remote_session_key(s.from), s.to.domain()};
            start_verify(*router, *cache, state, std::move(remote), std::move(*q));
        }
        return HookResult::pass;
    });
    ctx.hooks().session_closed.add(priority::deliver + 100, [state](SessionClosed& ev) {
        std::lock_guard lock(state->mutex);
        auto it = state->failed.lower_bound({ev.session_id, std::string()});
        while (it != state->failed.end() && it->first == ev.session_id) it = state->failed.erase(it);
        return HookResult::pass;
    });
    // §9: an entity that supports caps says so (the server processes its clients' caps).
    ctx.add_disco_feature(std::string(protocol::ns::caps));
}

}  // namespace parley::server::modules
