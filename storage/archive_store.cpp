#include "storage/archive_store.hpp"

#include <algorithm>
#include <tuple>

namespace parley::storage::archive_store {

namespace {

constexpr const char* row_columns = "id, archive, with_bare, with_resource, ts_us, xml";

Row to_row(const pqxx::row& r) {
    Row out;
    out.id = r[0].as<std::int64_t>();
    out.archive = r[1].as<std::string>();
    out.with_bare = r[2].as<std::string>();
    out.with_resource = r[3].as<std::string>();
    out.ts_us = r[4].as<std::int64_t>();
    out.xml = r[5].as<std::string>();
    return out;
}

// A PostgreSQL array literal, passed as one parameter (never spliced into SQL): every
// element quoted, so that commas, braces, spaces and NULL-looking JIDs stay text.
std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += '"';
        for (char ch : items[i]) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
        }
        out += '"';
    }
    out += '}';
    return out;
}

std::vector<std::string> parse_array(const pqxx::field& f) {
    std::vector<std::string> out;
    auto parser = f.as_array();
    for (auto item = parser.get_next(); item.first != pqxx::array_parser::done; item = parser.get_next())
        if (item.first == pqxx::array_parser::string_value) out.push_back(std::move(item.second));
    return out;
}

// The filters that define the set `count` counts, as SQL with numbered placeholders
// appended to `sql` and their values to `params`.
struct Where {
    std::string sql;
    std::vector<std::string> params;

    void add(const char* condition_before_placeholder, std::string value) {
        params.push_back(std::move(value));
        sql += " AND ";
        sql += condition_before_placeholder;
        sql += '$';
        sql += std::to_string(params.size());
    }
};

Where base_filter(const Query& q) {
    Where w;
    w.params.push_back(q.archive);
    w.sql = " WHERE archive = $1";
    if (q.with_bare) {
        w.add("with_bare = ", *q.with_bare);
        if (q.with_resource) w.add("with_resource = ", *q.with_resource);
    }
    if (q.start_us) w.add("ts_us >= ", std::to_string(*q.start_us));
    if (q.end_us) w.add("ts_us <= ", std::to_string(*q.end_us));
    return w;
}

void copy_rows(pqxx::work& w, const char* table, const std::vector<Row>& rows) {
    pqxx::stream_to copy(w, table,
                         std::vector<std::string>{"id", "archive", "with_bare", "with_resource", "ts_us", "xml"});
    for (const Row& r : rows) copy << std::tie(r.id, r.archive, r.with_bare, r.with_resource, r.ts_us, r.xml);
    copy.complete();
}

}  // namespace

void insert_batch(pqxx::connection& c, const std::vector<Row>& rows) {
    if (rows.empty()) return;
    // The fast path: COPY straight into the archive. It fails as a whole when an id
    // exists, which happens only when an earlier attempt of this batch did commit (or
    // the batch repeats an id): then the slow path below skips what is there.
    try {
        pqxx::work w(c, "archive_copy");
        copy_rows(w, "archive", rows);
        w.commit();
        return;
    } catch (const pqxx::unique_violation&) {
    }
    pqxx::work w(c, "archive_insert");
    // COPY into a per-connection staging table (emptied by every commit), then insert
    // with ON CONFLICT. The notice level hides "already exists, skipping".
    w.exec0(
        "SET LOCAL client_min_messages = warning;"
        " CREATE TEMP TABLE IF NOT EXISTS archive_staging"
        " (id bigint, archive text, with_bare text, with_resource text, ts_us bigint, xml text)"
        " ON COMMIT DELETE ROWS");
    copy_rows(w, "archive_staging", rows);
    w.exec0(std::string("INSERT INTO archive (") + row_columns + ") SELECT " + row_columns +
            " FROM archive_staging ON CONFLICT (id) DO NOTHING");
    w.commit();
}

Page query(pqxx::connection& c, const Query& q) {
    Page page;
    // Repeatable read: the count and the page see the same snapshot.
    pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> t(c, "archive_query");
    Where w = base_filter(q);
    page.count = t.exec_params(std::string("SELECT count(*) FROM archive") + w.sql,
                               pqxx::prepare::make_dynamic_params(w.params))[0][0]
                     .as<std::size_t>();

    if (q.after_id) w.add("id > ", std::to_string(*q.after_id));
    if (q.before_id) w.add("id < ", std::to_string(*q.before_id));
    // One row more than the page tells whether anything lies beyond it.
    w.params.push_back(std::to_string(q.limit + 1));
    const std::string sql = std::string("SELECT ") + row_columns + " FROM archive" + w.sql + " ORDER BY id " +
                            (q.from_end ? "DESC" : "ASC") + " LIMIT $" + std::to_string(w.params.size());
    auto rows = t.exec_params(sql, pqxx::prepare::make_dynamic_params(w.params));
    page.complete = rows.size() <= q.limit;
    const std::size_t n = std::min<std::size_t>(rows.size(), q.limit);
    page.rows.reserve(n);
    for (std::size_t i = 0; i < n; ++i) page.rows.push_back(to_row(rows[static_cast<pqxx::result::size_type>(i)]));
    if (q.from_end) std::reverse(page.rows.begin(), page.rows.end());
    t.commit();
    return page;
}

bool exists(pqxx::connection& c, const std::string& archive, std::int64_t id) {
    pqxx::read_transaction t(c);
    return !t.exec_params("SELECT 1 FROM archive WHERE archive = $1 AND id = $2", archive, id).empty();
}

std::int64_t max_id(pqxx::connection& c) {
    pqxx::read_transaction t(c);
    return t.exec("SELECT coalesce(max(id), 0) FROM archive")[0][0].as<std::int64_t>();
}

std::size_t remove_older_than(pqxx::connection& c, std::int64_t ts_us) {
    pqxx::work w(c);
    auto r = w.exec_params("DELETE FROM archive WHERE ts_us < $1", ts_us);
    w.commit();
    return r.affected_rows();
}

std::size_t remove_archive(pqxx::connection& c, const std::string& archive) {
    pqxx::work w(c);
    auto r = w.exec_params("DELETE FROM archive WHERE archive = $1", archive);
    w.commit();
    return r.affected_rows();
}

std::vector<Row> last_rows(pqxx::connection& c, const std::string& archive, std::size_t n) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(std::string("SELECT ") + row_columns +
                                  " FROM archive WHERE archive = $1 ORDER BY id DESC LIMIT $2",
                              archive, static_cast<std::int64_t>(n));
    std::vector<Row> out;
    out.reserve(rows.size());
    for (auto it = rows.rbegin(); it != rows.rend(); ++it) out.push_back(to_row(*it));
    return out;
}

std::optional<Prefs> load_prefs(pqxx::connection& c, const std::string& account) {
    pqxx::read_transaction t(c);
    auto rows =
        t.exec_params("SELECT default_mode, always, never FROM archive_prefs WHERE account = $1", account);
    if (rows.empty()) return std::nullopt;
    return Prefs{rows[0][0].as<std::string>(), parse_array(rows[0][1]), parse_array(rows[0][2])};
}

void save_prefs(pqxx::connection& c, const std::string& account, const Prefs& prefs) {
    pqxx::work w(c);
    w.exec_params0(
        "INSERT INTO archive_prefs (account, default_mode, always, never) VALUES ($1, $2, $3::text[], $4::text[])"
        " ON CONFLICT (account) DO UPDATE SET default_mode = EXCLUDED.default_mode, always = EXCLUDED.always,"
        " never = EXCLUDED.never",
        account, prefs.default_mode, array_literal(prefs.always), array_literal(prefs.never));
    w.commit();
}

std::vector<std::pair<std::string, Prefs>> all_prefs(pqxx::connection& c) {
    pqxx::read_transaction t(c);
    auto rows = t.exec("SELECT account, default_mode, always, never FROM archive_prefs ORDER BY account");
    std::vector<std::pair<std::string, Prefs>> out;
    out.reserve(rows.size());
    for (const auto& r : rows)
        out.emplace_back(r[0].as<std::string>(),
                         Prefs{r[1].as<std::string>(), parse_array(r[2]), parse_array(r[3])});
    return out;
}

}  // namespace parley::storage::archive_store
