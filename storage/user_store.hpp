#pragma once
// Accounts and their SCRAM credentials (one row per hash). Functions run on a
// database thread, given its connection: call them inside Database::run.
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "protocol/sasl/scram.hpp"

namespace parley::storage::user_store {

using protocol::sasl::ScramCredential;

// Empty when there is no such account.
std::vector<ScramCredential> credentials(pqxx::connection& c, const std::string& domain,
                                         const std::string& localpart);
bool exists(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// false when the account already exists.
bool create(pqxx::connection& c, const std::string& domain, const std::string& localpart,
            const std::vector<ScramCredential>& creds);
// false when there is no such account.
bool set_credentials(pqxx::connection& c, const std::string& domain,
                     const std::string& localpart, const std::vector<ScramCredential>& creds);
bool remove(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// "local@domain", sorted; domain empty = all domains.
std::vector<std::string> list(pqxx::connection& c, const std::string& domain);

struct NewAccount {
    std::string domain, localpart;
    std::vector<ScramCredential> creds;
};
// Many accounts in one transaction (COPY); returns how many were created. Accounts
// that already exist are skipped and counted out.
std::size_t create_many(pqxx::connection& c, const std::vector<NewAccount>& accounts);

}  // namespace parley::storage::user_store
