// RFC 6121 Appendix A, walked end to end through a running server: for each of the nine
// subscription states between two local accounts and each of the four subscription
// stanzas, a fresh pair (alice_N, bob_N) is brought into the state with real stanzas,
// alice sends the stanza (the outbound table on her roster, the inbound table on bob's),
// and both rosters must show the state the tables give. Alice's "Pending In" is bob's
// ask='subscribe', since a pending inbound request is not part of a roster item.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

Element stanza(const std::string& xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

struct Side {
    std::string sub = "none";
    bool ask = false;
};

Side item_for(TestClient& client, const std::string& contact) {
    auto reply = client.request(stanza("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
    REQUIRE(reply);
    REQUIRE(reply->attr("type") == "result");
    Side side;
    const Element* q = reply->find_child("query", "jabber:iq:roster");
    REQUIRE(q);
    for (const auto& c : q->children()) {
        if (c.is_text() || c.name() != "item" || c.attr("jid") != contact) continue;
        side.sub = std::string(c.attr("subscription"));
        side.ask = c.attr("ask") == "subscribe";
    }
    return side;
}

// Alice's state toward bob, read from both rosters; "inconsistent" when they disagree.
std::string state_of(TestClient& alice, TestClient& bob, const std::string& alice_jid, const std::string& bob_jid) {
    const Side a = item_for(alice, bob_jid);
    const Side b = item_for(bob, alice_jid);
    const std::map<std::string, std::string> mirror = {{"none", "none"}, {"to", "from"}, {"from", "to"}, {"both", "both"}};
    if (mirror.at(a.sub) != b.sub) return "inconsistent(" + a.sub + "/" + b.sub + ")";
    std::string name = a.sub == "none" ? "None" : a.sub == "to" ? "To" : a.sub == "from" ? "From" : "Both";
    if (a.ask) name += "+PendingOut";
    if (b.ask) name += "+PendingIn";
    return name;
}

// Waits until the rosters show `expected`, then makes sure they stay so.
void settle(TestClient& alice, TestClient& bob, const std::string& aj, const std::string& bj, const std::string& expected) {
    std::string now;
    for (int i = 0; i < 100; ++i) {
        now = state_of(alice, bob, aj, bj);
        if (now == expected) break;
        std::this_thread::sleep_for(20ms);
    }
    std::this_thread::sleep_for(60ms);
    now = state_of(alice, bob, aj, bj);
    REQUIRE_MESSAGE(now == expected, "rosters show " << now << ", expected " << expected);
}

void send_sub(TestClient& from, const std::string& type, const std::string& to) {
    from.send("<presence type='" + type + "' to='" + to + "'/>");
}

// The stanzas that lead from None to each state, as (sender is alice?, type) steps,
// with the state after each step.
struct Step {
    bool from_alice;
    const char* type;
    const char* after;
};
const std::map<std::string, std::vector<Step>> recipes = {
    {"None", {}},
    {"None+PendingOut", {{true, "subscribe", "None+PendingOut"}}},
    {"None+PendingIn", {{false, "subscribe", "None+PendingIn"}}},
    {"None+PendingOut+PendingIn", {{true, "subscribe", "None+PendingOut"}, {false, "subscribe", "None+PendingOut+PendingIn"}}},
    {"To", {{true, "subscribe", "None+PendingOut"}, {false, "subscribed", "To"}}},
    {"To+PendingIn", {{true, "subscribe", "None+PendingOut"}, {false, "subscribed", "To"}, {false, "subscribe", "To+PendingIn"}}},
    {"From", {{false, "subscribe", "None+PendingIn"}, {true, "subscribed", "From"}}},
    {"From+PendingOut", {{false, "subscribe", "None+PendingIn"}, {true, "subscribed", "From"}, {true, "subscribe", "From+PendingOut"}}},
    {"Both", {{true, "subscribe", "None+PendingOut"}, {false, "subscribed", "To"}, {false, "subscribe", "To+PendingIn"},
              {true, "subscribed", "Both"}}},
};

// The end state of each (state, stanza from alice): the outbound table A.2 applied to
// alice, whose effect on bob is the inbound table A.3. Where alice's table leaves the
// stanza unrouted (a pre-approval), bob's side does not move either.
struct Row {
    const char* state;
    const char* type;
    const char* expected;
};
const std::vector<Row> rows = {
    {"None", "subscribe", "None+PendingOut"},
    {"None+PendingOut", "subscribe", "None+PendingOut"},
    {"None+PendingIn", "subscribe", "None+PendingOut+PendingIn"},
    {"None+PendingOut+PendingIn", "subscribe", "None+PendingOut+PendingIn"},
    {"To", "subscribe", "To"},
    {"To+PendingIn", "subscribe", "To+PendingIn"},
    {"From", "subscribe", "From+PendingOut"},
    {"From+PendingOut", "subscribe", "From+PendingOut"},
    {"Both", "subscribe", "Both"},

    {"None", "subscribed", "None"},  // a pre-approval: shown as approved, not as a state
    {"None+PendingOut", "subscribed", "None+PendingOut"},
    {"None+PendingIn", "subscribed", "From"},
    {"None+PendingOut+PendingIn", "subscribed", "From+PendingOut"},
    {"To", "subscribed", "To"},
    {"To+PendingIn", "subscribed", "Both"},
    {"From", "subscribed", "From"},
    {"From+PendingOut", "subscribed", "From+PendingOut"},
    {"Both", "subscribed", "Both"},

    {"None", "unsubscribe", "None"},
    {"None+PendingOut", "unsubscribe", "None"},
    {"None+PendingIn", "unsubscribe", "None+PendingIn"},
    {"None+PendingOut+PendingIn", "unsubscribe", "None+PendingIn"},
    {"To", "unsubscribe", "None"},
    {"To+PendingIn", "unsubscribe", "None+PendingIn"},
    {"From", "unsubscribe", "From"},
    {"From+PendingOut", "unsubscribe", "From"},
    {"Both", "unsubscribe", "From"},

    {"None", "unsubscribed", "None"},
    {"None+PendingOut", "unsubscribed", "None+PendingOut"},
    {"None+PendingIn", "unsubscribed", "None"},
    {"None+PendingOut+PendingIn", "unsubscribed", "None+PendingOut"},
    {"To", "unsubscribed", "To"},
    {"To+PendingIn", "unsubscribed", "To"},
    {"From", "unsubscribed", "None"},
    {"From+PendingOut", "unsubscribed", "None+PendingOut"},
    {"Both", "unsubscribed", "To"},
};

}  // namespace

TEST_CASE("every row of the RFC 6121 subscription state tables, end to end") {
    ServerProcess server;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        server.add_user("alice" + std::to_string(i), "secret");
        server.add_user("bob" + std::to_string(i), "secret");
    }
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& row = rows[i];
        CAPTURE(row.state);
        CAPTURE(row.type);
        const std::string aj = "alice" + std::to_string(i) + "@localhost";
        const std::string bj = "bob" + std::to_string(i) + "@localhost";
        TestClient alice(server, "alice");
        TestClient bob(server, "bob");
        REQUIRE(alice.login(aj + "/a", "secret"));
        REQUIRE(bob.login(bj + "/b", "secret"));
        for (const Step& step : recipes.at(row.state)) {
            send_sub(step.from_alice ? alice : bob, step.type, step.from_alice ? bj : aj);
            settle(alice, bob, aj, bj, step.after);
        }
        send_sub(alice, row.type, bj);
        settle(alice, bob, aj, bj, row.expected);
        alice.disconnect();
        bob.disconnect();
    }
}
