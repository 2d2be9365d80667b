#include "storage/last_activity_store.hpp"

namespace parley::storage::last_activity_store {

void record_logout(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                   const std::string& status) {
    pqxx::work w(c);
    // INSERT ... SELECT: an account deleted meanwhile is skipped instead of failing the FK.
    w.exec_params0(
        "INSERT INTO last_activity (domain, localpart, logout_at, status)"
        " SELECT domain, localpart, now(), $3 FROM accounts WHERE domain = $1 AND localpart = $2"
        " ON CONFLICT (domain, localpart) DO UPDATE SET logout_at = EXCLUDED.logout_at, status = EXCLUDED.status",
        domain, localpart, status);
    w.commit();
}

std::optional<LastActivity> get(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        "SELECT GREATEST(0, floor(extract(epoch FROM now() - logout_at)))::bigint, status"
        " FROM last_activity WHERE domain = $1 AND localpart = $2",
        domain, localpart);
    if (rows.empty()) return std::nullopt;
    return LastActivity{rows[0][0].as<std::int64_t>(), rows[0][1].as<std::string>()};
}

}  // namespace parley::storage::last_activity_store
