#pragma once
// What every storage test needs: a PostgreSQL database of its own for one test case,
// dropped at the end (PGHOST as scripts/test sets it; PARLEY_SKIP_DB_TESTS=1 skips), and
// a blocking Database::run that fails the test with the database's error message.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "storage/database.hpp"

namespace parley::test {

inline bool skip_db_tests() {
    const char* skip = std::getenv("PARLEY_SKIP_DB_TESTS");
    if (skip && std::string(skip) == "1") {
        MESSAGE("PARLEY_SKIP_DB_TESTS=1: database test skipped");
        return true;
    }
    const char* host = std::getenv("PGHOST");
    REQUIRE_MESSAGE((host && *host),
                    "PGHOST is not set: run the tests with scripts/test (which starts a private "
                    "PostgreSQL), or export PGHOST/PGUSER for a server where databases may be "
                    "created, or set PARLEY_SKIP_DB_TESTS=1 to skip them");
    return false;
}

// A fresh database named parley_<prefix>_<pid>_<n>, dropped when this goes away.
struct ScratchDatabase {
    std::string name;

    explicit ScratchDatabase(std::string_view prefix) {
        static int n = 0;
        name = "parley_" + std::string(prefix) + "_" + std::to_string(getpid()) + "_" + std::to_string(++n);
        admin("DROP DATABASE IF EXISTS " + name);
        admin("CREATE DATABASE " + name);
    }
    ~ScratchDatabase() {
        try {
            admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (const std::exception& e) {
            MESSAGE("could not drop " << name << ": " << e.what());
        }
    }
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    std::string conninfo() const { return "dbname=" + name; }

    static void admin(const std::string& sql) {
        pqxx::connection c("dbname=postgres");
        pqxx::nontransaction(c).exec0(sql);
    }
};

// Runs fn on the database thread of `key` and returns its value; fails the test when
// it threw.
template <class T, class Fn>
T run_or_fail(storage::Database& db, std::string_view key, Fn fn) {
    auto r = db.run_sync<T>(key, std::move(fn));
    REQUIRE_MESSAGE(r.has_value(), storage::last_error_message());
    if constexpr (!std::is_void_v<T>) return std::move(*r);
}

}  // namespace parley::test
