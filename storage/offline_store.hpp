#pragma once
// Offline messages (XEP-0160): per account, in arrival order, until a delivery is
// acknowledged. Functions run on a database thread, given its connection: call them
// inside Database::run keyed by routing::account_key, so that one account's stores,
// reads and deletes stay in order.
#include <cstddef>
#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::offline_store {

struct Message {
    std::int64_t id = 0;
    std::string xml;
};

enum class StoreOutcome { stored, full, no_account };

// Stores `xml` unless the account does not exist or already holds `limit` messages.
// The check and the insert are one transaction, with the account row locked so that
// concurrent stores cannot both pass the check.
StoreOutcome store(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::string& xml, std::size_t limit);
// Every stored message of the account, oldest first.
std::vector<Message> list(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// Deletes exactly these messages of the account; returns how many were deleted.
std::size_t remove(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::vector<std::int64_t>& ids);
std::size_t count(pqxx::connection& c, const std::string& domain, const std::string& localpart);

}  // namespace parley::storage::offline_store
