// The blocklist store (XEP-0191) against a real PostgreSQL (PGHOST as for
// user_store_tests; set PARLEY_SKIP_DB_TESTS=1 to skip).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "storage/blocklist_store.hpp"
#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"
#include "storage/user_store.hpp"

namespace bs = parley::storage::blocklist_store;
using parley::storage::Database;
using Items = std::vector<std::string>;

namespace {

struct BlocklistDatabase : parley::test::ScratchDatabase {
    BlocklistDatabase() : ScratchDatabase("bl") {}
};

bool skip() { return parley::test::skip_db_tests(); }

template <class T, class Fn>
T sync(Database& db, Fn fn) {
    return parley::test::run_or_fail<T>(db, "alice@localhost", std::move(fn));
}

}  // namespace

TEST_CASE("blocklist store: add, remove, clear, all, and cascade on account removal") {
    if (skip()) return;
    BlocklistDatabase tdb;
    Database db("dbname=" + tdb.name, 1);
    REQUIRE(db.migrate().has_value());
    for (const char* user : {"alice", "bob"}) {
        REQUIRE(sync<bool>(db, [user](pqxx::connection& c) {
            return parley::storage::user_store::create(c, "localhost", user, {});
        }));
    }
    CHECK(sync<Items>(db, [](auto& c) { return bs::get(c, "localhost", "alice"); }).empty());

    auto added = sync<Items>(db, [](auto& c) {
        return bs::add(c, "localhost", "alice", {"mallory@evil.example", "spam.example"});
    });
    CHECK(added == Items{"mallory@evil.example", "spam.example"});
    // Already there: not added again, and no duplicate row.
    auto again = sync<Items>(db, [](auto& c) {
        return bs::add(c, "localhost", "alice", {"spam.example", "eve@localhost/phone"});
    });
    CHECK(again == Items{"eve@localhost/phone"});
    CHECK(sync<Items>(db, [](auto& c) { return bs::get(c, "localhost", "alice"); }) ==
          Items{"eve@localhost/phone", "mallory@evil.example", "spam.example"});
    sync<Items>(db, [](auto& c) { return bs::add(c, "localhost", "bob", {"alice@localhost"}); });

    auto all = sync<std::vector<bs::Entry>>(db, [](auto& c) { return bs::all(c); });
    REQUIRE(all.size() == 4);
    CHECK(all[0] == bs::Entry{"localhost", "alice", "eve@localhost/phone"});
    CHECK(all[3] == bs::Entry{"localhost", "bob", "alice@localhost"});

    auto removed = sync<Items>(db, [](auto& c) {
        return bs::remove(c, "localhost", "alice", {"spam.example", "never@blocked.example"});
    });
    CHECK(removed == Items{"spam.example"});
    CHECK(sync<Items>(db, [](auto& c) { return bs::get(c, "localhost", "alice"); }) ==
          Items{"eve@localhost/phone", "mallory@evil.example"});

    auto cleared = sync<Items>(db, [](auto& c) { return bs::clear(c, "localhost", "alice"); });
    CHECK(cleared == Items{"eve@localhost/phone", "mallory@evil.example"});
    CHECK(sync<Items>(db, [](auto& c) { return bs::get(c, "localhost", "alice"); }).empty());
    CHECK(sync<Items>(db, [](auto& c) { return bs::get(c, "localhost", "bob"); }) == Items{"alice@localhost"});

    // A list belongs to an existing account; deleting the account deletes it.
    auto orphan = db.run_sync<Items>("x", [](pqxx::connection& c) { return bs::add(c, "localhost", "nobody", {"a@b"}); });
    CHECK_FALSE(orphan.has_value());
    REQUIRE(sync<bool>(db, [](auto& c) { return parley::storage::user_store::remove(c, "localhost", "bob"); }));
    CHECK(sync<std::vector<bs::Entry>>(db, [](auto& c) { return bs::all(c); }).empty());
}
