#include "storage/subscription_store.hpp"

namespace parley::storage::subscription_store {

Applied update(pqxx::connection& c, const std::string& domain, const std::string& localpart,
               const std::string& contact, const std::function<Change(const Current&)>& decide) {
    pqxx::work w(c);
    Applied applied;
    Current& cur = applied.before;
    cur.account_exists = !w.exec_params("SELECT 1 FROM accounts WHERE domain = $1 AND localpart = $2", domain,
                                         localpart)
                              .empty();
    if (cur.account_exists) {
        cur.item = roster_store::find_item(w, domain, localpart, contact);
        cur.pending_in = !w.exec_params(
                               "SELECT 1 FROM presence_requests WHERE domain = $1 AND localpart = $2 AND contact = $3",
                               domain, localpart, contact)
                              .empty();
    }
    Change change = decide(cur);
    if (!cur.account_exists) return applied;
    if (change.item) applied.written = roster_store::put_item(w, domain, localpart, *change.item);
    if (change.pending_in) {
        if (*change.pending_in) {
            w.exec_params0(
                "INSERT INTO presence_requests (domain, localpart, contact, stanza) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (domain, localpart, contact) DO UPDATE SET stanza = EXCLUDED.stanza,"
                " received_at = now()",
                domain, localpart, contact, change.request_stanza);
        } else {
            w.exec_params0("DELETE FROM presence_requests WHERE domain = $1 AND localpart = $2 AND contact = $3",
                           domain, localpart, contact);
        }
    }
    w.commit();
    return applied;
}

std::vector<std::string> pending_requests(pqxx::connection& c, const std::string& domain,
                                          const std::string& localpart) {
    pqxx::read_transaction t(c);
    std::vector<std::string> out;
    for (const auto& row : t.exec_params(
             "SELECT stanza FROM presence_requests WHERE domain = $1 AND localpart = $2 ORDER BY received_at, contact",
             domain, localpart)) {
        out.emplace_back(row[0].c_str());
    }
    return out;
}

bool forget_request(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                    const std::string& contact) {
    pqxx::work w(c);
    auto gone = w.exec_params(
        "DELETE FROM presence_requests WHERE domain = $1 AND localpart = $2 AND contact = $3 RETURNING 1", domain,
        localpart, contact);
    w.commit();
    return !gone.empty();
}

}  // namespace parley::storage::subscription_store
