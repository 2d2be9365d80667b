// The PEP store against a real PostgreSQL (PGHOST as for user_store_tests; set
// PARLEY_SKIP_DB_TESTS=1 to skip): nodes, items in publication order, max_items,
// replacement, retract, purge, delete and cascades.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>

#include "storage/database.hpp"
#include "tests/unit/storage/scratch_database.hpp"
#include "storage/pep_store.hpp"
#include "storage/user_store.hpp"

namespace ps = parley::storage::pep_store;
using parley::storage::Database;

namespace {

struct PepDatabase : parley::test::ScratchDatabase {
    PepDatabase() : ScratchDatabase("pep") {}
};

bool skip() { return parley::test::skip_db_tests(); }

template <class T, class Fn>
T sync(Database& db, Fn fn) {
    return parley::test::run_or_fail<T>(db, "localhost/alice", std::move(fn));
}

std::vector<std::string> ids(const std::vector<ps::Item>& items) {
    std::vector<std::string> out;
    for (const auto& i : items) out.push_back(i.id);
    return out;
}

const std::string dom = "localhost", alice = "alice";

}  // namespace

TEST_CASE("pep store: nodes, items in order, max_items, replace, retract, purge, delete") {
    if (skip()) return;
    PepDatabase tdb;
    Database db("dbname=" + tdb.name, 1);
    REQUIRE(db.migrate().has_value());
    REQUIRE(sync<bool>(db, [](pqxx::connection& c) { return parley::storage::user_store::create(c, dom, alice, {}); }));

    CHECK_FALSE(sync<std::optional<ps::NodeConfig>>(db, [](auto& c) { return ps::get_node(c, dom, alice, "n"); }));
    ps::NodeConfig cfg;
    cfg.access_model = "open";
    cfg.max_items = 3;
    cfg.title = "Devices";
    CHECK(sync<bool>(db, [&](auto& c) { return ps::create_node(c, dom, alice, "n", cfg); }));
    CHECK_FALSE(sync<bool>(db, [&](auto& c) { return ps::create_node(c, dom, alice, "n", ps::NodeConfig{}); }));
    auto stored = sync<std::optional<ps::NodeConfig>>(db, [](auto& c) { return ps::get_node(c, dom, alice, "n"); });
    REQUIRE(stored);
    CHECK(*stored == cfg);

    for (std::string id : {"a", "b", "c", "d"}) {
        sync<void>(db, [&](auto& c) { ps::put_item(c, dom, alice, "n", {id, "<p xmlns='x'>" + id + "</p>"}, 3); });
    }
    // The oldest went beyond max_items; oldest first.
    CHECK(ids(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n"); })) ==
          std::vector<std::string>{"b", "c", "d"});
    // Publishing an existing id replaces it and makes it the newest.
    sync<void>(db, [&](auto& c) { ps::put_item(c, dom, alice, "n", {"b", "<p xmlns='x'>B</p>"}, 3); });
    auto all = sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n"); });
    CHECK(ids(all) == std::vector<std::string>{"c", "d", "b"});
    CHECK(all.back().payload == "<p xmlns='x'>B</p>");
    CHECK(ids(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n", 2); })) ==
          std::vector<std::string>{"d", "b"});
    CHECK(ids(sync<std::vector<ps::Item>>(db, [](auto& c) {
              return ps::items_by_id(c, dom, alice, "n", {"c", "zz", "b"});
          })) == std::vector<std::string>{"c", "b"});

    // A second node, and the newest item of each.
    ps::NodeConfig other;
    CHECK(sync<bool>(db, [&](auto& c) { return ps::create_node(c, dom, alice, "m", other); }));
    auto nodes = sync<std::vector<ps::NodeState>>(db, [](auto& c) { return ps::nodes(c, dom, alice); });
    REQUIRE(nodes.size() == 2);
    CHECK(nodes[0].node == "m");
    CHECK_FALSE(nodes[0].last);
    CHECK(nodes[1].node == "n");
    REQUIRE(nodes[1].last);
    CHECK(nodes[1].last->id == "b");

    CHECK(sync<bool>(db, [](auto& c) { return ps::retract_item(c, dom, alice, "n", "c"); }));
    CHECK_FALSE(sync<bool>(db, [](auto& c) { return ps::retract_item(c, dom, alice, "n", "c"); }));
    CHECK(ids(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n"); })) ==
          std::vector<std::string>{"d", "b"});

    // A lower max_items trims; persist_items false drops them all.
    ps::NodeConfig smaller = cfg;
    smaller.max_items = 1;
    CHECK(sync<bool>(db, [&](auto& c) { return ps::configure_node(c, dom, alice, "n", smaller); }));
    CHECK(ids(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n"); })) ==
          std::vector<std::string>{"b"});
    CHECK_FALSE(sync<bool>(db, [&](auto& c) { return ps::configure_node(c, dom, alice, "nope", smaller); }));
    ps::NodeConfig transient = smaller;
    transient.persist_items = false;
    CHECK(sync<bool>(db, [&](auto& c) { return ps::configure_node(c, dom, alice, "n", transient); }));
    CHECK(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "n"); }).empty());

    sync<void>(db, [&](auto& c) { ps::put_item(c, dom, alice, "m", {"x", "<p xmlns='x'/>"}, 1); });
    CHECK(sync<bool>(db, [](auto& c) { return ps::purge_node(c, dom, alice, "m"); }));
    CHECK(sync<std::vector<ps::Item>>(db, [](auto& c) { return ps::items(c, dom, alice, "m"); }).empty());
    CHECK_FALSE(sync<bool>(db, [](auto& c) { return ps::purge_node(c, dom, alice, "nope"); }));

    sync<void>(db, [&](auto& c) { ps::put_item(c, dom, alice, "m", {"y", "<p xmlns='x'/>"}, 1); });
    CHECK(sync<bool>(db, [](auto& c) { return ps::delete_node(c, dom, alice, "m"); }));
    CHECK_FALSE(sync<bool>(db, [](auto& c) { return ps::delete_node(c, dom, alice, "m"); }));
    CHECK(sync<std::vector<ps::NodeState>>(db, [](auto& c) { return ps::nodes(c, dom, alice); }).size() == 1);

    // Deleting the account deletes its nodes and items.
    sync<void>(db, [&](auto& c) { ps::put_item(c, dom, alice, "n", {"z", "<p xmlns='x'/>"}, 1); });
    REQUIRE(sync<bool>(db, [](auto& c) { return parley::storage::user_store::remove(c, dom, alice); }));
    CHECK(sync<std::int64_t>(db, [](auto& c) {
              pqxx::read_transaction t(c);
              return t.exec("SELECT (SELECT count(*) FROM pep_nodes) + (SELECT count(*) FROM pep_items)")[0][0]
                  .as<std::int64_t>();
          }) == 0);
}
