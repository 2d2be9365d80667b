#include "server/routing/session_registry.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <functional>

namespace parley::server::routing {

void SessionRef::deliver(protocol::xml::Element stanza) const {
    boost::asio::dispatch(executor, [t = target, s = std::move(stanza)]() mutable {
        if (auto p = t.lock()) p->deliver(std::move(s));
    });
}

void SessionRef::close(protocol::StreamErrorCondition condition) const {
    boost::asio::post(executor, [t = target, condition] {
        if (auto p = t.lock()) p->close_stream(condition);
    });
}

SessionRegistry::Shard& SessionRegistry::shard_for(const std::string& bare) const {
    return shards_[std::hash<std::string>{}(bare) % shard_count];
}

std::optional<SessionRef> SessionRegistry::bind(const protocol::Jid& full, SessionRef ref) {
    const std::string bare = full.bare_string();
    Shard& s = shard_for(bare);
    std::lock_guard lock(s.mutex);
    auto& entries = s.accounts[bare];
    for (auto& e : entries) {
        if (e.resource == full.resource()) {
            SessionRef old = std::move(e.ref);
            e = ResourceEntry{};
            e.resource = full.resource();
            e.ref = std::move(ref);
            return old;
        }
    }
    ResourceEntry entry;
    entry.resource = full.resource();
    entry.ref = std::move(ref);
    entries.push_back(std::move(entry));
    count_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
}

void SessionRegistry::unbind(const protocol::Jid& full, std::uint64_t id) {
    const std::string bare = full.bare_string();
    Shard& s = shard_for(bare);
    std::lock_guard lock(s.mutex);
    auto it = s.accounts.find(bare);
    if (it == s.accounts.end()) return;
    auto& entries = it->second;
    auto e = std::find_if(entries.begin(), entries.end(), [&](const ResourceEntry& r) {
        return r.resource == full.resource() && r.ref.id == id;
    });
    if (e == entries.end()) return;
    entries.erase(e);
    count_.fetch_sub(1, std::memory_order_relaxed);
    if (entries.empty()) s.accounts.erase(it);
}

bool SessionRegistry::update(const protocol::Jid& full, std::uint64_t id,
                             const std::function<void(ResourceEntry&)>& change) {
    const std::string bare = full.bare_string();
    Shard& s = shard_for(bare);
    std::lock_guard lock(s.mutex);
    auto it = s.accounts.find(bare);
    if (it == s.accounts.end()) return false;
    for (auto& e : it->second) {
        if (e.resource == full.resource() && e.ref.id == id) {
            change(e);
            return true;
        }
    }
    return false;
}

void SessionRegistry::set_presence(const protocol::Jid& full, std::uint64_t id, bool available,
                                   int priority) {
    update(full, id, [&](ResourceEntry& e) {
        e.available = available;
        e.priority = priority;
        if (!available) e.presence.reset();
    });
}

void SessionRegistry::set_roster_requested(const protocol::Jid& full, std::uint64_t id) {
    update(full, id, [](ResourceEntry& e) { e.roster_requested = true; });
}

std::optional<SessionRef> SessionRegistry::find(const protocol::Jid& full) const {
    const std::string bare = full.bare_string();
    Shard& s = shard_for(bare);
    std::lock_guard lock(s.mutex);
    auto it = s.accounts.find(bare);
    if (it == s.accounts.end()) return std::nullopt;
    for (const auto& e : it->second) {
        if (e.resource == full.resource()) return e.ref;
    }
    return std::nullopt;
}

std::vector<ResourceEntry> SessionRegistry::resources(const protocol::Jid& bare) const {
    const std::string key = bare.bare_string();
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.accounts.find(key);
    if (it == s.accounts.end()) return {};
    return it->second;
}

std::size_t SessionRegistry::resource_count(const protocol::Jid& bare) const {
    const std::string key = bare.bare_string();
    Shard& s = shard_for(key);
    std::lock_guard lock(s.mutex);
    auto it = s.accounts.find(key);
    return it == s.accounts.end() ? 0 : it->second.size();
}

std::vector<SessionRef> SessionRegistry::all() const {
    std::vector<SessionRef> out;
    for (auto& s : shards_) {
        std::lock_guard lock(s.mutex);
        for (const auto& [bare, entries] : s.accounts) {
            for (const auto& e : entries) out.push_back(e.ref);
        }
    }
    return out;
}

}  // namespace parley::server::routing
