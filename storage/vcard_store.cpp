#include "storage/vcard_store.hpp"

namespace parley::storage::vcard_store {

std::optional<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params("SELECT xml FROM vcards WHERE domain = $1 AND localpart = $2", domain, localpart);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
}

void set(pqxx::connection& c, const std::string& domain, const std::string& localpart, const std::string& xml) {
    pqxx::work w(c);
    w.exec_params0(
        "INSERT INTO vcards (domain, localpart, xml) VALUES ($1, $2, $3)"
        " ON CONFLICT (domain, localpart) DO UPDATE SET xml = EXCLUDED.xml, updated_at = now()",
        domain, localpart, xml);
    w.commit();
}

}  // namespace parley::storage::vcard_store
