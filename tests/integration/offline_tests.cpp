// XEP-0160 offline messages: stored while bob has no available resource, delivered
// with a XEP-0203 delay at his next available presence, deleted only once a ping after
// them is answered; what is never stored (XEP-0334 hints, XEP-0085 §5.6, transient
// types); the per-account cap; a restart in between.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view delay_ns = "urn:xmpp:delay";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

Match server_ping() {
    return [](const Element& el) {
        return el.name() == "iq" && el.attr("type") == "get" && el.attr("from") == "localhost" &&
               el.find_child("ping", "urn:xmpp:ping") != nullptr;
    };
}

// libstrophe does not answer pings by itself; a real client does, so the scene does.
void answer_ping(TestClient& who) {
    auto ping = who.wait_for(server_ping());
    REQUIRE_MESSAGE(ping, who.name() << " got no ping after the offline messages");
    who.send("<iq type='result' to='localhost' id='" + std::string(ping->attr("id")) + "'/>");
}

// Makes sure everything sent before has been routed (the server answers in order).
void barrier(TestClient& client) {
    REQUIRE(client.request(stanza("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")));
}

Match error_with_id(std::string id) {
    return [id](const Element& el) { return el.attr("type") == "error" && el.attr("id") == id; };
}

// The cap is a [limits] key, which ServerOptions does not have: the scene writes it
// into the config between a stop and a start.
void set_offline_cap(ServerProcess& server, int cap) {
    server.stop();
    std::ifstream in(server.config_file());
    std::stringstream text;
    text << in.rdbuf();
    std::string config = text.str();
    const auto at = config.find("[limits]\n");
    REQUIRE(at != std::string::npos);
    config.insert(at + 9, "max_offline_messages = " + std::to_string(cap) + "\n");
    std::ofstream(server.config_file()) << config;
    server.start();
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

TEST_CASE("offline: bob gets alice's message at his next available presence, once, with a delay") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send("<message to='bob@localhost' type='chat' id='m1'><body>while you were out</body></message>");
    REQUIRE(server.wait_for_log("offline_stored to=bob@localhost"));

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    // Not before his presence: a session that never sends one is not a chat session.
    barrier(bob);
    CHECK(bob.count(message_with_body("while you were out")) == 0);
    bob.send_presence();
    auto got = bob.wait_for(message_with_body("while you were out"));
    REQUIRE(got);
    INFO(to_xml(*got));
    CHECK(got->attr("from") == "alice@localhost/phone");
    CHECK(got->attr("type") == "chat");
    CHECK(got->attr("id") == "m1");
    const Element* delay = got->find_child("delay", delay_ns);
    REQUIRE(delay);
    CHECK(delay->attr("from") == "localhost");
    const std::string stamp(delay->attr("stamp"));
    CHECK(stamp.size() == 24);  // 2026-11-28T03:46:47.123Z
    CHECK(stamp.back() == 'Z');
    answer_ping(bob);
    REQUIRE(server.wait_for_log("offline_delivered to=bob@localhost/laptop count=1"));
    barrier(bob);
    CHECK(bob.count(message_with_body("while you were out")) == 1);
    CHECK(alice.count(named("message")) == 0);  // no error came back
    bob.disconnect();

    // Acknowledged: the next login has nothing waiting.
    TestClient bob_again(server, "bob again");
    REQUIRE(bob_again.login("bob@localhost/desk", "builder"));
    bob_again.send_presence();
    CHECK_FALSE(bob_again.wait_for(message_with_body("while you were out"), std::chrono::milliseconds(700)));
    CHECK(bob_again.count(server_ping()) == 0);  // nothing delivered, nothing to acknowledge
}

TEST_CASE("offline: headlines, groupchat, no-store and bare chat states are not kept") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send("<message to='bob@localhost' type='headline' id='h'><body>news</body></message>");
    alice.send("<message to='bob@localhost' type='groupchat' id='g'><body>room talk</body></message>");
    alice.send("<message to='bob@localhost' type='chat' id='n'><body>off the record</body>"
               "<no-store xmlns='urn:xmpp:hints'/></message>");
    alice.send("<message to='bob@localhost' type='chat' id='c'>"
               "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>");
    alice.send("<message to='bob@localhost' type='chat' id='s'>"
               "<paused xmlns='http://jabber.org/protocol/chatstates'/><store xmlns='urn:xmpp:hints'/></message>");
    alice.send("<message to='bob@localhost' id='last'><body>the one that stays</body></message>");
    REQUIRE(server.wait_for_log("offline_stored to=bob@localhost"));
    barrier(alice);

    // What is not stored gets the default answer for its type (RFC 6121 §8.5.2.2.1).
    CHECK(alice.wait_for(error_with_id("g")));
    CHECK(alice.wait_for(error_with_id("n")));
    CHECK(alice.wait_for(error_with_id("c")));
    CHECK(alice.count(error_with_id("h")) == 0);  // a headline is dropped silently
    CHECK(alice.count(error_with_id("s")) == 0);  // <store/> kept it
    CHECK(alice.count(error_with_id("last")) == 0);

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    REQUIRE(bob.wait_for(message_with_body("the one that stays")));
    answer_ping(bob);
    barrier(bob);
    CHECK(bob.count(named("message")) == 2);  // the paused state with <store/>, and "the one that stays"
    for (const char* body : {"news", "room talk", "off the record"}) {
        CHECK(bob.count(message_with_body(body)) == 0);
    }
    const auto& seen = bob.received();
    bool composing = false, paused = false;
    for (const auto& r : seen) {
        if (!r.element || r.element->name() != "message") continue;
        composing |= r.element->find_child("composing", "http://jabber.org/protocol/chatstates") != nullptr;
        paused |= r.element->find_child("paused", "http://jabber.org/protocol/chatstates") != nullptr;
    }
    CHECK_FALSE(composing);
    CHECK(paused);
}

TEST_CASE("offline: a full mailbox answers service-unavailable") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    set_offline_cap(server, 2);
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    for (int i = 1; i <= 3; ++i) {
        alice.send("<message to='bob@localhost' type='chat' id='m" + std::to_string(i) + "'><body>note " +
                   std::to_string(i) + "</body></message>");
    }
    auto bounced = alice.wait_for(error_with_id("m3"));
    REQUIRE(bounced);
    CHECK(stanza_error_condition(*bounced) == "service-unavailable");
    CHECK(bounced->attr("from") == "bob@localhost");
    CHECK(alice.count(error_with_id("m1")) == 0);
    CHECK(alice.count(error_with_id("m2")) == 0);

    // Nobody by that name: nothing stored, the sender learns it at once.
    alice.send("<message to='nobody@localhost' type='chat' id='x'><body>hello?</body></message>");
    auto unknown = alice.wait_for(error_with_id("x"));
    REQUIRE(unknown);
    CHECK(stanza_error_condition(*unknown) == "service-unavailable");

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    REQUIRE(bob.wait_for(message_with_body("note 1")));
    REQUIRE(bob.wait_for(message_with_body("note 2")));
    answer_ping(bob);
    barrier(bob);
    CHECK(bob.count(message_with_body("note 3")) == 0);
}

TEST_CASE("offline: a stored message survives a restart and comes once") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        alice.send("<message to='bob@localhost' type='chat'><body>before the restart</body></message>");
        REQUIRE(server.wait_for_log("offline_stored to=bob@localhost"));
        alice.disconnect();
    }
    server.restart();

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    auto got = bob.wait_for(message_with_body("before the restart"));
    REQUIRE(got);
    CHECK(got->find_child("delay", delay_ns));
    answer_ping(bob);
    REQUIRE(server.wait_for_log("offline_delivered to=bob@localhost/laptop count=1"));
    bob.disconnect();

    TestClient bob_again(server, "bob again");
    REQUIRE(bob_again.login("bob@localhost/laptop", "builder"));
    bob_again.send_presence();
    CHECK_FALSE(bob_again.wait_for(message_with_body("before the restart"), std::chrono::milliseconds(700)));
}

TEST_CASE("offline: a delivery that was never acknowledged comes again") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send("<message to='bob@localhost' type='chat'><body>did you get this?</body></message>");
    REQUIRE(server.wait_for_log("offline_stored to=bob@localhost"));

    {
        // bob reads the message and the ping, then his connection drops unanswered.
        auto raw = raw_login(server, "bob", "builder", "flaky");
        REQUIRE(send_element(*raw, stanza("<presence/>")));
        auto got = raw->wait_for(message_with_body("did you get this?"));
        REQUIRE(got);
        CHECK(got->find_child("delay", delay_ns));
        REQUIRE(raw->wait_for([](const Element& el) {
            return el.name() == "iq" && el.find_child("ping", "urn:xmpp:ping") != nullptr;
        }));
        raw->close();
    }
    REQUIRE(wait_unbound(server, "bob@localhost/flaky"));
    // The closed session fails the ping at once; the row stays.
    REQUIRE(server.wait_for_log("offline_delivery_unacknowledged to=bob@localhost/flaky count=1"));

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    REQUIRE(bob.wait_for(message_with_body("did you get this?")));
    answer_ping(bob);
    REQUIRE(server.wait_for_log("offline_delivered to=bob@localhost/laptop count=1"));
    bob.disconnect();

    TestClient bob_again(server, "bob again");
    REQUIRE(bob_again.login("bob@localhost/laptop", "builder"));
    bob_again.send_presence();
    CHECK_FALSE(bob_again.wait_for(message_with_body("did you get this?"), std::chrono::milliseconds(700)));
}

TEST_CASE("offline: disco lists msgoffline") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    auto info = alice.request(
        stanza("<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    const Element* q = info->find_child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(q);
    bool found = false;
    for (const auto& f : q->children()) {
        if (f.name() == "feature" && f.attr("var") == "msgoffline") found = true;
    }
    CHECK(found);
}
