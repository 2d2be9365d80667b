// The offline message and last activity stores against a real PostgreSQL (PGHOST as
// for user_store_tests; PARLEY_SKIP_DB_TESTS=1 skips): order, the per-account cap,
// unknown accounts, deleting exactly the acknowledged rows.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"
#include "storage/last_activity_store.hpp"
#include "storage/offline_store.hpp"
#include "storage/user_store.hpp"

namespace os = parley::storage::offline_store;
namespace la = parley::storage::last_activity_store;
using parley::storage::Database;

namespace {

struct OfflineDatabase : parley::test::ScratchDatabase {
    OfflineDatabase() : ScratchDatabase("off") {}
};

bool skip() { return parley::test::skip_db_tests(); }

template <class T, class Fn>
T sync(Database& db, Fn fn) {
    return parley::test::run_or_fail<T>(db, "localhost/bob", std::move(fn));
}

void add_account(Database& db, const std::string& localpart) {
    REQUIRE(sync<bool>(db, [&](pqxx::connection& c) {
        return parley::storage::user_store::create(c, "localhost", localpart, {});
    }));
}

}  // namespace

TEST_CASE("offline store: stored in order, capped, deleted by id") {
    if (skip()) return;
    OfflineDatabase tdb;
    Database db("dbname=" + tdb.name, 1);
    REQUIRE(db.migrate().has_value());
    add_account(db, "bob");
    add_account(db, "carol");

    auto store = [&](const std::string& who, const std::string& xml, std::size_t limit) {
        return sync<os::StoreOutcome>(db, [&](auto& c) { return os::store(c, "localhost", who, xml, limit); });
    };
    CHECK(store("bob", "<m1/>", 3) == os::StoreOutcome::stored);
    CHECK(store("bob", "<m2/>", 3) == os::StoreOutcome::stored);
    CHECK(store("carol", "<c1/>", 3) == os::StoreOutcome::stored);
    CHECK(store("bob", "<m3/>", 3) == os::StoreOutcome::stored);
    // The cap counts only bob's own messages, and a full account stores nothing more.
    CHECK(store("bob", "<m4/>", 3) == os::StoreOutcome::full);
    CHECK(store("carol", "<c2/>", 2) == os::StoreOutcome::stored);
    CHECK(store("carol", "<c3/>", 2) == os::StoreOutcome::full);
    CHECK(store("nobody", "<x/>", 3) == os::StoreOutcome::no_account);
    CHECK(store("bob", "<zero/>", 0) == os::StoreOutcome::full);

    auto bob = sync<std::vector<os::Message>>(db, [](auto& c) { return os::list(c, "localhost", "bob"); });
    REQUIRE(bob.size() == 3);
    CHECK(bob[0].xml == "<m1/>");
    CHECK(bob[1].xml == "<m2/>");
    CHECK(bob[2].xml == "<m3/>");
    CHECK(bob[0].id < bob[1].id);
    CHECK(bob[1].id < bob[2].id);
    CHECK(sync<std::vector<os::Message>>(db, [](auto& c) { return os::list(c, "localhost", "nobody"); }).empty());

    // Only the acknowledged rows go; a row of another account is not touched even by id.
    auto carol = sync<std::vector<os::Message>>(db, [](auto& c) { return os::list(c, "localhost", "carol"); });
    REQUIRE(carol.size() == 2);
    const std::vector<std::int64_t> ack{bob[0].id, bob[1].id, carol[0].id};
    CHECK(sync<std::size_t>(db, [&](auto& c) { return os::remove(c, "localhost", "bob", ack); }) == 2);
    CHECK(sync<std::size_t>(db, [](auto& c) { return os::count(c, "localhost", "bob"); }) == 1);
    CHECK(sync<std::size_t>(db, [](auto& c) { return os::count(c, "localhost", "carol"); }) == 2);
    CHECK(sync<std::size_t>(db, [&](auto& c) { return os::remove(c, "localhost", "bob", ack); }) == 0);
    CHECK(sync<std::size_t>(db, [](auto& c) { return os::remove(c, "localhost", "bob", {}); }) == 0);
    // Room again below the cap.
    CHECK(store("bob", "<m5/>", 3) == os::StoreOutcome::stored);
    bob = sync<std::vector<os::Message>>(db, [](auto& c) { return os::list(c, "localhost", "bob"); });
    REQUIRE(bob.size() == 2);
    CHECK(bob[0].xml == "<m3/>");
    CHECK(bob[1].xml == "<m5/>");

    // Deleting the account deletes its messages.
    REQUIRE(sync<bool>(db, [](auto& c) { return parley::storage::user_store::remove(c, "localhost", "bob"); }));
    CHECK(sync<std::size_t>(db, [](auto& c) { return os::count(c, "localhost", "bob"); }) == 0);
}

TEST_CASE("last activity store: logout time and status, replaced by the next logout") {
    if (skip()) return;
    OfflineDatabase tdb;
    Database db("dbname=" + tdb.name, 1);
    REQUIRE(db.migrate().has_value());
    add_account(db, "bob");

    using Last = std::optional<la::LastActivity>;
    CHECK_FALSE(sync<Last>(db, [](auto& c) { return la::get(c, "localhost", "bob"); }));
    sync<bool>(db, [](auto& c) {
        la::record_logout(c, "localhost", "bob", "Heading Home");
        return true;
    });
    auto first = sync<Last>(db, [](auto& c) { return la::get(c, "localhost", "bob"); });
    REQUIRE(first);
    CHECK(first->status == "Heading Home");
    CHECK(first->seconds >= 0);
    CHECK(first->seconds < 5);

    // Backdate the logout to see the seconds count.
    sync<bool>(db, [](pqxx::connection& c) {
        pqxx::work w(c);
        w.exec0("UPDATE last_activity SET logout_at = now() - interval '903 seconds'");
        w.commit();
        return true;
    });
    auto backdated = sync<Last>(db, [](auto& c) { return la::get(c, "localhost", "bob"); });
    REQUIRE(backdated);
    CHECK(backdated->seconds >= 903);
    CHECK(backdated->seconds < 910);

    sync<bool>(db, [](auto& c) {
        la::record_logout(c, "localhost", "bob", "");
        return true;
    });
    auto second = sync<Last>(db, [](auto& c) { return la::get(c, "localhost", "bob"); });
    REQUIRE(second);
    CHECK(second->status.empty());
    CHECK(second->seconds < 5);

    // An unknown account is skipped, not an error.
    sync<bool>(db, [](auto& c) {
        la::record_logout(c, "localhost", "nobody", "x");
        return true;
    });
    CHECK_FALSE(sync<Last>(db, [](auto& c) { return la::get(c, "localhost", "nobody"); }));
}
