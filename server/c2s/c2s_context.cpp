#include "server/c2s/c2s_context.hpp"

namespace parley::server::c2s {

bool C2sContext::admit(const std::string& ip) {
    const auto& limits = config.limits;
    if (connections_.fetch_add(1, std::memory_order_relaxed) >= limits.max_connections) {
        connections_.fetch_sub(1, std::memory_order_relaxed);
        return false;
    }
    std::lock_guard lock(mutex_);
    auto& n = per_ip_[ip];
    if (limits.max_connections_per_ip != 0 && n >= limits.max_connections_per_ip) {
        connections_.fetch_sub(1, std::memory_order_relaxed);
        if (n == 0) per_ip_.erase(ip);
        return false;
    }
    ++n;
    return true;
}

void C2sContext::admit_anyway(const std::string& ip) {
    connections_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    ++per_ip_[ip];
}

void C2sContext::release(const std::string& ip) {
    connections_.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(mutex_);
    auto it = per_ip_.find(ip);
    if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

void C2sContext::track(routing::SessionRef ref) {
    std::lock_guard lock(mutex_);
    open_.emplace(ref.id, std::move(ref));
}

void C2sContext::untrack(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    open_.erase(id);
}

std::vector<routing::SessionRef> C2sContext::open_streams() const {
    std::lock_guard lock(mutex_);
    std::vector<routing::SessionRef> out;
    out.reserve(open_.size());
    for (const auto& [id, ref] : open_) out.push_back(ref);
    return out;
}

}  // namespace parley::server::c2s
