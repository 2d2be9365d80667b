// XEP-0045 across two federated Parley instances: bob@other.example joins a room on
// parley.example's service, and alice@parley.example joins one on other.example's.
// Each server also serves its conference domain over s2s (dialback for it included).
#include <csignal>

#include <doctest/doctest.h>

#include "muc_scene.hpp"
#include "support/federation_pair.hpp"

using namespace parley::test;
using namespace parley::test::muc;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);

// parley.example and other.example, each with a MUC service (conference.<domain>), and
// static routes from each to both of the other's domains.
struct MucFederation {
    std::unique_ptr<ServerProcess> a, b;
    MucFederation() {
        const std::uint16_t port_a = pick_free_port();
        const std::uint16_t port_b = pick_free_port({port_a});
        const std::string to_a = "127.0.0.1:" + std::to_string(port_a);
        const std::string to_b = "127.0.0.1:" + std::to_string(port_b);
        auto oa = federated_options("parley.example", {{"other.example", to_b}, {"conference.other.example", to_b}});
        oa.muc_domain = "conference.parley.example";
        oa.s2s_port = port_a;
        auto ob = federated_options("other.example", {{"parley.example", to_a}, {"conference.parley.example", to_a}});
        ob.muc_domain = "conference.other.example";
        ob.s2s_port = port_b;
        a = std::make_unique<ServerProcess>(std::move(oa));
        b = std::make_unique<ServerProcess>(std::move(ob));
    }
    std::string logs() const { return "a's log:\n" + a->log() + "\nb's log:\n" + b->log(); }
};

}  // namespace

TEST_CASE("s2s muc: bob from the other server joins alice's room, and they talk in it") {
    MucFederation fed;
    fed.a->add_user("alice@parley.example", "wonderland");
    fed.b->add_user("bob@other.example", "builder");
    TestClient alice(*fed.a, "alice"), bob(*fed.b, "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    const std::string room = "tea@conference.parley.example";
    REQUIRE(join(alice, room + "/alice"));
    REQUIRE(make_instant(alice, room));

    // bob's entering presence crosses to parley.example; the room answers over s2s
    // with alice's presence, then his own (110), then the subject.
    bob.send("<presence to='" + room + "/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    auto self = bob.wait_for(
        [&](const Element& el) {
            return el.name() == "presence" && el.attr("from") == room + "/bob" && has_status(el, 110);
        },
        federation_wait);
    REQUIRE_MESSAGE(self, fed.logs());
    CHECK(bob.count(presence_from(room + "/alice")) == 1);
    CHECK(bob.wait_for(subject_message(), federation_wait));
    auto seen = alice.wait_for(presence_from(room + "/bob"), federation_wait);
    REQUIRE(seen);
    CHECK(item_of(*seen).attr("role") == "participant");

    bob.send("<message to='" + room + "' type='groupchat'><body>hello from afar</body></message>");
    auto at_alice = alice.wait_for(message_with_body("hello from afar"), federation_wait);
    REQUIRE(at_alice);
    CHECK(at_alice->attr("from") == room + "/bob");
    auto echo = bob.wait_for(message_with_body("hello from afar"), federation_wait);
    REQUIRE(echo);  // the sender gets its own message back (§7.4)

    alice.send("<message to='" + room + "' type='groupchat'><body>welcome</body></message>");
    REQUIRE(bob.wait_for(message_with_body("welcome"), federation_wait));

    // A private message from the room's occupant alice reaches bob's full JID.
    alice.send("<message to='" + room + "/bob' type='chat'><body>psst</body></message>");
    auto pm = bob.wait_for(message_with_body("psst"), federation_wait);
    REQUIRE(pm);
    CHECK(pm->attr("from") == room + "/alice");

    // bob leaves; alice sees him go.
    bob.send("<presence to='" + room + "/bob' type='unavailable'/>");
    REQUIRE(alice.wait_for(both(presence_from(room + "/bob"), unavailable()), federation_wait));
}

TEST_CASE("s2s muc: alice joins a room on the other server and gets its messages") {
    MucFederation fed;
    fed.a->add_user("alice@parley.example", "wonderland");
    fed.b->add_user("bob@other.example", "builder");
    TestClient alice(*fed.a, "alice"), bob(*fed.b, "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    const std::string room = "lounge@conference.other.example";
    REQUIRE(join(bob, room + "/bob"));
    REQUIRE(make_instant(bob, room));
    bob.send("<message to='" + room + "' type='groupchat'><body>before you came</body></message>");
    REQUIRE(bob.wait_for(message_with_body("before you came")));

    alice.send("<presence to='" + room + "/alice'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    auto self = alice.wait_for(
        [&](const Element& el) {
            return el.name() == "presence" && el.attr("from") == room + "/alice" && has_status(el, 110);
        },
        federation_wait);
    REQUIRE_MESSAGE(self, fed.logs());
    // The history came with a delay stamp from the room.
    auto history = alice.wait_for(message_with_body("before you came"), federation_wait);
    REQUIRE(history);
    CHECK(history->find_child("delay", "urn:xmpp:delay"));

    bob.send("<message to='" + room + "' type='groupchat'><body>now live</body></message>");
    auto live = alice.wait_for(message_with_body("now live"), federation_wait);
    REQUIRE(live);
    CHECK(live->attr("from") == room + "/bob");
    CHECK(live->attr("type") == "groupchat");

    // The room's disco#info is answered by the other server.
    auto info = alice.request(
        *parse_fragment("<iq type='get' to='" + room + "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
        federation_wait);
    REQUIRE(info);
    CHECK(info->attr("type") == "result");

    // alice's logout is an unavailable presence to the room (directed presence, §4.6.3).
    alice.disconnect();
    REQUIRE(bob.wait_for(both(presence_from(room + "/alice"), unavailable()), federation_wait));
}

TEST_CASE("s2s muc: when a remote occupant's server is gone, the room removes him (307, 333) on the bounce") {
    MucFederation fed;
    fed.a->add_user("alice@parley.example", "wonderland");
    fed.b->add_user("bob@other.example", "builder");
    TestClient alice(*fed.a, "alice"), bob(*fed.b, "bob");
    REQUIRE(alice.login("alice@parley.example/home", "wonderland"));
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    const std::string room = "tea@conference.parley.example";
    REQUIRE(join(alice, room + "/alice"));
    REQUIRE(make_instant(alice, room));
    bob.send("<presence to='" + room + "/bob'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    REQUIRE(alice.wait_for(presence_from(room + "/bob"), federation_wait));

    // bob's server dies without a word (no unavailable presence reaches the room).
    fed.b->send_signal(SIGKILL);
    REQUIRE(fed.b->stop(std::chrono::seconds(5)));

    // The next message to the room cannot reach bob: the bounce removes him.
    alice.send("<message to='" + room + "' type='groupchat'><body>anyone there?</body></message>");
    auto gone = alice.wait_for(both(presence_from(room + "/bob"), unavailable()), federation_wait);
    REQUIRE_MESSAGE(gone, fed.a->log());
    CHECK(has_status(*gone, 307));
    CHECK(has_status(*gone, 333));
    CHECK(item_of(*gone).attr("role") == "none");
    CHECK(fed.a->log().find("muc_occupant_unreachable") != std::string::npos);

    // Later messages go only to alice: no more bounces, no second removal.
    alice.send("<message to='" + room + "' type='groupchat'><body>just me</body></message>");
    REQUIRE(alice.wait_for(message_with_body("just me")));
    CHECK(alice.count(both(presence_from(room + "/bob"), unavailable())) == 1);
}
