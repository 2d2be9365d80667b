#pragma once
// The message archive (XEP-0313): one row per archived message per archive. An archive
// is an account's bare JID (its 1:1 messages, both directions) or a room's JID (what
// the room broadcast). Rows are written in batches by ArchiveQueue and read by MAM
// queries; functions run on a database thread, given its connection.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::archive_store {

struct Row {
    std::int64_t id = 0;        // unique over the whole table; orders every archive; the
                                // XEP-0359 stanza-id is its text form (modules/mam/mam.hpp)
    std::string archive;        // "alice@example.org" or "room@conference.example.org"
    std::string with_bare;      // the other party's bare JID (for a room: the room's JID)
    std::string with_resource;  // its resource ("" when none; for a room: the nick)
    std::int64_t ts_us = 0;     // when the server archived it, Unix microseconds (UTC)
    std::string xml;            // the <message/> as delivered, serialized
};

// Writes every row in one transaction, batched (COPY or multi-row INSERT). Idempotent:
// a row whose id exists is skipped, so a batch retried after an unknown outcome (the
// connection broke during COMMIT) is never archived twice.
void insert_batch(pqxx::connection& c, const std::vector<Row>& rows);

struct Query {
    std::string archive;
    std::optional<std::string> with_bare;      // exact match
    std::optional<std::string> with_resource;  // only with with_bare: exact match
    std::optional<std::int64_t> start_us;      // ts >= start
    std::optional<std::int64_t> end_us;        // ts <= end
    std::optional<std::int64_t> after_id;      // id > after (RSM <after/>)
    std::optional<std::int64_t> before_id;     // id < before (RSM <before>id</before>)
    std::size_t limit = 50;
    // RSM <before/> (empty) or <before>id</before>: the page nearest the end, i.e. the
    // last `limit` matches; rows are still returned oldest first.
    bool from_end = false;
};

struct Page {
    std::vector<Row> rows;   // oldest first
    bool complete = false;   // no more matches beyond this page in the paging direction
    std::size_t count = 0;   // all matches of the query, ignoring after/before/limit
};
Page query(pqxx::connection& c, const Query& q);

// The row with this id in this archive (before-id/after-id that name a message which
// is not in the archive are item-not-found).
bool exists(pqxx::connection& c, const std::string& archive, std::int64_t id);

// The highest id in the table (0 when empty): ids continue above it after a restart.
std::int64_t max_id(pqxx::connection& c);

// Retention: deletes rows older than `ts_us`; returns how many.
std::size_t remove_older_than(pqxx::connection& c, std::int64_t ts_us);
// Deletes a whole archive (a destroyed room); returns how many rows.
std::size_t remove_archive(pqxx::connection& c, const std::string& archive);

// The newest `n` rows of an archive, oldest first (a room's discussion history at start-up).
std::vector<Row> last_rows(pqxx::connection& c, const std::string& archive, std::size_t n);

// XEP-0313 §6 preferences of one account.
struct Prefs {
    std::string default_mode;          // "always" | "never" | "roster"
    std::vector<std::string> always;   // bare JIDs
    std::vector<std::string> never;
};
std::optional<Prefs> load_prefs(pqxx::connection& c, const std::string& account);
void save_prefs(pqxx::connection& c, const std::string& account, const Prefs& prefs);
// Every account that has preferences (loaded at start-up: the archive hook is synchronous).
std::vector<std::pair<std::string, Prefs>> all_prefs(pqxx::connection& c);

}  // namespace parley::storage::archive_store
