// XEP-0012 §4, the offline user query: how long ago an account's last available
// resource went away and the status it left, told only to the account itself and to
// contacts with a 'from' or 'both' subscription; 0 while it is online.
#include <doctest/doctest.h>

#include <sstream>
#include <thread>

#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view last_ns = "jabber:iq:last";

std::optional<Element> ask_last(TestClient& who, const std::string& account) {
    auto iq = parse_fragment("<iq type='get' to='" + account + "'><query xmlns='jabber:iq:last'/></iq>");
    REQUIRE(iq);
    return who.request(*iq);
}

// The presence-subscription module is not there yet: the scene writes the roster row
// (what RFC 6121 §3 would have left behind) straight into the server's database.
void give_subscription(const ServerProcess& server, const std::string& owner, const std::string& contact,
                       const std::string& subscription) {
    const std::string sql =
        "INSERT INTO roster_versions (domain, localpart, version) VALUES ('localhost', '" + owner +
        "', 1) ON CONFLICT (domain, localpart) DO UPDATE SET version = roster_versions.version + 1;"
        "INSERT INTO roster_items (domain, localpart, contact, subscription, version) SELECT 'localhost', '" +
        owner + "', '" + contact + "', '" + subscription +
        "', version FROM roster_versions WHERE domain = 'localhost' AND localpart = '" + owner + "';";
    auto r = run_command({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.database(), "-c", sql});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

// A result's seconds, or -1 when it is not a result with a query.
long long seconds_of(const Element& reply) {
    const Element* q = reply.find_child("query", last_ns);
    if (reply.attr("type") != "result" || !q || !q->has_attr("seconds")) return -1;
    return std::stoll(std::string(q->attr("seconds")));
}

std::string status_of(const Element& reply) {
    const Element* q = reply.find_child("query", last_ns);
    return q ? q->text() : std::string();
}

// Polls the log for the line the server writes when a session is gone.
bool wait_unbound(ServerProcess& server, const std::string& jid) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
        std::istringstream lines(server.log());
        for (std::string line; std::getline(lines, line);) {
            if (line.find("session_unbound") != std::string::npos && line.ends_with("jid=" + jid)) return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

}  // namespace

TEST_CASE("last activity: bob asks about his own account") {
    ServerProcess server;
    server.add_user("bob", "builder");
    {
        TestClient bob(server, "bob");
        REQUIRE(bob.login("bob@localhost/laptop", "builder"));
        // Never logged out yet: there is no last activity to tell.
        auto never = ask_last(bob, "bob@localhost");
        REQUIRE(never);
        CHECK(stanza_error_condition(*never) == "item-not-found");

        bob.send_presence();
        auto online = ask_last(bob, "bob@localhost");
        REQUIRE(online);
        INFO(to_xml(*online));
        CHECK(seconds_of(*online) == 0);  // §4: available now
        CHECK(status_of(*online).empty());

        bob.send("<presence type='unavailable'><status>Heading Home</status></presence>");
        bob.disconnect();
    }
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    auto after = ask_last(bob, "bob@localhost");
    REQUIRE(after);
    INFO(to_xml(*after));
    CHECK(after->attr("from") == "bob@localhost");
    CHECK(seconds_of(*after) >= 0);
    CHECK(seconds_of(*after) < 10);
    CHECK(status_of(*after) == "Heading Home");

    // The account lists the feature.
    auto info = bob.request(*parse_fragment(
        "<iq type='get' to='bob@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    bool listed = false;
    if (const Element* q = info->find_child("query", "http://jabber.org/protocol/disco#info")) {
        for (const auto& f : q->children())
            if (f.name() == "feature" && f.attr("var") == last_ns) listed = true;
    }
    CHECK(listed);
}

TEST_CASE("last activity: a stranger is refused, a contact with a 'from' subscription is told") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "secret");
    give_subscription(server, "bob", "alice@localhost", "from");
    give_subscription(server, "bob", "carol@localhost", "to");  // bob sees carol, not the reverse

    {
        TestClient bob(server, "bob");
        REQUIRE(bob.login("bob@localhost/laptop", "builder"));
        bob.send_presence();
        bob.send("<presence type='unavailable'><status>gone fishing</status></presence>");
        bob.disconnect();
    }

    TestClient alice(server, "alice");
    TestClient carol(server, "carol");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(carol.login("carol@localhost/tablet", "secret"));

    auto told = ask_last(alice, "bob@localhost");
    REQUIRE(told);
    INFO(to_xml(*told));
    CHECK(seconds_of(*told) >= 0);
    CHECK(seconds_of(*told) < 10);
    CHECK(status_of(*told) == "gone fishing");

    auto refused = ask_last(carol, "bob@localhost");
    REQUIRE(refused);
    CHECK(stanza_error_condition(*refused) == "forbidden");
    // Whether an account exists is not told either.
    auto nobody = ask_last(carol, "nobody@localhost");
    REQUIRE(nobody);
    CHECK(stanza_error_condition(*nobody) == "forbidden");

    // bob back online with a new resource: 0 seconds; a drop without unavailable
    // presence is a logout too, with no status.
    {
        TestClient bob(server, "bob");
        REQUIRE(bob.login("bob@localhost/desk", "builder"));
        bob.send_presence();
        REQUIRE(bob.request(*parse_fragment("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")));
        auto online = ask_last(alice, "bob@localhost");
        REQUIRE(online);
        CHECK(seconds_of(*online) == 0);
        bob.disconnect();
    }
    REQUIRE(wait_unbound(server, "bob@localhost/desk"));
    auto dropped = ask_last(alice, "bob@localhost");
    REQUIRE(dropped);
    INFO(to_xml(*dropped));
    CHECK(seconds_of(*dropped) >= 0);
    CHECK(status_of(*dropped).empty());

    // The server's uptime is still for anyone.
    auto uptime = ask_last(carol, "localhost");
    REQUIRE(uptime);
    CHECK(seconds_of(*uptime) >= 0);
}
