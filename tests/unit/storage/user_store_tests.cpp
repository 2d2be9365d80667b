// Storage against a real PostgreSQL: each test case makes its own database and drops
// it afterwards. They need PGHOST (and PGUSER, ...) pointing at a server where we may
// create databases; scripts/test starts one and exports them. Without PGHOST these
// tests FAIL rather than pass silently; set PARLEY_SKIP_DB_TESTS=1 to skip them on
// purpose (e.g. `source scripts/lib.sh && start_pg` is the other way to run them).
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <thread>

#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"
#include "storage/migrations.hpp"
#include "storage/user_store.hpp"

namespace asio = boost::asio;
namespace us = parley::storage::user_store;
using parley::protocol::sasl::Hash;
using parley::protocol::sasl::ScramCredential;
using parley::storage::Database;
using parley::storage::errc;

namespace {

using parley::test::skip_db_tests;

struct TestDatabase : parley::test::ScratchDatabase {
    TestDatabase() : ScratchDatabase("ut") {}
};

void migrate(Database& db) {
    auto r = db.migrate();
    REQUIRE_MESSAGE(r.has_value(), parley::storage::last_error_message());
}

ScramCredential cred(Hash hash, char seed) {
    ScramCredential c;
    c.hash = hash;
    // Bytes that text handling would mangle: NUL, backslash, tab, newline, high bit.
    c.salt = std::string("\0\\\t\n\xff", 5) + seed;
    c.iterations = 4096 + static_cast<unsigned char>(seed);
    c.stored_key = std::string(20, seed) + std::string("\0\x80", 2);
    c.server_key = std::string("\r\n\\N") + std::string(32, static_cast<char>(seed + 1));
    return c;
}

std::vector<ScramCredential> creds(char seed) {
    return {cred(Hash::sha1, seed), cred(Hash::sha256, seed), cred(Hash::sha512, seed)};
}

void check_same(const std::vector<ScramCredential>& got, const std::vector<ScramCredential>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].hash == want[i].hash);
        CHECK(got[i].salt == want[i].salt);
        CHECK(got[i].iterations == want[i].iterations);
        CHECK(got[i].stored_key == want[i].stored_key);
        CHECK(got[i].server_key == want[i].server_key);
    }
}

}  // namespace

TEST_CASE("migrate creates the schema once, and again is a no-op") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database db(tdb.conninfo(), 2);
    migrate(db);
    auto versions = [&] {
        return db.run_sync<std::vector<std::string>>("", [](pqxx::connection& c) {
            std::vector<std::string> out;
            pqxx::read_transaction t(c);
            for (const auto& row :
                 t.exec("SELECT version, name, applied_at FROM schema_version ORDER BY version"))
                out.push_back(row[0].c_str() + std::string(" ") + row[1].c_str() + " " +
                              row[2].c_str());
            return out;
        });
    };
    auto first = versions();
    REQUIRE(first.has_value());
    CHECK(first->size() == parley::storage::migrations().size());
    CHECK(first->front().rfind("1 0001_initial ", 0) == 0);
    migrate(db);
    auto second = versions();
    REQUIRE(second.has_value());
    CHECK(*second == *first);  // nothing re-applied, applied_at unchanged
}

TEST_CASE("two processes migrating at once take turns") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database a(tdb.conninfo(), 1), b(tdb.conninfo(), 1);
    parley::storage::Result<void> ra, rb;
    std::thread t1([&] { ra = a.migrate(); });
    std::thread t2([&] { rb = b.migrate(); });
    t1.join();
    t2.join();
    CHECK(ra.has_value());
    CHECK(rb.has_value());
}

TEST_CASE("accounts and credentials round-trip") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database db(tdb.conninfo(), 2);
    migrate(db);
    auto in_db = [&](auto fn) {
        using T = decltype(fn(std::declval<pqxx::connection&>()));
        auto r = db.run_sync<T>("alice@example.org", fn);
        REQUIRE_MESSAGE(r.has_value(), parley::storage::last_error_message());
        return *r;
    };

    CHECK_FALSE(in_db([](pqxx::connection& c) { return us::exists(c, "example.org", "alice"); }));
    CHECK(in_db([](pqxx::connection& c) {
              return us::credentials(c, "example.org", "alice");
          }).empty());
    CHECK(in_db(
        [](pqxx::connection& c) { return us::create(c, "example.org", "alice", creds('a')); }));
    CHECK_FALSE(in_db(
        [](pqxx::connection& c) { return us::create(c, "example.org", "alice", creds('x')); }));
    CHECK(in_db([](pqxx::connection& c) { return us::exists(c, "example.org", "alice"); }));
    // Same localpart on another virtual host is another account.
    CHECK_FALSE(in_db([](pqxx::connection& c) { return us::exists(c, "example.net", "alice"); }));
    check_same(
        in_db([](pqxx::connection& c) { return us::credentials(c, "example.org", "alice"); }),
        creds('a'));

    CHECK(in_db([](pqxx::connection& c) {
        return us::set_credentials(c, "example.org", "alice", {cred(Hash::sha256, 'b')});
    }));
    check_same(
        in_db([](pqxx::connection& c) { return us::credentials(c, "example.org", "alice"); }),
        {cred(Hash::sha256, 'b')});
    CHECK_FALSE(in_db([](pqxx::connection& c) {
        return us::set_credentials(c, "example.org", "nobody", creds('c'));
    }));

    CHECK(
        in_db([](pqxx::connection& c) { return us::create(c, "example.net", "zed", creds('z')); }));
    CHECK(in_db([](pqxx::connection& c) { return us::create(c, "example.org", "bob", {}); }));
    CHECK(in_db([](pqxx::connection& c) { return us::list(c, ""); }) ==
          std::vector<std::string>{"alice@example.org", "bob@example.org", "zed@example.net"});
    CHECK(in_db([](pqxx::connection& c) { return us::list(c, "example.org"); }) ==
          std::vector<std::string>{"alice@example.org", "bob@example.org"});

    CHECK(in_db([](pqxx::connection& c) { return us::remove(c, "example.org", "alice"); }));
    CHECK_FALSE(in_db([](pqxx::connection& c) { return us::remove(c, "example.org", "alice"); }));
    CHECK_FALSE(in_db([](pqxx::connection& c) { return us::exists(c, "example.org", "alice"); }));
    CHECK(in_db([](pqxx::connection& c) {
              return us::credentials(c, "example.org", "alice");
          }).empty());
    auto leftover = in_db([](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        return t.exec1("SELECT count(*) FROM scram_credentials WHERE localpart = 'alice'")[0]
            .as<int>();
    });
    CHECK(leftover == 0);
}

TEST_CASE("create_many inserts in bulk and skips accounts that exist") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database db(tdb.conninfo(), 1);
    migrate(db);
    REQUIRE(db.run_sync<bool>("", [](pqxx::connection& c) {
                  return us::create(c, "example.org", "user7", creds('p'));
              }).value());

    std::vector<us::NewAccount> batch;
    for (int i = 0; i < 2000; ++i)
        batch.push_back(
            {"example.org", "user" + std::to_string(i), creds(static_cast<char>('a' + i % 20))});
    batch.push_back({"example.org", "user5", creds('Z')});  // a duplicate inside the batch
    batch.push_back({"example.net", "user5", {}});          // same name, other host, no creds

    auto created = db.run_sync<std::size_t>(
        "", [&](pqxx::connection& c) { return us::create_many(c, batch); });
    REQUIRE(created.has_value());
    CHECK(*created == 2000);  // 2000 + 2 rows, minus user7 (exists) and the second user5

    auto check_creds = [&](std::string domain, std::string local,
                           std::vector<ScramCredential> want) {
        auto got = db.run_sync<std::vector<ScramCredential>>(
            "", [&](pqxx::connection& c) { return us::credentials(c, domain, local); });
        REQUIRE(got.has_value());
        check_same(*got, want);
    };
    check_creds("example.org", "user7", creds('p'));      // untouched
    check_creds("example.org", "user5", creds('a' + 5));  // the first of the two wins
    check_creds("example.org", "user1999", creds('a' + 1999 % 20));
    check_creds("example.net", "user5", {});
    CHECK(db.run_sync<bool>("", [](pqxx::connection& c) {
                return us::exists(c, "example.net", "user5");
            }).value());
    // user0..user1999 and example.net/user5
    auto count =
        db.run_sync<std::size_t>("", [](pqxx::connection& c) { return us::list(c, "").size(); });
    CHECK(count.value() == 2001);

    // Everything again: nothing new.
    created = db.run_sync<std::size_t>(
        "", [&](pqxx::connection& c) { return us::create_many(c, batch); });
    REQUIRE(created.has_value());
    CHECK(*created == 0);
    CHECK(db.run_sync<std::size_t>("", [](pqxx::connection& c) {
                return us::create_many(c, {});
            }).value() == 0);
}

TEST_CASE("Database::run works on a database thread and resumes on the caller's") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database db(tdb.conninfo(), 2);
    asio::io_context io;
    const auto caller = std::this_thread::get_id();
    bool finished = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto r = co_await db.run<std::thread::id>(
                "alice@example.org",
                [](pqxx::connection& c) {
                    pqxx::read_transaction(c).exec1("SELECT 1");
                    return std::this_thread::get_id();
                },
                asio::use_awaitable);
            REQUIRE(r.has_value());
            CHECK(*r != caller);
            CHECK(std::this_thread::get_id() == caller);

            // Errors come back as values on the caller's thread too.
            auto bad = co_await db.run<void>(
                "alice@example.org",
                [](pqxx::connection& c) { pqxx::work(c).exec("SELECT nonsense FROM nowhere"); },
                asio::use_awaitable);
            CHECK(bad.error() == errc::query_failed);
            CHECK(std::this_thread::get_id() == caller);
            finished = true;
        },
        asio::detached);
    io.run();
    CHECK(finished);
}

TEST_CASE("work for one key runs in order on one thread") {
    if (skip_db_tests()) return;
    TestDatabase tdb;
    Database db(tdb.conninfo(), 3);
    asio::io_context io;
    std::vector<int> seen;  // touched only by the one thread serving "bob"
    int completed = 0;
    for (int i = 0; i < 50; ++i)
        db.run<void>(
            "bob", [&seen, i](pqxx::connection&) { seen.push_back(i); },
            asio::bind_executor(
                io, [&](parley::storage::Result<void> r) { completed += r.has_value(); }));
    auto snapshot = db.run_sync<std::vector<int>>("bob", [&](pqxx::connection&) { return seen; });
    io.run();  // the 50 completions, posted before the snapshot job ran
    CHECK(completed == 50);
    REQUIRE(snapshot.has_value());
    std::vector<int> want(50);
    for (int i = 0; i < 50; ++i) want[i] = i;
    CHECK(*snapshot == want);
}

TEST_CASE("failures become storage error codes") {
    if (skip_db_tests()) return;
    SUBCASE("an unreachable server is unavailable") {
        Database db("host=/nonexistent/parley port=5432", 1);
        auto r = db.run_sync<int>("", [](pqxx::connection&) { return 1; });
        CHECK(r.error() == errc::unavailable);
        CHECK(db.migrate().error() == errc::unavailable);
        CHECK_FALSE(parley::storage::last_error_message().empty());
    }
    SUBCASE("a malformed conninfo is unavailable") {
        Database db("this is not a conninfo", 1);
        CHECK(db.run_sync<int>("", [](pqxx::connection&) { return 1; }).error() ==
              errc::unavailable);
    }
    SUBCASE("a unique violation is a conflict; a connection is remade after it breaks") {
        TestDatabase tdb;
        Database db(tdb.conninfo(), 1);
        migrate(db);
        auto insert = [](pqxx::connection& c) {
            pqxx::work w(c);
            w.exec0("INSERT INTO accounts (domain, localpart) VALUES ('example.org', 'dup')");
            w.commit();
        };
        CHECK(db.run_sync<void>("", insert).has_value());
        CHECK(db.run_sync<void>("", insert).error() == errc::conflict);
        CHECK(parley::storage::last_error_message().find("accounts_pkey") != std::string::npos);

        auto killed = db.run_sync<void>("", [](pqxx::connection& c) {
            pqxx::nontransaction(c).exec("SELECT pg_terminate_backend(pg_backend_pid())");
        });
        CHECK_FALSE(killed.has_value());
        auto again = db.run_sync<int>("", [](pqxx::connection& c) {
            return pqxx::read_transaction(c).exec1("SELECT 42")[0].as<int>();
        });
        REQUIRE(again.has_value());
        CHECK(*again == 42);
    }
}
