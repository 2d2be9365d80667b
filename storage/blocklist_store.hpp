#pragma once
// Blocklists (XEP-0191): the JIDs an account blocks, as prepared JID text. Functions
// run on a database thread, given its connection: call them inside Database::run,
// keyed by the account so one account's changes stay ordered.
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::blocklist_store {

struct Entry {
    std::string domain, localpart, jid;
    friend bool operator==(const Entry&, const Entry&) = default;
};

// One account's items, sorted.
std::vector<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// Every account's items (start-up), sorted by account then item.
std::vector<Entry> all(pqxx::connection& c);
// Adds the items in one transaction; returns those that were not there yet. The
// account must exist (foreign key): otherwise Database::run reports query_failed.
std::vector<std::string> add(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                             const std::vector<std::string>& jids);
// Removes the items in one transaction; returns those that were there.
std::vector<std::string> remove(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                                const std::vector<std::string>& jids);
// Removes every item; returns them, sorted.
std::vector<std::string> clear(pqxx::connection& c, const std::string& domain, const std::string& localpart);

}  // namespace parley::storage::blocklist_store
