#pragma once
// vcard-temp (XEP-0054): one serialized <vCard/> per account. Functions run on a
// database thread, given its connection: call them inside Database::run.
#include <optional>
#include <pqxx/pqxx>
#include <string>

namespace parley::storage::vcard_store {

// nullopt when the account has never set a vCard (or does not exist).
std::optional<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// Replaces the account's vCard. The account must exist (foreign key): otherwise the
// statement fails, which Database::run reports as errc::query_failed.
void set(pqxx::connection& c, const std::string& domain, const std::string& localpart, const std::string& xml);

}  // namespace parley::storage::vcard_store
