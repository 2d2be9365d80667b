#pragma once
// Rosters (RFC 6121 §2) with a per-account version counter (§2.6). Every change bumps
// the counter and stamps the item (or the tombstone of a removed item) with it.
// Functions run on a database thread, given its connection: call them inside
// Database::run, keyed by the account's bare JID so one account's writes stay ordered.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::roster_store {

struct Item {
    std::string jid;                    // prepared JID text
    std::optional<std::string> name;
    std::string subscription = "none";  // none | to | from | both
    bool ask = false;                   // ask='subscribe'
    bool approved = false;
    std::vector<std::string> groups;
    std::int64_t version = 0;           // the roster version of its last change

    friend bool operator==(const Item&, const Item&) = default;
};

struct Roster {
    std::int64_t version = 0;
    std::vector<Item> items;  // sorted by jid
};

// What changed after a version: items added or updated, and JIDs removed.
struct Changes {
    std::int64_t version = 0;  // the current version
    std::vector<Item> changed;
    std::vector<std::string> removed;
};

// The whole roster and its version, read in one snapshot.
Roster get(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// 0 for an account that never had a roster change.
std::int64_t current_version(pqxx::connection& c, const std::string& domain,
                             const std::string& localpart);
// nullopt when `since` is not a version this roster has had (newer than the current
// one, or negative): the caller then sends the whole roster.
std::optional<Changes> changes_since(pqxx::connection& c, const std::string& domain,
                                     const std::string& localpart, std::int64_t since);

// A client's roster set (RFC 6121 §2.3, §2.4): creates the item or changes its name and
// groups, keeping the subscription state of an existing one. Returns the item as stored,
// with the new version.
Item set_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const std::string& jid, const std::optional<std::string>& name,
              const std::vector<std::string>& groups);
// Writes every field of `item` (the subscription state machine's use); returns it with
// the new version.
Item put_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const Item& item);
// The same inside a caller's transaction.
Item put_item(pqxx::work& w, const std::string& domain, const std::string& localpart, const Item& item);
// One item, if the roster has it.
std::optional<Item> find_item(pqxx::transaction_base& t, const std::string& domain,
                              const std::string& localpart, const std::string& jid);
// Removes the item and leaves a tombstone; returns the new version, nullopt when the
// item was not in the roster (nothing changes then).
std::optional<std::int64_t> remove_item(pqxx::connection& c, const std::string& domain,
                                        const std::string& localpart, const std::string& jid);

// The PostgreSQL text form of a text[] ("{\"a\",\"b\"}"); exposed for tests.
std::string to_array_literal(const std::vector<std::string>& values);

}  // namespace parley::storage::roster_store
