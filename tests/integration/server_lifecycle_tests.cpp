// The server as an operator sees it: parleyctl manages accounts, SIGTERM ends every
// stream with system-shutdown and exits cleanly, and a restart keeps the accounts.
#include <fstream>

#include <doctest/doctest.h>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

TEST_CASE("SIGTERM tells every client system-shutdown and exits 0") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder", {.direct_tls = true}));

    auto status = server.stop();
    REQUIRE(status);
    CHECK(*status == 0);

    REQUIRE(alice.wait_disconnected(5s));
    REQUIRE(bob.wait_disconnected(5s));
    CHECK(alice.stream_error() == "system-shutdown");
    CHECK(bob.stream_error() == "system-shutdown");
}

TEST_CASE("accounts survive a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    server.restart();
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    CHECK(alice.bound_jid() == "alice@localhost/phone");
}

TEST_CASE("parleyctl adds, lists and deletes accounts") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");

    auto users = server.ctl({"users"});
    REQUIRE_MESSAGE(users.exit_code == 0, users.output);
    CHECK(users.output.find("alice@localhost") != std::string::npos);
    CHECK(users.output.find("bob@localhost") != std::string::npos);

    auto check = server.ctl({"check"});
    CHECK_MESSAGE(check.exit_code == 0, check.output);

    auto del = server.ctl({"deluser", "bob@localhost"});
    REQUIRE_MESSAGE(del.exit_code == 0, del.output);
    users = server.ctl({"users"});
    CHECK(users.output.find("bob@localhost") == std::string::npos);

    // Bob can no longer log in; alice still can.
    auto tls = open_tls_stream(server);
    ScramClientOptions scram;
    scram.mechanism = "SCRAM-SHA-256";
    scram.username = "bob";
    scram.password = "builder";
    auto outcome = sasl_scram(*tls.client, scram);
    CHECK(!outcome.success);
    CHECK(outcome.failure == "not-authorized");
    raw_login(server, "alice", "wonderland");

    // A config error is reported with a non-zero exit, naming the key.
    std::ofstream(server.config_file(), std::ios::app) << "\n[c2s_typo]\nnonsense = 1\n";
    auto bad = server.ctl({"check"});
    CHECK(bad.exit_code != 0);
    CHECK_MESSAGE(bad.output.find("c2s_typo") != std::string::npos, bad.output);
}
