// The roster store against a real PostgreSQL (PGHOST as for user_store_tests; set
// PARLEY_SKIP_DB_TESTS=1 to skip): versions, tombstones and changes since a version.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"
#include "storage/roster_store.hpp"
#include "storage/user_store.hpp"

namespace rs = parley::storage::roster_store;
using parley::storage::Database;

namespace {

struct RosterDatabase : parley::test::ScratchDatabase {
    RosterDatabase() : ScratchDatabase("rt") {}
};

bool skip() { return parley::test::skip_db_tests(); }

template <class T, class Fn>
T sync(Database& db, Fn fn) {
    return parley::test::run_or_fail<T>(db, "alice@localhost", std::move(fn));
}

}  // namespace

TEST_CASE("roster store: set, update, remove, versions and changes since") {
    if (skip()) return;
    RosterDatabase tdb;
    Database db("dbname=" + tdb.name, 1);
    REQUIRE(db.migrate().has_value());
    REQUIRE(sync<bool>(db, [](pqxx::connection& c) {
        return parley::storage::user_store::create(c, "localhost", "alice", {});
    }));

    CHECK(sync<std::int64_t>(db, [](auto& c) { return rs::current_version(c, "localhost", "alice"); }) == 0);
    CHECK(sync<rs::Roster>(db, [](auto& c) { return rs::get(c, "localhost", "alice"); }).items.empty());

    // Group names that a hand-made array literal could get wrong.
    const std::vector<std::string> groups{"Friends", "a \"quoted\" one", "back\\slash", "comma, {brace}", "NULL"};
    auto bob = sync<rs::Item>(db, [&](auto& c) {
        return rs::set_item(c, "localhost", "alice", "bob@localhost", std::string("Bob"), groups);
    });
    CHECK(bob.version == 1);
    CHECK(bob.subscription == "none");
    CHECK(bob.groups == groups);
    auto carol = sync<rs::Item>(db, [](auto& c) {
        return rs::set_item(c, "localhost", "alice", "carol@localhost", std::nullopt, {});
    });
    CHECK(carol.version == 2);
    CHECK_FALSE(carol.name);

    // The subscription state machine's write, then a client update keeps that state.
    rs::Item subscribed = bob;
    subscribed.subscription = "to";
    subscribed.ask = true;
    subscribed.approved = true;
    auto put = sync<rs::Item>(db, [&](auto& c) { return rs::put_item(c, "localhost", "alice", subscribed); });
    CHECK(put.version == 3);
    auto renamed = sync<rs::Item>(db, [](auto& c) {
        return rs::set_item(c, "localhost", "alice", "bob@localhost", std::string("Robert"), {"Work"});
    });
    CHECK(renamed.version == 4);
    CHECK(renamed.subscription == "to");
    CHECK(renamed.ask);
    CHECK(renamed.approved);
    CHECK(*renamed.name == "Robert");

    auto removed = sync<std::optional<std::int64_t>>(db, [](auto& c) {
        return rs::remove_item(c, "localhost", "alice", "carol@localhost");
    });
    CHECK(removed == std::optional<std::int64_t>(5));
    auto again = sync<std::optional<std::int64_t>>(db, [](auto& c) {
        return rs::remove_item(c, "localhost", "alice", "carol@localhost");
    });
    CHECK_FALSE(again);  // nothing there: no new version
    CHECK(sync<std::int64_t>(db, [](auto& c) { return rs::current_version(c, "localhost", "alice"); }) == 5);

    auto roster = sync<rs::Roster>(db, [](auto& c) { return rs::get(c, "localhost", "alice"); });
    CHECK(roster.version == 5);
    REQUIRE(roster.items.size() == 1);
    CHECK(roster.items[0] == renamed);

    auto since2 = sync<std::optional<rs::Changes>>(db, [](auto& c) { return rs::changes_since(c, "localhost", "alice", 2); });
    REQUIRE(since2);
    CHECK(since2->version == 5);
    REQUIRE(since2->changed.size() == 1);
    CHECK(since2->changed[0].jid == "bob@localhost");
    CHECK(since2->removed == std::vector<std::string>{"carol@localhost"});
    auto since5 = sync<std::optional<rs::Changes>>(db, [](auto& c) { return rs::changes_since(c, "localhost", "alice", 5); });
    REQUIRE(since5);
    CHECK(since5->changed.empty());
    CHECK(since5->removed.empty());
    CHECK_FALSE(sync<std::optional<rs::Changes>>(db, [](auto& c) { return rs::changes_since(c, "localhost", "alice", 6); }));

    // Adding a removed contact back forgets its tombstone.
    sync<rs::Item>(db, [](auto& c) { return rs::set_item(c, "localhost", "alice", "carol@localhost", std::nullopt, {}); });
    auto since4 = sync<std::optional<rs::Changes>>(db, [](auto& c) { return rs::changes_since(c, "localhost", "alice", 4); });
    REQUIRE(since4);
    CHECK(since4->removed.empty());
    REQUIRE(since4->changed.size() == 1);
    CHECK(since4->changed[0].jid == "carol@localhost");

    // Deleting the account deletes its roster.
    REQUIRE(sync<bool>(db, [](auto& c) { return parley::storage::user_store::remove(c, "localhost", "alice"); }));
    CHECK(sync<std::int64_t>(db, [](auto& c) { return rs::current_version(c, "localhost", "alice"); }) == 0);
}

TEST_CASE("array literals escape quotes and backslashes") {
    CHECK(rs::to_array_literal({}) == "{}");
    CHECK(rs::to_array_literal({"a", "b\"c", "d\\e"}) == "{\"a\",\"b\\\"c\",\"d\\\\e\"}");
}
