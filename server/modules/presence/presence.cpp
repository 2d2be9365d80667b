#include "server/modules/presence/presence.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>
#include <unordered_map>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/pep/avatar_convert.hpp"
#include "server/modules/presence/subscription_state.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/pep_store.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules {

namespace rs = storage::roster_store;
using boost::asio::awaitable;
using boost::asio::use_awaitable;
using protocol::Jid;
using protocol::xml::Element;
using routing::Stanza;

int presence_priority(const Element& presence) {
    const std::string text = presence.child_text("priority");
    int value = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || p != text.data() + text.size()) return 0;
    return std::clamp(value, -128, 127);
}

namespace presence {

namespace {

// Sends presence from `from` to `to` through the router, so the recipient's filters
// (blocking) apply; a remote recipient gets it over federation. With federation off,
// remote contacts are skipped rather than answered with an error per broadcast.
void route_presence(routing::Router& router, Element el, const Jid& from, const Jid& to) {
    if (!router.reaches(to.domain())) return;
    el.set_attr("from", from.to_string());
    el.set_attr("to", to.to_string());
    router.route(Stanza{std::move(el), from, to, 0});
}

}  // namespace

void send_typed(routing::Router& router, std::string_view type, const Jid& from, const Jid& to) {
    Element p("presence", std::string(protocol::ns::client));
    p.set_attr("type", std::string(type));
    route_presence(router, std::move(p), from, to);
}

void send_current_presence(routing::Router& router, const Jid& account, const Jid& contact) {
    for (const auto& r : router.sessions().resources(account)) {
        if (!r.available || !r.presence) continue;
        route_presence(router, *r.presence, account.bare().with_resource(r.resource), contact);
    }
}

void send_unavailable(routing::Router& router, const Jid& account, const Jid& contact) {
    for (const auto& r : router.sessions().resources(account)) {
        if (!r.available) continue;
        send_typed(router, "unavailable", account.bare().with_resource(r.resource), contact);
    }
}

namespace {

// Directed presence (§4.6) per session: whom to tell when the session goes unavailable.
class DirectedPresence {
public:
    static constexpr std::size_t max_per_session = 1000;  // bounds what one client can make us remember

    void add(std::uint64_t session, const Jid& to) {
        std::lock_guard lock(mutex_);
        auto& targets = by_session_[session];
        if (targets.size() < max_per_session) targets.insert(to.to_string());
    }
    void remove(std::uint64_t session, const Jid& to) {
        std::lock_guard lock(mutex_);
        auto it = by_session_.find(session);
        if (it == by_session_.end()) return;
        it->second.erase(to.to_string());
        if (it->second.empty()) by_session_.erase(it);
    }
    std::set<std::string> take(std::uint64_t session) {
        std::lock_guard lock(mutex_);
        auto it = by_session_.find(session);
        if (it == by_session_.end()) return {};
        std::set<std::string> out = std::move(it->second);
        by_session_.erase(it);
        return out;
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::set<std::string>> by_session_;
};

enum class Kind { initial, update, unavailable };

constexpr std::string_view ns_vcard_update = "vcard-temp:x:update";  // XEP-0153

// XEP-0398 §4: the server puts the account's avatar hash into its available presence,
// unless the client sent an empty <photo/> (it means "no avatar"); an <x/> without a
// photo is filled in, and a different hash is replaced.
void put_avatar_hash(Element& presence, const std::string& hash) {
    Element* x = presence.find_child("x", ns_vcard_update);
    if (!x) x = &presence.add_child("x", std::string(ns_vcard_update));
    if (Element* photo = x->find_child("photo", ns_vcard_update)) {
        if (photo->text().empty() || photo->text() == hash) return;
        x->remove_children("photo", ns_vcard_update);
    }
    x->add_child("photo").add_text(hash);
}

// The last avatar hash seen per account, for directed presence (MUC joins) that does
// not wait for storage; it is refreshed by every broadcast of the account.
class AvatarHashes {
public:
    void set(const std::string& account, std::optional<std::string> hash) {
        std::lock_guard lock(mutex_);
        if (hash && !hash->empty()) {
            by_account_[account] = std::move(*hash);
        } else if (hash) {
            by_account_.erase(account);
        }
    }
    std::optional<std::string> get(const std::string& account) const {
        std::lock_guard lock(mutex_);
        auto it = by_account_.find(account);
        if (it == by_account_.end()) return std::nullopt;
        return it->second;
    }

private:
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::string> by_account_;
};

struct BroadcastData {
    rs::Roster roster;
    // The avatar of the account's PEP metadata: its id (the SHA-1 of the image), "" when
    // the avatar is disabled, nullopt when there is none (nothing is said then).
    std::optional<std::string> avatar;
};

std::optional<std::string> stored_avatar_hash(pqxx::connection& c, const std::string& domain,
                                              const std::string& local) {
    const std::string node(pep::avatar_metadata_node);
    auto items = storage::pep_store::items(c, domain, local, node, 1);
    if (items.empty()) return std::nullopt;
    auto el = parse_stored_xml(items.back().payload);
    if (!el) return std::nullopt;
    auto metadata = pep::read_metadata(*el);
    if (!metadata) return std::nullopt;
    if (metadata->disabled || !metadata->local) return std::string();
    return metadata->local->id;
}

// Broadcast of a session's own presence (§4.2, §4.4, §4.5). `to_roster` is false for
// an unavailable presence of a session that never was available: only the entities
// that got directed presence hear of it.
awaitable<void> broadcast(ModuleContext& ctx, DirectedPresence& directed, AvatarHashes& avatars, Element presence,
                          Jid from, std::uint64_t session, Kind kind, bool to_roster) {
    routing::Router& router = ctx.router();
    const Jid owner = from.bare();
    std::set<std::string> told;  // bare JIDs that got it through the roster
    if (to_roster) {
        const bool available = kind != Kind::unavailable;
        auto read = [domain = owner.domain(), local = owner.local(), available](pqxx::connection& c) {
            BroadcastData d;
            d.roster = rs::get(c, domain, local);
            if (available) d.avatar = stored_avatar_hash(c, domain, local);
            return d;
        };
        const std::string key = routing::account_key(owner);
        auto data = co_await ctx.db().run<BroadcastData>(key, std::move(read), use_awaitable);
        if (data && available) {
            avatars.set(owner.bare_string(), data->avatar);
            if (data->avatar && !data->avatar->empty()) {
                put_avatar_hash(presence, *data->avatar);
                // Probes are answered with what the contacts were sent.
                auto stored = std::make_shared<const Element>(presence);
                router.sessions().update(from, session, [&](routing::ResourceEntry& e) {
                    if (e.available) e.presence = stored;
                });
            }
        }
        if (!data) {
            spdlog::error("presence_roster_read_failed jid={} error={}", key, data.error().message());
        } else {
            for (const auto& item : data->roster.items) {
                auto contact = Jid::parse(item.jid);
                if (!contact || ctx.is_blocked(owner, *contact)) continue;
                const auto sub = parse_sub(item.subscription).value_or(Sub::none);
                if (contact_sees_us(sub)) {
                    route_presence(router, presence, from, *contact);
                    told.insert(item.jid);
                }
                if (kind == Kind::initial && we_see_contact(sub)) {
                    send_typed(router, "probe", owner, *contact);  // §4.3.1: from the bare JID
                }
            }
        }
        // The account's other available resources see it too, and a new resource sees them.
        for (const auto& r : router.sessions().resources(owner)) {
            if (r.ref.id == session || !r.available) continue;
            const Jid sibling = owner.with_resource(r.resource);
            Element copy = presence;
            copy.set_attr("to", sibling.to_string());
            r.ref.deliver(std::move(copy));
            if (kind == Kind::initial && r.presence) {
                Element back = *r.presence;
                back.set_attr("from", sibling.to_string());
                back.set_attr("to", from.to_string());
                router.deliver_to_resource(from, std::move(back));
            }
        }
    }
    if (kind == Kind::unavailable) {
        for (const auto& target : directed.take(session)) {
            auto to = Jid::parse(target);
            if (!to || told.count(to->bare_string())) continue;
            route_presence(router, presence, from, *to);
        }
    }
}

// §4.3.2: a probe from `prober` is answered with the last presence of each available
// resource when the prober is subscribed to the account; otherwise, or when none is
// available, with nothing.
awaitable<void> answer_probe(ModuleContext& ctx, Jid account, Jid prober) {
    if (ctx.is_blocked(account, prober)) co_return;
    auto read = [domain = account.domain(), local = account.local(), contact = prober.bare_string()](
                    pqxx::connection& c) {
        pqxx::read_transaction t(c);
        return rs::find_item(t, domain, local, contact);
    };
    const std::string key = routing::account_key(account);
    auto item = co_await ctx.db().run<std::optional<rs::Item>>(key, std::move(read), use_awaitable);
    if (!item) {
        spdlog::error("presence_probe_read_failed jid={} error={}", key, item.error().message());
        co_return;
    }
    if (!*item || !contact_sees_us(parse_sub((*item)->subscription).value_or(Sub::none))) co_return;
    send_current_presence(ctx.router(), account, prober);
}

void spawn(awaitable<void> task) {
    if (auto* io = net::IoPool::current()) boost::asio::co_spawn(*io, std::move(task), boost::asio::detached);
}

}  // namespace
}  // namespace presence

void Presence::start(ModuleContext& ctx) {
    using namespace presence;
    auto directed = std::make_shared<DirectedPresence>();
    auto avatars = std::make_shared<AvatarHashes>();
    auto& router = ctx.router();
    auto& hooks = ctx.hooks();

    // Directed presence is remembered before it is routed (it reaches no hook of ours
    // when its recipient is remote).
    hooks.stanza_from_client.add(10, [directed, avatars](StanzaFromClient& ev) {
        Stanza& s = ev.stanza;
        if (s.el.name() != "presence" || s.to.empty() || s.to.bare() == s.from.bare()) return HookResult::pass;
        const std::string_view type = s.el.attr("type");
        if (type.empty()) {
            directed->add(s.origin_session, s.to);
            if (auto hash = avatars->get(s.from.bare_string())) put_avatar_hash(s.el, *hash);  // XEP-0398 §4
        }
        if (type == "unavailable") directed->remove(s.origin_session, s.to);
        return HookResult::pass;
    });

    hooks.presence_broadcast.add(priority::deliver, [&ctx, &router, &hooks, directed, avatars](PresenceBroadcast& ev) {
        Stanza& s = ev.stanza;
        const std::string_view type = s.el.attr("type");
        if (type.empty()) {
            bool was_available = true;
            bool bound = false;
            auto stored = std::make_shared<const Element>(s.el);
            router.sessions().update(s.from, s.origin_session, [&](routing::ResourceEntry& e) {
                bound = true;
                was_available = e.available;
                e.available = true;
                e.priority = presence_priority(s.el);
                e.presence = stored;
            });
            if (!bound) return HookResult::stop;
            const Kind kind = was_available ? Kind::update : Kind::initial;
            spawn(broadcast(ctx, *directed, *avatars, s.el, s.from, s.origin_session, kind, true));
            if (!was_available) {
                SessionAvailable available{s.from, s.origin_session, s.el};
                hooks.session_available.run(available);
            }
        } else if (type == "unavailable") {
            bool was_available = false;
            router.sessions().update(s.from, s.origin_session, [&](routing::ResourceEntry& e) {
                was_available = e.available;
                e.available = false;
                e.priority = 0;
                e.presence.reset();
            });
            spawn(broadcast(ctx, *directed, *avatars, s.el, s.from, s.origin_session, Kind::unavailable, was_available));
        }
        // Other types without 'to' (probe, subscriptions, error) mean nothing here.
        return HookResult::stop;
    });

    // A dropped connection is an implied unavailable presence (§4.5.2 and §4.6.2).
    hooks.session_closed.add(priority::deliver, [&ctx, directed, avatars](SessionClosed& ev) {
        Element p("presence", std::string(protocol::ns::client));
        p.set_attr("type", "unavailable");
        p.set_attr("from", ev.jid.to_string());
        spawn(broadcast(ctx, *directed, *avatars, std::move(p), ev.jid, ev.session_id, Kind::unavailable,
                        ev.was_available));
        return HookResult::pass;
    });

    hooks.presence_to_user.add(priority::deliver, [&ctx, &router](PresenceToUser& ev) {
        Stanza& s = ev.stanza;
        const std::string_view type = s.el.attr("type");
        if (type == "probe") {
            spawn(answer_probe(ctx, s.to.bare(), s.from));
            return HookResult::stop;
        }
        if (type != "unavailable" && type != "error" && !type.empty()) return HookResult::stop;
        if (s.to.has_resource()) {
            router.deliver_to_resource(s.to, std::move(s.el));  // absent: silently dropped (§4.3)
            return HookResult::stop;
        }
        for (const auto& r : router.sessions().resources(s.to)) {
            if (r.available && r.ref.id != s.origin_session) r.ref.deliver(s.el);
        }
        return HookResult::stop;
    });
}

}  // namespace parley::server::modules
