#include "storage/offline_store.hpp"

namespace parley::storage::offline_store {

StoreOutcome store(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::string& xml, std::size_t limit) {
    pqxx::work w(c);
    // NO KEY UPDATE conflicts with itself (stores of one account queue here) but not
    // with the KEY SHARE locks that foreign-key checks of other tables take.
    auto rows = w.exec_params(
        "SELECT (SELECT count(*) FROM offline_messages m WHERE m.domain = a.domain AND m.localpart = a.localpart)"
        " FROM accounts a WHERE a.domain = $1 AND a.localpart = $2 FOR NO KEY UPDATE",
        domain, localpart);
    if (rows.empty()) return StoreOutcome::no_account;
    if (rows[0][0].as<std::int64_t>() >= static_cast<std::int64_t>(limit)) return StoreOutcome::full;
    w.exec_params0("INSERT INTO offline_messages (domain, localpart, xml) VALUES ($1, $2, $3)", domain, localpart,
                   xml);
    w.commit();
    return StoreOutcome::stored;
}

std::vector<Message> list(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params("SELECT id, xml FROM offline_messages WHERE domain = $1 AND localpart = $2 ORDER BY id",
                              domain, localpart);
    std::vector<Message> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>()});
    return out;
}

std::size_t remove(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::vector<std::int64_t>& ids) {
    if (ids.empty()) return 0;
    std::string array = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) array += ',';
        array += std::to_string(ids[i]);
    }
    array += '}';
    pqxx::work w(c);
    auto r = w.exec_params(
        "DELETE FROM offline_messages WHERE domain = $1 AND localpart = $2 AND id = ANY($3::bigint[])", domain,
        localpart, array);
    w.commit();
    return r.affected_rows();
}

std::size_t count(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params("SELECT count(*) FROM offline_messages WHERE domain = $1 AND localpart = $2", domain,
                              localpart);
    return rows[0][0].as<std::size_t>();
}

}  // namespace parley::storage::offline_store
