#pragma once
// Private XML storage (XEP-0049): elements an account keeps on the server, keyed by
// the element's (name, namespace). Functions run on a database thread, given its
// connection: call them inside Database::run.
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::private_store {

struct Item {
    std::string name, xmlns;
    std::string xml;  // the serialized element
};

// nullopt when nothing is stored under (name, xmlns).
std::optional<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                               const std::string& name, const std::string& xmlns);
// Stores every item (replacing what was under its key) in one transaction: all or none.
void set(pqxx::connection& c, const std::string& domain, const std::string& localpart,
         const std::vector<Item>& items);
// How many elements the account keeps (for tests and the CLI).
std::size_t count(pqxx::connection& c, const std::string& domain, const std::string& localpart);

}  // namespace parley::storage::private_store
