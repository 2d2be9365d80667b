#include "storage/blocklist_store.hpp"

#include <algorithm>

namespace parley::storage::blocklist_store {

std::vector<std::string> get(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params("SELECT jid FROM blocklist_items WHERE domain = $1 AND localpart = $2 ORDER BY jid",
                              domain, localpart);
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(row[0].as<std::string>());
    return out;
}

std::vector<Entry> all(pqxx::connection& c) {
    pqxx::read_transaction t(c);
    auto rows = t.exec("SELECT domain, localpart, jid FROM blocklist_items ORDER BY domain, localpart, jid");
    std::vector<Entry> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
    }
    return out;
}

std::vector<std::string> add(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                             const std::vector<std::string>& jids) {
    pqxx::work w(c);
    std::vector<std::string> added;
    for (const auto& jid : jids) {
        auto rows = w.exec_params(
            "INSERT INTO blocklist_items (domain, localpart, jid) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING jid",
            domain, localpart, jid);
        if (!rows.empty()) added.push_back(jid);
    }
    w.commit();
    return added;
}

std::vector<std::string> remove(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                                const std::vector<std::string>& jids) {
    pqxx::work w(c);
    std::vector<std::string> removed;
    for (const auto& jid : jids) {
        auto rows = w.exec_params(
            "DELETE FROM blocklist_items WHERE domain = $1 AND localpart = $2 AND jid = $3 RETURNING jid", domain,
            localpart, jid);
        if (!rows.empty()) removed.push_back(jid);
    }
    w.commit();
    return removed;
}

std::vector<std::string> clear(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::work w(c);
    auto rows = w.exec_params("DELETE FROM blocklist_items WHERE domain = $1 AND localpart = $2 RETURNING jid",
                              domain, localpart);
    w.commit();
    std::vector<std::string> removed;
    for (const auto& row : rows) removed.push_back(row[0].as<std::string>());
    std::sort(removed.begin(), removed.end());
    return removed;
}

}  // namespace parley::storage::blocklist_store
