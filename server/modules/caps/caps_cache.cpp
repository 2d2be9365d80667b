#include "server/modules/caps/caps_cache.hpp"

#include <algorithm>

namespace parley::server::modules::caps {

std::shared_ptr<const Features> CapsCache::features(const std::string& ver) const {
    std::lock_guard lock(mutex_);
    auto it = by_ver_.find(ver);
    return it == by_ver_.end() ? nullptr : it->second;
}

void CapsCache::put(const std::string& ver, Features features) {
    std::sort(features.begin(), features.end());
    auto shared = std::make_shared<const Features>(std::move(features));
    std::lock_guard lock(mutex_);
    // Full: drop an arbitrary entry; a session still using it is asked again on its
    // next presence.
    if (by_ver_.size() >= max_entries && !by_ver_.contains(ver)) by_ver_.erase(by_ver_.begin());
    by_ver_[ver] = std::move(shared);
}

std::size_t CapsCache::size() const {
    std::lock_guard lock(mutex_);
    return by_ver_.size();
}

void CapsCache::notify_verified(const protocol::Jid& full, std::uint64_t session_id, const std::string& ver) const {
    for (const auto& listener : listeners_) listener(full, session_id, ver);
}

bool CapsCache::has_feature(const std::string& ver, std::string_view feature) const {
    auto f = features(ver);
    return f && std::binary_search(f->begin(), f->end(), feature, std::less<>{});
}

bool wants_notify(const CapsCache& cache, const routing::ResourceEntry& resource, std::string_view node) {
    if (resource.caps_ver.empty()) return false;
    std::string feature(node);
    feature += "+notify";
    return cache.has_feature(resource.caps_ver, feature);
}

}  // namespace parley::server::modules::caps
