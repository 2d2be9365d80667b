#include "storage/roster_store.hpp"

namespace parley::storage::roster_store {

namespace {

// One snapshot for the reads that must agree with each other (items and version).
using SnapshotRead = pqxx::transaction<pqxx::isolation_level::repeatable_read,
                                       pqxx::readwrite_policy::read_only>;

constexpr const char* item_columns =
    "contact, name, subscription, ask, approved, groups, version";

std::vector<std::string> parse_text_array(const pqxx::field& f) {
    std::vector<std::string> out;
    auto parser = f.as_array();
    for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::done;
         std::tie(kind, value) = parser.get_next()) {
        if (kind == pqxx::array_parser::string_value) out.push_back(std::move(value));
    }
    return out;
}

Item item_from_row(const pqxx::row& row) {
    Item item;
    item.jid = row[0].c_str();
    if (!row[1].is_null()) item.name = std::string(row[1].c_str());
    item.subscription = row[2].c_str();
    item.ask = !row[3].is_null();
    item.approved = row[4].as<bool>();
    item.groups = parse_text_array(row[5]);
    item.version = row[6].as<std::int64_t>();
    return item;
}

std::int64_t read_version(pqxx::transaction_base& t, const std::string& domain,
                          const std::string& localpart) {
    auto rows = t.exec_params(
        "SELECT version FROM roster_versions WHERE domain = $1 AND localpart = $2", domain,
        localpart);
    return rows.empty() ? 0 : rows[0][0].as<std::int64_t>();
}

// The row lock taken here orders concurrent writers of one roster.
std::int64_t bump_version(pqxx::work& w, const std::string& domain, const std::string& localpart) {
    return w
        .exec_params1(
            "INSERT INTO roster_versions (domain, localpart, version) VALUES ($1, $2, 1)"
            " ON CONFLICT (domain, localpart)"
            " DO UPDATE SET version = roster_versions.version + 1 RETURNING version",
            domain, localpart)[0]
        .as<std::int64_t>();
}

void forget_tombstone(pqxx::work& w, const std::string& domain, const std::string& localpart,
                      const std::string& jid) {
    w.exec_params0(
        "DELETE FROM roster_tombstones WHERE domain = $1 AND localpart = $2 AND contact = $3",
        domain, localpart, jid);
}

}  // namespace

std::string to_array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) out.push_back(',');
        out.push_back('"');
        for (char ch : values[i]) {
            if (ch == '"' || ch == '\\') out.push_back('\\');
            out.push_back(ch);
        }
        out.push_back('"');
    }
    out.push_back('}');
    return out;
}

Roster get(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    SnapshotRead t(c);
    Roster roster;
    roster.version = read_version(t, domain, localpart);
    auto rows = t.exec_params(std::string("SELECT ") + item_columns +
                                  " FROM roster_items WHERE domain = $1 AND localpart = $2"
                                  " ORDER BY contact COLLATE \"C\"",
                              domain, localpart);
    roster.items.reserve(rows.size());
    for (const auto& row : rows) roster.items.push_back(item_from_row(row));
    return roster;
}

std::int64_t current_version(pqxx::connection& c, const std::string& domain,
                             const std::string& localpart) {
    pqxx::read_transaction t(c);
    return read_version(t, domain, localpart);
}

std::optional<Changes> changes_since(pqxx::connection& c, const std::string& domain,
                                     const std::string& localpart, std::int64_t since) {
    SnapshotRead t(c);
    Changes changes;
    changes.version = read_version(t, domain, localpart);
    if (since < 0 || since > changes.version) return std::nullopt;
    auto rows = t.exec_params(std::string("SELECT ") + item_columns +
                                  " FROM roster_items WHERE domain = $1 AND localpart = $2"
                                  " AND version > $3 ORDER BY version",
                              domain, localpart, since);
    for (const auto& row : rows) changes.changed.push_back(item_from_row(row));
    auto gone = t.exec_params(
        "SELECT contact FROM roster_tombstones WHERE domain = $1 AND localpart = $2"
        " AND version > $3 ORDER BY version",
        domain, localpart, since);
    for (const auto& row : gone) changes.removed.emplace_back(row[0].c_str());
    return changes;
}

Item set_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const std::string& jid, const std::optional<std::string>& name,
              const std::vector<std::string>& groups) {
    pqxx::work w(c);
    const std::int64_t version = bump_version(w, domain, localpart);
    auto row = w.exec_params1(
        std::string("INSERT INTO roster_items (domain, localpart, contact, name, groups, version)"
                    " VALUES ($1, $2, $3, CASE WHEN $4 THEN $5 END, $6::text[], $7)"
                    " ON CONFLICT (domain, localpart, contact) DO UPDATE SET"
                    " name = EXCLUDED.name, groups = EXCLUDED.groups, version = EXCLUDED.version"
                    " RETURNING ") +
            item_columns,
        domain, localpart, jid, name.has_value(), name.value_or(""), to_array_literal(groups),
        version);
    forget_tombstone(w, domain, localpart, jid);
    Item stored = item_from_row(row);
    w.commit();
    return stored;
}

Item put_item(pqxx::work& w, const std::string& domain, const std::string& localpart,
              const Item& item) {
    const std::int64_t version = bump_version(w, domain, localpart);
    auto row = w.exec_params1(
        std::string("INSERT INTO roster_items (domain, localpart, contact, name, subscription,"
                    " ask, approved, groups, version)"
                    " VALUES ($1, $2, $3, CASE WHEN $4 THEN $5 END, $6,"
                    " CASE WHEN $7 THEN 'subscribe' END, $8, $9::text[], $10)"
                    " ON CONFLICT (domain, localpart, contact) DO UPDATE SET"
                    " name = EXCLUDED.name, subscription = EXCLUDED.subscription,"
                    " ask = EXCLUDED.ask, approved = EXCLUDED.approved,"
                    " groups = EXCLUDED.groups, version = EXCLUDED.version RETURNING ") +
            item_columns,
        domain, localpart, item.jid, item.name.has_value(), item.name.value_or(""),
        item.subscription, item.ask, item.approved, to_array_literal(item.groups), version);
    forget_tombstone(w, domain, localpart, item.jid);
    return item_from_row(row);
}

Item put_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const Item& item) {
    pqxx::work w(c);
    Item stored = put_item(w, domain, localpart, item);
    w.commit();
    return stored;
}

std::optional<Item> find_item(pqxx::transaction_base& t, const std::string& domain,
                              const std::string& localpart, const std::string& jid) {
    auto rows = t.exec_params(std::string("SELECT ") + item_columns +
                                  " FROM roster_items WHERE domain = $1 AND localpart = $2 AND contact = $3",
                              domain, localpart, jid);
    if (rows.empty()) return std::nullopt;
    return item_from_row(rows[0]);
}

std::optional<std::int64_t> remove_item(pqxx::connection& c, const std::string& domain,
                                        const std::string& localpart, const std::string& jid) {
    pqxx::work w(c);
    auto removed = w.exec_params(
        "DELETE FROM roster_items WHERE domain = $1 AND localpart = $2 AND contact = $3"
        " RETURNING 1",
        domain, localpart, jid);
    if (removed.empty()) return std::nullopt;  // the transaction is rolled back
    const std::int64_t version = bump_version(w, domain, localpart);
    w.exec_params0(
        "INSERT INTO roster_tombstones (domain, localpart, contact, version)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (domain, localpart, contact)"
        " DO UPDATE SET version = EXCLUDED.version",
        domain, localpart, jid, version);
    w.commit();
    return version;
}

}  // namespace parley::storage::roster_store
