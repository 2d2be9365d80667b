#include "storage/user_store.hpp"

#include <stdexcept>
#include <tuple>

namespace parley::storage::user_store {

namespace {

using protocol::sasl::Hash;

std::string hash_name(Hash h) { return std::string(protocol::sasl::storage_name(h)); }

pqxx::binarystring bytes(const std::string& raw) {
    return pqxx::binarystring(raw.data(), raw.size());
}

void insert_credentials(pqxx::work& w, const std::string& domain, const std::string& localpart,
                        const std::vector<ScramCredential>& creds) {
    for (const ScramCredential& cred : creds) {
        w.exec_params0(
            "INSERT INTO scram_credentials"
            " (domain, localpart, hash, salt, iterations, stored_key, server_key)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            domain, localpart, hash_name(cred.hash), bytes(cred.salt),
            static_cast<long long>(cred.iterations), bytes(cred.stored_key),
            bytes(cred.server_key));
    }
}

// COPY's text format carries bytea awkwardly; hex text decoded by the INSERT is simple.
std::string to_hex(const std::string& raw) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char b : raw) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0xf]);
    }
    return out;
}

}  // namespace

std::vector<ScramCredential> credentials(pqxx::connection& c, const std::string& domain,
                                         const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        "SELECT hash, salt, iterations, stored_key, server_key FROM scram_credentials"
        " WHERE domain = $1 AND localpart = $2 ORDER BY hash",
        domain, localpart);
    std::vector<ScramCredential> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
        auto hash = protocol::sasl::hash_from_storage_name(row[0].c_str());
        if (!hash) continue;  // the CHECK constraint makes this unreachable
        ScramCredential cred;
        cred.hash = *hash;
        cred.salt = pqxx::binarystring(row[1]).str();
        cred.iterations = row[2].as<std::uint32_t>();
        cred.stored_key = pqxx::binarystring(row[3]).str();
        cred.server_key = pqxx::binarystring(row[4]).str();
        out.push_back(std::move(cred));
    }
    return out;
}

bool exists(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    return !t.exec_params("SELECT 1 FROM accounts WHERE domain = $1 AND localpart = $2", domain,
                          localpart)
                .empty();
}

bool create(pqxx::connection& c, const std::string& domain, const std::string& localpart,
            const std::vector<ScramCredential>& creds) {
    pqxx::work w(c);
    auto created = w.exec_params(
        "INSERT INTO accounts (domain, localpart) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        domain, localpart);
    if (created.empty()) return false;
    insert_credentials(w, domain, localpart, creds);
    w.commit();
    return true;
}

bool set_credentials(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                     const std::vector<ScramCredential>& creds) {
    pqxx::work w(c);
    // The row lock keeps a concurrent remove from slipping between check and insert.
    auto found =
        w.exec_params("SELECT 1 FROM accounts WHERE domain = $1 AND localpart = $2 FOR UPDATE",
                      domain, localpart);
    if (found.empty()) return false;
    w.exec_params0("DELETE FROM scram_credentials WHERE domain = $1 AND localpart = $2", domain,
                   localpart);
    insert_credentials(w, domain, localpart, creds);
    w.commit();
    return true;
}

bool remove(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::work w(c);
    auto removed = w.exec_params(
        "DELETE FROM accounts WHERE domain = $1 AND localpart = $2 RETURNING 1", domain, localpart);
    w.commit();
    return !removed.empty();
}

std::vector<std::string> list(pqxx::connection& c, const std::string& domain) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        "SELECT localpart || '@' || domain FROM accounts"
        " WHERE $1::text = '' OR domain = $1::text"
        " ORDER BY (localpart || '@' || domain) COLLATE \"C\"",
        domain);
    std::vector<std::string> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.emplace_back(row[0].c_str());
    return out;
}

std::size_t create_many(pqxx::connection& c, const std::vector<NewAccount>& accounts) {
    if (accounts.empty()) return 0;
    pqxx::work w(c);
    // Rows go in by COPY into temporary tables (ord keeps the batch order, so the
    // first of two equal names wins), then one statement moves the new ones over.
    w.exec0(
        "CREATE TEMP TABLE parley_new_accounts (ord int, domain text, localpart text)"
        " ON COMMIT DROP");
    w.exec0(
        "CREATE TEMP TABLE parley_new_credentials (ord int, hash text, salt text,"
        " iterations bigint, stored_key text, server_key text) ON COMMIT DROP");
    {
        pqxx::stream_to out(w, "parley_new_accounts",
                            std::vector<std::string>{"ord", "domain", "localpart"});
        for (std::size_t i = 0; i < accounts.size(); ++i)
            out << std::make_tuple(static_cast<long long>(i), accounts[i].domain,
                                   accounts[i].localpart);
        out.complete();
    }
    {
        pqxx::stream_to out(w, "parley_new_credentials",
                            std::vector<std::string>{"ord", "hash", "salt", "iterations",
                                                     "stored_key", "server_key"});
        for (std::size_t i = 0; i < accounts.size(); ++i) {
            for (const ScramCredential& cred : accounts[i].creds)
                out << std::make_tuple(static_cast<long long>(i), hash_name(cred.hash),
                                       to_hex(cred.salt), static_cast<long long>(cred.iterations),
                                       to_hex(cred.stored_key), to_hex(cred.server_key));
        }
        out.complete();
    }
    // Foreign keys are checked at the end of the statement, after both inserts.
    auto row = w.exec1(
        "WITH firsts AS ("
        "  SELECT DISTINCT ON (domain, localpart) ord, domain, localpart"
        "  FROM parley_new_accounts ORDER BY domain, localpart, ord),"
        " inserted AS ("
        "  INSERT INTO accounts (domain, localpart) SELECT domain, localpart FROM firsts"
        "  ON CONFLICT DO NOTHING RETURNING domain, localpart),"
        " creds AS ("
        "  INSERT INTO scram_credentials"
        "   (domain, localpart, hash, salt, iterations, stored_key, server_key)"
        "  SELECT f.domain, f.localpart, n.hash, decode(n.salt, 'hex'), n.iterations,"
        "         decode(n.stored_key, 'hex'), decode(n.server_key, 'hex')"
        "  FROM inserted i JOIN firsts f USING (domain, localpart)"
        "  JOIN parley_new_credentials n ON n.ord = f.ord)"
        " SELECT count(*) FROM inserted");
    w.commit();
    return row[0].as<std::size_t>();
}

}  // namespace parley::storage::user_store
