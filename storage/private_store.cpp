#include "storage/private_store.hpp"

namespace parley::storage::private_store {

std::optional<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                               const std::string& name, const std::string& xmlns) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        "SELECT xml FROM private_storage"
        " WHERE domain = $1 AND localpart = $2 AND name = $3 AND xmlns = $4",
        domain, localpart, name, xmlns);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
}

void set(pqxx::connection& c, const std::string& domain, const std::string& localpart,
         const std::vector<Item>& items) {
    pqxx::work w(c);
    for (const Item& item : items) {
        w.exec_params0(
            "INSERT INTO private_storage (domain, localpart, name, xmlns, xml)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (domain, localpart, name, xmlns)"
            " DO UPDATE SET xml = EXCLUDED.xml, updated_at = now()",
            domain, localpart, item.name, item.xmlns, item.xml);
    }
    w.commit();
}

std::size_t count(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params("SELECT count(*) FROM private_storage WHERE domain = $1 AND localpart = $2",
                              domain, localpart);
    return rows[0][0].as<std::size_t>();
}

}  // namespace parley::storage::private_store
