#pragma once
// Every account's blocklist (XEP-0191) in memory, so that the stanza filters and the
// presence code can ask "does alice block this JID?" synchronously. Thread-safe: any
// I/O thread reads, the database thread that just stored a change writes.
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/jid.hpp"

namespace parley::server::modules::blocking {

// Whether a blocklist item covers `other`, with XEP-0016's JID forms (XEP-0191 §4
// defers to them): user@domain/resource only that resource; user@domain every
// resource of it; domain/resource only that exact JID; domain the domain itself and
// every JID at it.
bool matches(const protocol::Jid& item, const protocol::Jid& other);

class BlockList {
public:
    // The account's items (prepared JID text), sorted.
    std::vector<std::string> items(const protocol::Jid& account) const;
    // True when an item of `account` (a bare JID) matches `other`.
    bool is_blocked(const protocol::Jid& account, const protocol::Jid& other) const;

    void add(const protocol::Jid& account, const std::vector<std::string>& items);
    void remove(const protocol::Jid& account, const std::vector<std::string>& items);
    void clear(const protocol::Jid& account);
    std::size_t account_count() const;

private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::set<std::string>> lists_;  // bare JID → items
};

}  // namespace parley::server::modules::blocking
