// XEP-0191 Blocking Command: scenes with alice, her second resource, bob and mallory.
// The lists are kept in PostgreSQL and survive a restart.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view blocking_ns = "urn:xmpp:blocking";

Element iq(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE(el);
    return *el;
}

Element ask(TestClient& who, std::string_view xml) {
    auto reply = who.request(iq(xml));
    REQUIRE(reply);
    return *reply;
}

std::string block(std::string_view jid) {
    return "<iq type='set'><block xmlns='urn:xmpp:blocking'><item jid='" + std::string(jid) + "'/></block></iq>";
}
std::string unblock(std::string_view jid) {
    return "<iq type='set'><unblock xmlns='urn:xmpp:blocking'><item jid='" + std::string(jid) + "'/></unblock></iq>";
}
const std::string get_blocklist = "<iq type='get'><blocklist xmlns='urn:xmpp:blocking'/></iq>";

// The JIDs in a <blocklist/> result.
std::vector<std::string> blocklist_of(TestClient& who) {
    auto reply = ask(who, get_blocklist);
    INFO(to_xml(reply));
    REQUIRE(reply.attr("type") == "result");
    const Element* list = reply.find_child("blocklist", blocking_ns);
    REQUIRE(list);
    std::vector<std::string> out;
    for (const auto& item : list->children()) {
        if (!item.is_text()) out.emplace_back(item.attr("jid"));
    }
    return out;
}

Match blocking_push(std::string name) {
    return [name = std::move(name)](const Element& el) {
        return el.name() == "iq" && el.attr("type") == "set" && el.find_child(name, blocking_ns);
    };
}

Match error_from(std::string from) {
    return [from = std::move(from)](const Element& el) {
        return el.attr("type") == "error" && el.attr("from") == from;
    };
}

bool has_blocked_condition(const Element& error_stanza) {
    const Element* error = error_stanza.find_child("error");
    return error && error->find_child("blocked", "urn:xmpp:blocking:errors");
}

void send_message(TestClient& from, std::string_view to, std::string_view body) {
    from.send("<message type='chat' to='" + std::string(to) + "'><body>" + std::string(body) + "</body></message>");
}

// Runs SQL in the server's database (for state no protocol here creates, such as a
// presence subscription, which the presence module owns).
void sql(const ServerProcess& server, const std::string& statement) {
    const std::string cmd = "psql -q -v ON_ERROR_STOP=1 -d " + server.database() + " -c \"" + statement + "\"";
    REQUIRE(std::system(cmd.c_str()) == 0);
}

}  // namespace

TEST_CASE("alice blocks mallory: her list, the push to her other resource, and both directions cut") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("mallory", "evil");
    TestClient alice(server, "alice");
    TestClient tablet(server, "alice-tablet");
    TestClient mallory(server, "mallory");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(tablet.login("alice@localhost/tablet", "wonderland"));
    REQUIRE(mallory.login("mallory@localhost/den", "evil"));

    // The server advertises the feature (§3.1).
    auto info = ask(alice, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    bool advertised = false;
    if (const Element* q = info.find_child("query", "http://jabber.org/protocol/disco#info")) {
        for (const auto& f : q->children()) advertised = advertised || f.attr("var") == blocking_ns;
    }
    CHECK(advertised);

    CHECK(blocklist_of(alice).empty());
    CHECK(blocklist_of(tablet).empty());  // the tablet is now interested in pushes

    // Before the block, messages flow.
    send_message(mallory, "alice@localhost/phone", "hello before");
    CHECK(alice.wait_for(message_with_body("hello before")));

    auto blocked = ask(alice, block("Mallory@LocalHost"));
    INFO(to_xml(blocked));
    REQUIRE(blocked.attr("type") == "result");
    CHECK(blocklist_of(alice) == std::vector<std::string>{"mallory@localhost"});
    auto push = tablet.wait_for(blocking_push("block"));
    REQUIRE(push);
    CHECK(push->find_child("block", blocking_ns)->find_child("item")->attr("jid") == "mallory@localhost");

    // Mallory's message bounces as if alice were offline; alice sees nothing.
    send_message(mallory, "alice@localhost/phone", "you there?");
    auto bounce = mallory.wait_for(both(named("message"), error_from("alice@localhost/phone")));
    REQUIRE(bounce);
    CHECK(stanza_error_condition(*bounce) == "service-unavailable");
    // An iq from mallory is refused the same way.
    auto probe = ask(mallory, "<iq type='get' to='alice@localhost/phone'><ping xmlns='urn:xmpp:ping'/></iq>");
    CHECK(probe.attr("type") == "error");
    CHECK(stanza_error_condition(probe) == "service-unavailable");
    CHECK(alice.count(message_with_body("you there?")) == 0);
    CHECK(alice.count([](const Element& el) { return el.name() == "iq" && el.find_child("ping"); }) == 0);

    // Alice's own message to mallory is refused with <blocked/>.
    send_message(alice, "mallory@localhost", "go away");
    auto refused = alice.wait_for(both(named("message"), error_from("mallory@localhost")));
    REQUIRE(refused);
    INFO(to_xml(*refused));
    CHECK(stanza_error_condition(*refused) == "not-acceptable");
    CHECK(has_blocked_condition(*refused));
    CHECK(mallory.count(message_with_body("go away")) == 0);

    // Another account is not affected, and the server still answers alice.
    CHECK(ask(alice, "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>").attr("type") == "result");

    // Even an iq to her bare JID, which the server answers for her, finds her "offline".
    auto hidden = ask(mallory, "<iq type='get' to='alice@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    CHECK(stanza_error_condition(hidden) == "service-unavailable");

    // Unblock restores delivery both ways; the tablet hears of it.
    REQUIRE(ask(alice, unblock("mallory@localhost")).attr("type") == "result");
    CHECK(tablet.wait_for(blocking_push("unblock")));
    CHECK(blocklist_of(alice).empty());
    send_message(mallory, "alice@localhost/phone", "friends again");
    CHECK(alice.wait_for(message_with_body("friends again")));
    send_message(alice, "mallory@localhost/den", "fine");
    CHECK(mallory.wait_for(message_with_body("fine")));

    // Only alice may read or change her list.
    auto get = ask(mallory, "<iq type='get' to='alice@localhost'><blocklist xmlns='urn:xmpp:blocking'/></iq>");
    CHECK(stanza_error_condition(get) == "forbidden");
    auto set = ask(mallory,
                   "<iq type='set' to='alice@localhost'><block xmlns='urn:xmpp:blocking'><item jid='bob@localhost'/>"
                   "</block></iq>");
    CHECK(stanza_error_condition(set) == "forbidden");
    CHECK(blocklist_of(alice).empty());
}

TEST_CASE("blocking a domain, a full JID, unblocking all, and bad requests") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    TestClient bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    // A block without items is a bad request (§3.3).
    auto empty = ask(alice, "<iq type='set'><block xmlns='urn:xmpp:blocking'/></iq>");
    CHECK(stanza_error_condition(empty) == "bad-request");
    // One invalid JID spoils the whole request: nothing is stored.
    auto malformed = ask(alice,
                         "<iq type='set'><block xmlns='urn:xmpp:blocking'><item jid='eve@evil.example'/>"
                         "<item jid='mallory@'/></block></iq>");
    CHECK(stanza_error_condition(malformed) == "jid-malformed");
    CHECK(blocklist_of(alice).empty());

    // A full JID blocks only that resource of bob.
    REQUIRE(ask(alice, block("bob@localhost/desk")).attr("type") == "result");
    send_message(bob, "alice@localhost", "from the desk");
    auto bounce = bob.wait_for(error_from("alice@localhost"));
    REQUIRE(bounce);
    CHECK(stanza_error_condition(*bounce) == "service-unavailable");
    send_message(alice, "bob@localhost/other", "to another resource");  // not blocked: no error
    send_message(alice, "bob@localhost/desk", "to the desk");
    auto refused = alice.wait_for(error_from("bob@localhost/desk"));
    REQUIRE(refused);
    CHECK(has_blocked_condition(*refused));
    CHECK(alice.count(error_from("bob@localhost/other")) == 0);

    // Several items at once, and a whole domain.
    REQUIRE(ask(alice,
                "<iq type='set'><block xmlns='urn:xmpp:blocking'><item jid='evil.example'/>"
                "<item jid='carol@localhost'/></block></iq>")
                .attr("type") == "result");
    CHECK(blocklist_of(alice) ==
          std::vector<std::string>{"bob@localhost/desk", "carol@localhost", "evil.example"});
    send_message(alice, "anyone@evil.example", "x");
    auto domain_refused = alice.wait_for(error_from("anyone@evil.example"));
    REQUIRE(domain_refused);
    CHECK(has_blocked_condition(*domain_refused));

    // An empty <unblock/> unblocks everything (§3.5).
    REQUIRE(ask(alice, "<iq type='set'><unblock xmlns='urn:xmpp:blocking'/></iq>").attr("type") == "result");
    CHECK(blocklist_of(alice).empty());
    send_message(bob, "alice@localhost/phone", "back again");
    CHECK(alice.wait_for(message_with_body("back again")));
}

TEST_CASE("a blocked subscriber sees alice go offline, and her presence again on unblock") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("mallory", "evil");
    // Mallory is subscribed to alice's presence.
    sql(server,
        "INSERT INTO roster_items (domain, localpart, contact, subscription, version) VALUES "
        "('localhost', 'alice', 'mallory@localhost', 'from', 1), "
        "('localhost', 'mallory', 'alice@localhost', 'to', 1)");
    TestClient alice(server, "alice");
    TestClient mallory(server, "mallory");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(mallory.login("mallory@localhost/den", "evil"));
    mallory.send_presence();
    alice.send("<presence><status>reading</status></presence>");
    REQUIRE(alice.flush());

    REQUIRE(ask(alice, block("mallory@localhost")).attr("type") == "result");
    auto gone = mallory.wait_for([](const Element& el) {
        return el.name() == "presence" && el.attr("type") == "unavailable" && el.attr("from") == "alice@localhost/phone";
    });
    CHECK(gone);

    // Whatever the presence module broadcast before the block, one more arrives now.
    const Match reading = [](const Element& el) {
        return el.name() == "presence" && el.attr("type").empty() && el.attr("from") == "alice@localhost/phone" &&
               el.child_text("status") == "reading";
    };
    const std::size_t before = mallory.count(reading);
    REQUIRE(ask(alice, unblock("mallory@localhost")).attr("type") == "result");
    CHECK(mallory.wait_count(reading, before + 1));
}

TEST_CASE("alice's blocklist survives a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("mallory", "evil");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(ask(alice, block("mallory@localhost")).attr("type") == "result");
        alice.disconnect();
    }
    server.restart();

    TestClient alice(server, "alice");
    TestClient mallory(server, "mallory");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(mallory.login("mallory@localhost/den", "evil"));
    CHECK(blocklist_of(alice) == std::vector<std::string>{"mallory@localhost"});
    send_message(mallory, "alice@localhost/phone", "remember me?");
    auto bounce = mallory.wait_for(error_from("alice@localhost/phone"));
    REQUIRE(bounce);
    CHECK(stanza_error_condition(*bounce) == "service-unavailable");
    CHECK(alice.count(message_with_body("remember me?")) == 0);
}
