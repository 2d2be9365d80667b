// The message archive store against a real PostgreSQL (PGHOST as for the other storage
// tests; PARLEY_SKIP_DB_TESTS=1 skips): filters, RSM paging in both directions with
// `complete` and `count`, idempotent batches, retention, preferences.
#include <doctest/doctest.h>

#include <algorithm>

#include "storage/archive_store.hpp"
#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"

namespace as = parley::storage::archive_store;

namespace {

// A migrated scratch database and a plain connection to it (the store's functions
// take any connection; Database threads are not what is under test here).
struct ArchiveDatabase : parley::test::ScratchDatabase {
    ArchiveDatabase() : ScratchDatabase("arch") {
        parley::storage::Database db(conninfo(), 1);
        REQUIRE(db.migrate().has_value());
    }
};

as::Row row(std::int64_t id, std::string archive, std::string with, std::string resource, std::int64_t ts,
            std::string xml = {}) {
    if (xml.empty()) xml = "<message id='m" + std::to_string(id) + "'><body>hi</body></message>";
    return {id, std::move(archive), std::move(with), std::move(resource), ts, std::move(xml)};
}

std::vector<std::int64_t> ids(const as::Page& p) {
    std::vector<std::int64_t> out;
    for (const auto& r : p.rows) out.push_back(r.id);
    return out;
}

std::int64_t count_rows(pqxx::connection& c) {
    pqxx::read_transaction t(c);
    return t.exec("SELECT count(*) FROM archive")[0][0].as<std::int64_t>();
}

}  // namespace

TEST_CASE("archive store: filters by archive, with, resource and time") {
    if (parley::test::skip_db_tests()) return;
    ArchiveDatabase tdb;
    pqxx::connection c(tdb.conninfo());
    as::insert_batch(c, {
                            row(10, "alice@x", "bob@y", "phone", 1000),
                            row(20, "alice@x", "bob@y", "laptop", 2000),
                            row(30, "alice@x", "carol@z", "", 3000),
                            row(40, "bob@y", "alice@x", "pc", 2500),
                            row(50, "alice@x", "bob@y", "phone", 4000),
                            row(60, "room@muc", "room@muc", "nick", 5000),
                        });
    as::Query q;
    q.archive = "alice@x";
    auto all = as::query(c, q);
    CHECK(ids(all) == std::vector<std::int64_t>{10, 20, 30, 50});
    CHECK(all.count == 4);
    CHECK(all.complete);
    REQUIRE(all.rows.size() == 4);
    CHECK(all.rows[1].archive == "alice@x");
    CHECK(all.rows[1].with_bare == "bob@y");
    CHECK(all.rows[1].with_resource == "laptop");
    CHECK(all.rows[1].ts_us == 2000);
    CHECK(all.rows[1].xml == "<message id='m20'><body>hi</body></message>");

    q.with_bare = "bob@y";
    CHECK(ids(as::query(c, q)) == std::vector<std::int64_t>{10, 20, 50});
    q.with_resource = "phone";
    auto phone = as::query(c, q);
    CHECK(ids(phone) == std::vector<std::int64_t>{10, 50});
    CHECK(phone.count == 2);
    q.with_resource = "tablet";
    CHECK(as::query(c, q).rows.empty());
    CHECK(as::query(c, q).count == 0);
    CHECK(as::query(c, q).complete);

    // A resource without a bare JID is not a filter (the header says: only with with_bare).
    as::Query r;
    r.archive = "alice@x";
    r.with_resource = "phone";
    CHECK(ids(as::query(c, r)) == std::vector<std::int64_t>{10, 20, 30, 50});

    // start and end are inclusive.
    as::Query t;
    t.archive = "alice@x";
    t.start_us = 2000;
    t.end_us = 3000;
    CHECK(ids(as::query(c, t)) == std::vector<std::int64_t>{20, 30});
    t.end_us.reset();
    CHECK(ids(as::query(c, t)) == std::vector<std::int64_t>{20, 30, 50});
    t.start_us.reset();
    t.end_us = 1999;
    CHECK(ids(as::query(c, t)) == std::vector<std::int64_t>{10});

    // after/before are exclusive, narrow the page but not the count.
    as::Query a;
    a.archive = "alice@x";
    a.after_id = 10;
    a.before_id = 50;
    auto mid = as::query(c, a);
    CHECK(ids(mid) == std::vector<std::int64_t>{20, 30});
    CHECK(mid.count == 4);
    CHECK(mid.complete);

    as::Query other;
    other.archive = "nobody@x";
    auto none = as::query(c, other);
    CHECK(none.rows.empty());
    CHECK(none.count == 0);
    CHECK(none.complete);
}

TEST_CASE("archive store: RSM paging through 1000 rows in both directions") {
    if (parley::test::skip_db_tests()) return;
    ArchiveDatabase tdb;
    pqxx::connection c(tdb.conninfo());
    std::vector<as::Row> batch;
    std::vector<std::int64_t> bob_ids;
    for (int i = 1; i <= 1000; ++i) {
        const bool bob = i % 2 == 0;
        batch.push_back(row(i * 7, "alice@x", bob ? "bob@y" : "carol@z", "r", 1'000'000 + i));
        if (bob) bob_ids.push_back(i * 7);
        batch.push_back(row(i * 7 + 1, "dave@x", "bob@y", "r", 1'000'000 + i));  // another archive
    }
    as::insert_batch(c, batch);

    auto page_through = [&](as::Query q, std::size_t expected_pages) {
        std::vector<std::int64_t> seen;
        std::size_t pages = 0;
        for (;;) {
            auto p = as::query(c, q);
            ++pages;
            REQUIRE(pages <= expected_pages);
            CHECK(p.count == 500);
            CHECK(std::is_sorted(p.rows.begin(), p.rows.end(), [](auto& x, auto& y) { return x.id < y.id; }));
            CHECK(p.rows.size() <= q.limit);
            if (!p.complete) CHECK(p.rows.size() == q.limit);
            const auto got = ids(p);
            if (q.from_end) {
                seen.insert(seen.begin(), got.begin(), got.end());
                if (p.complete) break;
                q.before_id = p.rows.front().id;
            } else {
                seen.insert(seen.end(), got.begin(), got.end());
                if (p.complete) break;
                q.after_id = p.rows.back().id;
            }
        }
        CHECK(pages == expected_pages);
        return seen;
    };

    as::Query q;
    q.archive = "alice@x";
    q.with_bare = "bob@y";
    q.limit = 30;
    CHECK(page_through(q, 17) == bob_ids);  // 16 full pages and one of 20
    q.limit = 50;
    CHECK(page_through(q, 10) == bob_ids);  // the last full page is known complete
    q.from_end = true;
    CHECK(page_through(q, 10) == bob_ids);
    q.limit = 30;
    CHECK(page_through(q, 17) == bob_ids);

    // The last page: the newest rows, still oldest first; not complete backwards.
    as::Query last;
    last.archive = "alice@x";
    last.with_bare = "bob@y";
    last.limit = 3;
    last.from_end = true;
    auto p = as::query(c, last);
    CHECK(ids(p) == std::vector<std::int64_t>(bob_ids.end() - 3, bob_ids.end()));
    CHECK_FALSE(p.complete);
    // Forwards from the start: not complete; limit 0 counts only.
    last.from_end = false;
    p = as::query(c, last);
    CHECK(ids(p) == std::vector<std::int64_t>(bob_ids.begin(), bob_ids.begin() + 3));
    CHECK_FALSE(p.complete);
    last.limit = 0;
    p = as::query(c, last);
    CHECK(p.rows.empty());
    CHECK(p.count == 500);
    CHECK_FALSE(p.complete);
    // Nothing after the newest row: complete, empty; the count is still of the whole query.
    last.limit = 10;
    last.after_id = bob_ids.back();
    p = as::query(c, last);
    CHECK(p.rows.empty());
    CHECK(p.complete);
    CHECK(p.count == 500);
    // A window with both bounds, from the end.
    as::Query w;
    w.archive = "alice@x";
    w.after_id = 7 * 100;
    w.before_id = 7 * 110;
    w.from_end = true;
    w.limit = 4;
    p = as::query(c, w);
    CHECK(ids(p) == std::vector<std::int64_t>{7 * 106, 7 * 107, 7 * 108, 7 * 109});
    CHECK_FALSE(p.complete);
    CHECK(p.count == 1000);
    w.limit = 9;
    p = as::query(c, w);
    CHECK(p.rows.size() == 9);
    CHECK(p.complete);
}

TEST_CASE("archive store: a retried batch is idempotent and text survives intact") {
    if (parley::test::skip_db_tests()) return;
    ArchiveDatabase tdb;
    pqxx::connection c(tdb.conninfo());
    const std::string tricky =
        "<message>\ttab\nnewline\r\\backslash\\N \"q\" 'a' \xc3\xa9\xe2\x82\xac \xf0\x9f\x98\x80 , {x}</message>";
    std::vector<as::Row> batch{row(1, "a@x", "b@y", "", 1), row(2, "a@x", "b@y", "", 2, tricky),
                               row(3, "a@x", "b@y", "r\tes", 3)};
    as::insert_batch(c, batch);
    CHECK(count_rows(c) == 3);
    as::insert_batch(c, batch);  // the first attempt committed after all
    CHECK(count_rows(c) == 3);
    // Overlapping batch: only the new row is added, the old one is not overwritten.
    std::vector<as::Row> overlap{row(3, "a@x", "b@y", "", 3, "<changed/>"), row(4, "a@x", "b@y", "", 4)};
    as::insert_batch(c, overlap);
    CHECK(count_rows(c) == 4);
    // A batch that repeats an id within itself.
    as::insert_batch(c, {row(5, "a@x", "b@y", "", 5), row(5, "a@x", "b@y", "", 5)});
    CHECK(count_rows(c) == 5);
    as::insert_batch(c, {});
    CHECK(count_rows(c) == 5);

    as::Query q;
    q.archive = "a@x";
    auto p = as::query(c, q);
    REQUIRE(p.rows.size() == 5);
    CHECK(p.rows[1].xml == tricky);
    CHECK(p.rows[2].with_resource == "r\tes");
    CHECK(p.rows[2].xml == "<message id='m3'><body>hi</body></message>");
    // The staging table is per transaction: another connection's batch does not see ours.
    pqxx::connection c2(tdb.conninfo());
    as::insert_batch(c2, {row(6, "a@x", "b@y", "", 6)});
    as::insert_batch(c, {row(7, "a@x", "b@y", "", 7)});
    CHECK(count_rows(c) == 7);
}

TEST_CASE("archive store: exists, max_id, retention, removal, last rows") {
    if (parley::test::skip_db_tests()) return;
    ArchiveDatabase tdb;
    pqxx::connection c(tdb.conninfo());
    CHECK(as::max_id(c) == 0);
    CHECK(as::last_rows(c, "room@muc", 5).empty());
    std::vector<as::Row> batch;
    for (int i = 1; i <= 10; ++i) batch.push_back(row(100 + i, "room@muc", "room@muc", "n", i * 10));
    for (int i = 1; i <= 5; ++i) batch.push_back(row(200 + i, "alice@x", "bob@y", "", i * 10));
    as::insert_batch(c, batch);

    CHECK(as::max_id(c) == 205);
    CHECK(as::exists(c, "room@muc", 101));
    CHECK_FALSE(as::exists(c, "alice@x", 101));  // another archive's row
    CHECK_FALSE(as::exists(c, "room@muc", 999));

    auto last = as::last_rows(c, "room@muc", 3);
    REQUIRE(last.size() == 3);
    CHECK(last[0].id == 108);
    CHECK(last[2].id == 110);
    CHECK(as::last_rows(c, "room@muc", 50).size() == 10);
    CHECK(as::last_rows(c, "room@muc", 0).empty());

    // Strictly older than the cut: ts 10 and 20 of both archives.
    CHECK(as::remove_older_than(c, 30) == 4);
    CHECK_FALSE(as::exists(c, "room@muc", 102));
    CHECK(as::exists(c, "room@muc", 103));
    CHECK(as::remove_older_than(c, 30) == 0);
    CHECK(as::remove_archive(c, "room@muc") == 8);
    CHECK(as::remove_archive(c, "room@muc") == 0);
    CHECK(count_rows(c) == 3);
    CHECK(as::max_id(c) == 205);
}

TEST_CASE("archive store: preferences round trip") {
    if (parley::test::skip_db_tests()) return;
    ArchiveDatabase tdb;
    pqxx::connection c(tdb.conninfo());
    CHECK_FALSE(as::load_prefs(c, "alice@x").has_value());
    CHECK(as::all_prefs(c).empty());

    as::Prefs p{"roster", {"bob@y", "odd,\"jid\"{}\\@z", "NULL"}, {"spam@bad"}};
    as::save_prefs(c, "alice@x", p);
    auto got = as::load_prefs(c, "alice@x");
    REQUIRE(got.has_value());
    CHECK(got->default_mode == "roster");
    CHECK(got->always == p.always);
    CHECK(got->never == p.never);

    // Saving again replaces everything, empty lists included.
    as::save_prefs(c, "alice@x", {"never", {}, {}});
    got = as::load_prefs(c, "alice@x");
    REQUIRE(got.has_value());
    CHECK(got->default_mode == "never");
    CHECK(got->always.empty());
    CHECK(got->never.empty());

    as::save_prefs(c, "bob@y", {"always", {"carol@z"}, {}});
    auto all = as::all_prefs(c);
    REQUIRE(all.size() == 2);
    CHECK(all[0].first == "alice@x");
    CHECK(all[0].second.default_mode == "never");
    CHECK(all[1].first == "bob@y");
    CHECK(all[1].second.always == std::vector<std::string>{"carol@z"});
    // An unknown mode is refused by the table.
    CHECK_THROWS(as::save_prefs(c, "eve@x", {"sometimes", {}, {}}));
}
