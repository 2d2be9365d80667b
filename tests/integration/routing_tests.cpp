// Routing between local accounts (RFC 6120 §8, §10; RFC 6121 §8.5): full and bare JID
// delivery, errors for whoever is not there, from stamping, and order under load.
#include <doctest/doctest.h>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

// A round trip through the server: every stanza the client sent before has been
// handled by the time the answer arrives (one session's stanzas are handled in order).
void barrier(TestClient& client) {
    auto pong = client.request(stanza("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(pong);
}

void go_online(TestClient& client, std::optional<int> priority = std::nullopt) {
    client.send_presence(priority);
    barrier(client);
}

}  // namespace

TEST_CASE("alice sends bob a message at his full JID") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    alice.send("<message to='bob@localhost/desk' type='chat' id='m1'><body>Tea at five?</body></message>");
    auto msg = bob.wait_for(message_with_body("Tea at five?"));
    REQUIRE(msg);
    CHECK(msg->attr("from") == "alice@localhost/phone");
    CHECK(msg->attr("to") == "bob@localhost/desk");
    CHECK(msg->attr("type") == "chat");
    CHECK(msg->attr("id") == "m1");
}

TEST_CASE("a message to alice's bare JID goes to her highest-priority resources") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient phone(server, "alice-phone"), laptop(server, "alice-laptop"), hidden(server, "alice-hidden");
    TestClient bob(server, "bob");
    REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
    REQUIRE(laptop.login("alice@localhost/laptop", "wonderland"));
    REQUIRE(hidden.login("alice@localhost/hidden", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    go_online(phone, 5);
    go_online(laptop, 1);
    go_online(hidden, -1);

    bob.send("<message to='alice@localhost' type='chat'><body>for the best</body></message>");
    REQUIRE(phone.wait_for(message_with_body("for the best")));

    // Markers sent after it to the full JIDs arrive after it would have: once they are
    // in, laptop (lower priority) and hidden (negative) have not had the message.
    bob.send("<message to='alice@localhost/laptop' type='chat'><body>marker</body></message>");
    bob.send("<message to='alice@localhost/hidden' type='chat'><body>marker</body></message>");
    REQUIRE(laptop.wait_for(message_with_body("marker")));
    REQUIRE(hidden.wait_for(message_with_body("marker")));
    CHECK(laptop.count(message_with_body("for the best")) == 0);
    CHECK(hidden.count(message_with_body("for the best")) == 0);

    // With equal top priority both resources get it.
    go_online(laptop, 5);
    bob.send("<message to='alice@localhost' type='chat'><body>both of you</body></message>");
    CHECK(phone.wait_for(message_with_body("both of you")));
    CHECK(laptop.wait_for(message_with_body("both of you")));
    bob.send("<message to='alice@localhost/hidden' type='chat'><body>marker 2</body></message>");
    REQUIRE(hidden.wait_for(message_with_body("marker 2")));
    CHECK(hidden.count(message_with_body("both of you")) == 0);
}

TEST_CASE("a message to someone who is not there bounces with service-unavailable") {
    // With offline storage off (max_offline_messages = 0): otherwise carol's messages
    // would be kept for her (offline_tests.cpp).
    ServerOptions options;
    options.extra_limits = "max_offline_messages = 0\n";
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    server.add_user("carol", "christmas");  // exists, never logs in
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    struct Case {
        std::string to, type;
    };
    for (const auto& c : {Case{"carol@localhost", "chat"}, Case{"carol@localhost", "normal"},
                          Case{"carol@localhost/phone", "chat"}, Case{"nobody@localhost", "chat"},
                          Case{"nobody@localhost", "normal"}}) {
        CAPTURE(c.to);
        CAPTURE(c.type);
        std::string id = "lost-" + c.to + "-" + c.type;
        alice.send("<message to='" + c.to + "' type='" + c.type + "' id='" + id +
                   "'><body>anyone home?</body></message>");
        auto bounce = alice.wait_for([&](const Element& el) {
            return el.name() == "message" && el.attr("id") == id;
        });
        REQUIRE(bounce);
        CHECK(bounce->attr("type") == "error");
        CHECK(bounce->attr("from") == c.to);
        CHECK(stanza_error_condition(*bounce) == "service-unavailable");
    }
}

TEST_CASE("an iq to a full JID that is not online gets service-unavailable") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    for (std::string to : {"alice@localhost/nowhere", "nobody@localhost/x"}) {
        CAPTURE(to);
        auto reply = bob.request(stanza("<iq type='get' to='" + to +
                                        "'><query xmlns='jabber:iq:version'/></iq>"));
        REQUIRE(reply);
        CHECK(reply->attr("type") == "error");
        CHECK(stanza_error_condition(*reply) == "service-unavailable");
    }
}

TEST_CASE("an iq the server does not handle gets service-unavailable") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto reply = alice.request(stanza("<iq type='get' to='localhost'><query xmlns='urn:example:unknown'/></iq>"));
    REQUIRE(reply);
    CHECK(reply->attr("type") == "error");
    CHECK(reply->attr("from") == "localhost");
    CHECK(stanza_error_condition(*reply) == "service-unavailable");

    auto set = alice.request(stanza("<iq type='set' to='localhost'><magic xmlns='urn:example:unknown'/></iq>"));
    REQUIRE(set);
    CHECK(stanza_error_condition(*set) == "service-unavailable");
}

TEST_CASE("alice cannot pretend to be mallory") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    alice.send("<message from='mallory@localhost/x' to='bob@localhost/desk' type='chat'>"
               "<body>it is me, mallory</body></message>");
    auto msg = bob.wait_for(message_with_body("it is me, mallory"));
    REQUIRE(msg);
    CHECK(msg->attr("from") == "alice@localhost/phone");
}

TEST_CASE("a thousand messages arrive complete and in order") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    constexpr int total = 1000;
    std::string burst;
    for (int i = 1; i <= total; ++i) {
        burst += "<message to='bob@localhost/desk' type='chat'><body>seq " + std::to_string(i) +
                 "</body></message>";
    }
    alice.send(burst);

    auto numbered = [](const Element& el) {
        return el.name() == "message" && el.child_text("body").starts_with("seq ");
    };
    REQUIRE_MESSAGE(bob.wait_count(numbered, total, 15s),
                    "bob got " << bob.count(numbered) << " of " << total);

    std::vector<int> seen;
    for (const auto& r : bob.received()) {
        if (r.element && numbered(*r.element)) seen.push_back(std::stoi(r.element->child_text("body").substr(4)));
    }
    REQUIRE(seen.size() == total);
    for (int i = 0; i < total; ++i) {
        if (seen[static_cast<std::size_t>(i)] != i + 1) {
            FAIL_CHECK("message " << i + 1 << " arrived as number " << seen[static_cast<std::size_t>(i)]);
            break;
        }
    }
    // Nothing bounced back to alice.
    barrier(alice);
    CHECK(alice.count(named("message")) == 0);
}
