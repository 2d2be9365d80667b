#pragma once
// Last activity of accounts (XEP-0012 §4): the time of the last logout and the status
// text of that unavailable presence. Functions run on a database thread: call them
// inside Database::run keyed by routing::account_key.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace parley::storage::last_activity_store {

struct LastActivity {
    std::int64_t seconds = 0;  // since the logout, by the database's clock
    std::string status;
};

// Records a logout now. Nothing happens when the account does not exist.
void record_logout(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::string& status);
// nullopt when the account never logged out (or does not exist).
std::optional<LastActivity> get(pqxx::connection& c, const std::string& domain, const std::string& localpart);

}  // namespace parley::storage::last_activity_store
