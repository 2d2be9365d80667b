#pragma once
// One account's subscription relation to one contact (RFC 6121 §3): its roster item
// (subscription, ask, approved) plus a pending inbound request. Read and changed in one
// transaction, so the state machine decides on what is stored and its result lands
// whole. Run inside Database::run keyed by the account (routing::account_key), which
// orders all of one account's changes.
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "storage/roster_store.hpp"

namespace parley::storage::subscription_store {

struct Current {
    bool account_exists = false;
    std::optional<roster_store::Item> item;
    bool pending_in = false;
};

// What to store. `item`: written whole (created if absent) when set. `pending_in`:
// set (with the request stanza) or cleared when set.
struct Change {
    std::optional<roster_store::Item> item;
    std::optional<bool> pending_in;
    std::string request_stanza;
};

struct Applied {
    Current before;
    std::optional<roster_store::Item> written;  // with its new roster version
};

// Loads the relation, asks `decide`, stores its change. Nothing is written for an
// account that does not exist (decide still sees account_exists = false).
Applied update(pqxx::connection& c, const std::string& domain, const std::string& localpart,
               const std::string& contact, const std::function<Change(const Current&)>& decide);

// The pending requests' stanzas, oldest first (redelivered at login).
std::vector<std::string> pending_requests(pqxx::connection& c, const std::string& domain,
                                          const std::string& localpart);
// Drops a pending request (the roster item of its contact was removed); true when
// there was one.
bool forget_request(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                    const std::string& contact);

}  // namespace parley::storage::subscription_store
