#pragma once
// The session table: bare JID → bound resources with their presence priority.
// The one map shared by every I/O thread, so it is sharded by hash; a shard's lock is
// held only to copy or change entries, never while calling out.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"
#include "server/routing/session_ref.hpp"

namespace parley::server::routing {

struct ResourceEntry {
    std::string resource;
    int priority = 0;
    bool available = false;  // sent initial presence and not unavailable since
    SessionRef ref;
    bool roster_requested = false;  // an "interested resource" (RFC 6121 §2.1.6)
    bool carbons = false;           // XEP-0280 enabled on this session
    // The last available presence it broadcast (RFC 6121 §4.3.2: what answers probes);
    // null while unavailable.
    std::shared_ptr<const protocol::xml::Element> presence;
    std::string caps_ver;  // XEP-0115: the 'ver' of its last presence's <c/> ("" = none)
};

class SessionRegistry {
public:
    // Binds `full`; returns the session it displaced (same resource), which the
    // caller closes with a conflict stream error.
    std::optional<SessionRef> bind(const protocol::Jid& full, SessionRef ref);
    // Removes `full` if it is still bound to session `id`.
    void unbind(const protocol::Jid& full, std::uint64_t id);
    void set_presence(const protocol::Jid& full, std::uint64_t id, bool available, int priority);
    // Marks `full` (still bound to session `id`) as having requested the roster, so it
    // gets roster pushes.
    void set_roster_requested(const protocol::Jid& full, std::uint64_t id);
    // Applies `change` to `full`'s entry under its shard's lock, if session `id` still
    // holds it; false otherwise. `change` must not call back into the registry.
    bool update(const protocol::Jid& full, std::uint64_t id, const std::function<void(ResourceEntry&)>& change);

    std::optional<SessionRef> find(const protocol::Jid& full) const;
    std::vector<ResourceEntry> resources(const protocol::Jid& bare) const;
    std::size_t resource_count(const protocol::Jid& bare) const;
    std::size_t size() const { return count_.load(std::memory_order_relaxed); }
    std::vector<SessionRef> all() const;

private:
    struct Shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, std::vector<ResourceEntry>> accounts;
    };
    static constexpr std::size_t shard_count = 64;
    Shard& shard_for(const std::string& bare) const;

    mutable std::array<Shard, shard_count> shards_;
    std::atomic<std::size_t> count_{0};
};

}  // namespace parley::server::routing
