// A connection the server closed while it was idle is noticed before the next job
// uses it, so the first job after a PostgreSQL restart does not fail.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "scratch_database.hpp"
#include "storage/connection_health.hpp"

using namespace parley;

namespace {

void terminate_backend(int pid) {
    pqxx::connection admin("dbname=postgres");
    pqxx::nontransaction(admin).exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
}

}  // namespace

TEST_CASE("connection health: a backend terminated while idle is seen as dead") {
    if (test::skip_db_tests()) return;
    test::ScratchDatabase db("health");
    pqxx::connection c(db.conninfo());
    CHECK(storage::idle_connection_alive(c));
    const int pid = c.backendpid();
    terminate_backend(pid);
    bool dead = false;
    for (int i = 0; i < 100 && !dead; ++i) {
        dead = !storage::idle_connection_alive(c);
        if (!dead) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(dead);
}

TEST_CASE("connection health: the Database's next job after a termination succeeds") {
    if (test::skip_db_tests()) return;
    test::ScratchDatabase db("health2");
    storage::Database database(db.conninfo(), 1);
    auto pid = database.run_sync<int>("k", [](pqxx::connection& c) { return c.backendpid(); });
    REQUIRE(pid);
    terminate_backend(*pid);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto again = database.run_sync<int>("k", [](pqxx::connection& c) { return c.backendpid(); });
    REQUIRE(again);
    CHECK(*again != *pid);
}
