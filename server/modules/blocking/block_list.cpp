#include "server/modules/blocking/block_list.hpp"

#include <mutex>

namespace parley::server::modules::blocking {

bool matches(const protocol::Jid& item, const protocol::Jid& other) {
    if (item.has_local()) {
        if (item.has_resource()) return item == other;
        return item == other.bare();
    }
    if (item.has_resource()) return !other.has_local() && item == other;
    return item.domain() == other.domain();
}

std::vector<std::string> BlockList::items(const protocol::Jid& account) const {
    std::shared_lock lock(mutex_);
    auto it = lists_.find(account.bare_string());
    if (it == lists_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

bool BlockList::is_blocked(const protocol::Jid& account, const protocol::Jid& other) const {
    if (other.empty()) return false;
    std::shared_lock lock(mutex_);
    auto it = lists_.find(account.bare_string());
    if (it == lists_.end()) return false;
    // The three texts an item can equal when it matches (see matches()): the JID
    // itself (full, or domain/resource), its bare JID, and its domain.
    const auto& items = it->second;
    return items.count(other.to_string()) || items.count(other.bare_string()) || items.count(other.domain());
}

void BlockList::add(const protocol::Jid& account, const std::vector<std::string>& items) {
    if (items.empty()) return;
    std::unique_lock lock(mutex_);
    auto& list = lists_[account.bare_string()];
    list.insert(items.begin(), items.end());
}

void BlockList::remove(const protocol::Jid& account, const std::vector<std::string>& items) {
    std::unique_lock lock(mutex_);
    auto it = lists_.find(account.bare_string());
    if (it == lists_.end()) return;
    for (const auto& item : items) it->second.erase(item);
    if (it->second.empty()) lists_.erase(it);
}

void BlockList::clear(const protocol::Jid& account) {
    std::unique_lock lock(mutex_);
    lists_.erase(account.bare_string());
}

std::size_t BlockList::account_count() const {
    std::shared_lock lock(mutex_);
    return lists_.size();
}

}  // namespace parley::server::modules::blocking
