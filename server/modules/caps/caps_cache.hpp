#pragma once
// XEP-0115 Entity Capabilities: what the server knows about the 'ver' strings clients
// advertise. A ver enters the cache only after the server asked a client for the
// disco#info behind it and the hash matched (XEP-0115 §5.4), so a client cannot make
// another client receive notifications it did not ask for. Shared by every module
// that needs clients' features (PEP's +notify); thread-safe.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/routing/session_registry.hpp"

namespace parley::server::modules::caps {

using Features = std::vector<std::string>;  // sorted

class CapsCache {
public:
    // The verified features behind `ver`; null when unknown or not verified yet.
    std::shared_ptr<const Features> features(const std::string& ver) const;
    // Records a verified ver (features are sorted here).
    void put(const std::string& ver, Features features);
    bool has_feature(const std::string& ver, std::string_view feature) const;
    std::size_t size() const;

    // Called (on an I/O thread) for each session whose advertised ver has just been
    // verified: the sessions that advertised it while the server was asking. A session
    // whose ver was already known is not reported (presence hooks see it directly).
    // PEP (XEP-0163 §4.3.1) sends last items to new "+notify" resources from here.
    using VerifiedListener = std::function<void(const protocol::Jid& full, std::uint64_t session_id, const std::string& ver)>;
    // Register before the I/O threads start (in Module::start).
    void on_verified(VerifiedListener listener) { listeners_.push_back(std::move(listener)); }
    void notify_verified(const protocol::Jid& full, std::uint64_t session_id, const std::string& ver) const;

    // Bound on distinct vers kept: a client can mint a new ver per presence. Real
    // deployments see a few hundred (one per client version and plugin set).
    static constexpr std::size_t max_entries = 10000;

private:
    mutable std::mutex mutex_;
    std::vector<VerifiedListener> listeners_;
    std::unordered_map<std::string, std::shared_ptr<const Features>> by_ver_;
};

// Whether a local resource asked for notifications of `node` (XEP-0163 §4: its caps
// include "<node>+notify").
bool wants_notify(const CapsCache& cache, const routing::ResourceEntry& resource, std::string_view node);

}  // namespace parley::server::modules::caps
