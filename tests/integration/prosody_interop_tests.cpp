// Federation with a real Prosody 0.12 (issue 6): alice@parley.example and
// bob@prosody.example write to each other, subscribe to each other's presence (RFC 6121)
// and meet in rooms on either server's MUC service (XEP-0045). Every scene runs twice:
// with dialback (Prosody's certificate is trusted by nobody; XEP-0220) and with
// certificates from one test CA (s2s_secure_auth on Prosody's side, SASL EXTERNAL).
// Names resolve only through the test's DnsResponder: Parley through [s2s]
// dns_servers, Prosody through libunbound forwarding to it. Two refusals end it: a
// domain whose dialback Parley cannot verify, and a certificate Parley does not trust.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "muc_scene.hpp"
#include "support/dns_responder.hpp"
#include "support/prosody_peer.hpp"
#include "support/server_process.hpp"
#include "support/test_ca.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);
constexpr const char* alice_jid = "alice@parley.example";
constexpr const char* bob_jid = "bob@prosody.example";

// dialback: Prosody's certificate is trusted by nobody, both sides allow dialback.
// certificates: both certificates from one test CA that both trust; Prosody has
// s2s_secure_auth on, Parley require_valid_certificate.
// untrusted_peer: Parley as for `certificates`, Prosody as for `dialback`.
enum class Trust { dialback, certificates, untrusted_peer };

// DNS, a Prosody and a parleyd that find each other through it, and the two accounts.
class InteropScene {
public:
    explicit InteropScene(Trust trust, std::vector<std::string> more_prosody_hosts = {}) {
        ProsodyOptions po;
        po.dns_port = dns_.port();
        po.more_hosts = std::move(more_prosody_hosts);
        ServerOptions so;
        so.hosts = {"parley.example"};
        so.muc_domain = "conference.parley.example";
        so.s2s = true;
        so.s2s_port = pick_free_port();
        so.extra_s2s = "dns_servers = [\"" + dns_.endpoint() + "\"]\nconnect_timeout = 10\n";
        if (trust != Trust::dialback) {
            ca_.emplace(scratch_.path() / "ca");
            auto parley_cert = ca_->issue({"parley.example", "conference.parley.example"});
            if (trust == Trust::certificates) {
                auto prosody_cert = ca_->issue({"prosody.example", "conference.prosody.example"});
                po.certificate = prosody_cert.certificate;
                po.key = prosody_cert.key;
                po.ca_file = ca_->root();
                po.secure_auth = true;
            }
            so.tls_certificate = parley_cert.certificate;
            so.tls_key = parley_cert.key;
            so.extra_s2s += "require_valid_certificate = true\nca_file = \"" + ca_->root().string() + "\"\n";
        } else {
            so.extra_s2s += "require_valid_certificate = false\n";
        }
        prosody_ = std::make_unique<ProsodyPeer>(po);
        // Each server, and each MUC service, is found by SRV at the other's s2s port.
        // Both resolvers answer "localhost" without asking; the A record is a fallback.
        for (const char* domain : {"parley.example", "conference.parley.example"}) {
            dns_.add_srv(std::string("_xmpp-server._tcp.") + domain, 10, 0, so.s2s_port, "localhost");
        }
        for (const char* domain : {"prosody.example", "conference.prosody.example"}) {
            dns_.add_srv(std::string("_xmpp-server._tcp.") + domain, 10, 0, prosody_->s2s_port(), "localhost");
        }
        dns_.add_a("localhost", "127.0.0.1");
        parley_ = std::make_unique<ServerProcess>(so);
        parley_->add_user(alice_jid, "wonderland");
        prosody_->add_user("bob", "builder");
    }

    DnsResponder& dns() { return dns_; }
    ProsodyPeer& prosody() { return *prosody_; }
    ServerProcess& parley() { return *parley_; }

private:
    DnsResponder dns_;  // declared first: it outlives both servers
    TempDir scratch_;
    std::optional<TestCa> ca_;
    std::unique_ptr<ProsodyPeer> prosody_;
    std::unique_ptr<ServerProcess> parley_;
};

// alice on Parley and bob on Prosody, logged in, roster fetched (so that they get
// roster pushes, RFC 6121 §2.1.6) and available.
struct Couple {
    TestClient alice, bob;
    explicit Couple(InteropScene& scene) : alice(scene.parley(), "alice"), bob(scene.prosody().c2s_port(), "bob") {
        REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
        REQUIRE_MESSAGE(bob.login("bob@prosody.example/laptop", "builder"), "bob cannot log in to Prosody");
        for (TestClient* c : {&alice, &bob}) {
            auto roster = c->request(*parse_fragment("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
            REQUIRE(roster);
            REQUIRE(roster->attr("type") == "result");
            c->send_presence();
        }
    }
};

Match roster_push(std::string jid, std::string subscription, bool pending_out = false) {
    return [=](const Element& el) {
        if (el.name() != "iq" || el.attr("type") != "set") return false;
        const Element* query = el.find_child("query", "jabber:iq:roster");
        const Element* item = query ? query->find_child("item", "jabber:iq:roster") : nullptr;
        return item && item->attr("jid") == jid && item->attr("subscription") == subscription &&
               (item->attr("ask") == "subscribe") == pending_out;
    };
}

Match presence_of_type(std::string from_bare, std::string type) {
    return [=](const Element& el) {
        if (el.name() != "presence" || el.attr("type") != type) return false;
        const std::string from(el.attr("from"));
        return from == from_bare || from.rfind(from_bare + "/", 0) == 0;
    };
}

Match groupchat_with_body(std::string from, std::string body) {
    return both(message_with_body(std::move(body)), [from = std::move(from)](const Element& el) {
        return el.attr("type") == "groupchat" && el.attr("from") == from;
    });
}

// Whether a line of `log` holds both `event` and `text`.
bool log_has_line(const std::string& log, std::string_view event, std::string_view text) {
    std::size_t start = 0;
    while (start < log.size()) {
        std::size_t end = log.find('\n', start);
        if (end == std::string::npos) end = log.size();
        const std::string_view line(log.data() + start, end - start);
        if (line.find(event) != std::string_view::npos && line.find(text) != std::string_view::npos) return true;
        start = end + 1;
    }
    return false;
}

void messages_both_ways(Trust trust) {
    InteropScene scene(trust);
    Couple c(scene);

    c.alice.send("<message to='bob@prosody.example/laptop' type='chat' id='m1'><body>hello prosody</body></message>");
    auto got = c.bob.wait_for(message_with_body("hello prosody"), federation_wait);
    REQUIRE_MESSAGE(got, "bob received nothing");
    CHECK(got->attr("from") == "alice@parley.example/phone");

    c.bob.send("<message to='alice@parley.example' type='chat' id='m2'><body>hello parley</body></message>");
    auto back = c.alice.wait_for(message_with_body("hello parley"), federation_wait);
    REQUIRE_MESSAGE(back, "alice received nothing");
    CHECK(back->attr("from") == "bob@prosody.example/laptop");

    // The streams, once up, carry more without a new handshake, in order.
    for (int i = 0; i < 5; ++i) {
        c.alice.send("<message to='bob@prosody.example' type='chat'><body>n" + std::to_string(i) + "</body></message>");
    }
    CHECK(c.bob.wait_for(message_with_body("n4"), federation_wait));
    CHECK(c.bob.count(message_with_body("n0")) == 1);
    CHECK(scene.dns().queries() > 0);  // both found each other through the responder

    // Each side authenticated the other the way the variant means, both directions.
    const std::string mechanism = trust == Trust::certificates ? "mechanism=EXTERNAL" : "mechanism=dialback";
    const std::string parley_log = scene.parley().log();
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_outgoing_established", "remote=prosody.example " + mechanism),
                  "parleyd's outgoing stream did not use " << mechanism);
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_incoming_authenticated",
                               "remote=prosody.example local=parley.example " + mechanism),
                  "parleyd's incoming stream did not use " << mechanism);
    const std::string prosody_log = scene.prosody().log();
    if (trust == Trust::certificates) {
        CHECK(prosody_log.find("Accepting SASL EXTERNAL identity from parley.example") != std::string::npos);
    } else {
        CHECK(prosody_log.find("asking parley.example if key") != std::string::npos);  // its db:verify
    }
}

void subscription_handshake(Trust trust) {
    InteropScene scene(trust);
    Couple c(scene);

    // alice asks; her roster shows the pending request (RFC 6121 §3.1.2).
    c.alice.send("<presence to='bob@prosody.example' type='subscribe'/>");
    CHECK(c.alice.wait_for(roster_push(bob_jid, "none", true), federation_wait));
    auto request = c.bob.wait_for(presence_of_type(alice_jid, "subscribe"), federation_wait);
    REQUIRE_MESSAGE(request, "bob never got alice's subscription request");
    CHECK(request->attr("from") == alice_jid);

    // bob approves: he now has a "from" subscription, alice a "to" one (§3.1.5, §3.1.6),
    // and alice gets his current presence.
    c.bob.send("<presence to='alice@parley.example' type='subscribed'/>");
    CHECK(c.bob.wait_for(roster_push(alice_jid, "from"), federation_wait));
    auto approved = c.alice.wait_for(presence_of_type(bob_jid, "subscribed"), federation_wait);
    REQUIRE_MESSAGE(approved, "alice never got bob's approval");
    CHECK(c.alice.wait_for(roster_push(bob_jid, "to"), federation_wait));
    auto bob_available = c.alice.wait_for(presence_of_type(bob_jid, ""), federation_wait);
    REQUIRE_MESSAGE(bob_available, "alice never saw bob's available presence");
    CHECK(bob_available->attr("from") == "bob@prosody.example/laptop");

    // bob subscribes back; alice approves: both are "both" and see each other.
    c.bob.send("<presence to='alice@parley.example' type='subscribe'/>");
    CHECK(c.bob.wait_for(roster_push(alice_jid, "from", true), federation_wait));
    auto back = c.alice.wait_for(presence_of_type(bob_jid, "subscribe"), federation_wait);
    REQUIRE_MESSAGE(back, "alice never got bob's subscription request");
    c.alice.send("<presence to='bob@prosody.example' type='subscribed'/>");
    CHECK(c.alice.wait_for(roster_push(bob_jid, "both"), federation_wait));
    CHECK(c.bob.wait_for(presence_of_type(alice_jid, "subscribed"), federation_wait));
    CHECK(c.bob.wait_for(roster_push(alice_jid, "both"), federation_wait));
    auto alice_available = c.bob.wait_for(presence_of_type(alice_jid, ""), federation_wait);
    REQUIRE_MESSAGE(alice_available, "bob never saw alice's available presence");
    CHECK(alice_available->attr("from") == "alice@parley.example/phone");

    // A later change of availability reaches the contact through the subscription.
    c.alice.send("<presence><show>away</show></presence>");
    auto away = c.bob.wait_for(
        both(presence_of_type(alice_jid, ""), [](const Element& el) { return el.child_text("show") == "away"; }),
        federation_wait);
    CHECK_MESSAGE(away, "bob never saw alice go away");
}

void bob_joins_parley_room(Trust trust) {
    InteropScene scene(trust);
    Couple c(scene);
    const std::string room = "lobby@conference.parley.example";

    auto created = muc::join(c.alice, room + "/Alice");
    REQUIRE(created);
    if (muc::has_status(*created, 201)) REQUIRE(muc::make_instant(c.alice, room));

    auto self = muc::join(c.bob, room + "/Bob");
    REQUIRE_MESSAGE(self, "bob (on Prosody) did not get his self-presence from the Parley room");
    CHECK(muc::item_of(*self).attr("role") == "participant");
    auto seen = c.alice.wait_for(both(muc::presence_from(room + "/Bob"), muc::available()), federation_wait);
    REQUIRE_MESSAGE(seen, "alice did not see bob enter");
    // bob also learns who was there before him.
    CHECK(c.bob.count(muc::presence_from(room + "/Alice")) >= 1);

    c.bob.send("<message to='" + room + "' type='groupchat' id='g1'><body>hi from prosody</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", "hi from prosody"), federation_wait),
                  "alice did not get bob's groupchat message");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Bob", "hi from prosody"), federation_wait));  // the echo
    c.alice.send("<message to='" + room + "' type='groupchat'><body>welcome bob</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "welcome bob"), federation_wait));
}

void alice_joins_prosody_room(Trust trust) {
    InteropScene scene(trust);
    Couple c(scene);
    const std::string room = "tea@conference.prosody.example";

    REQUIRE_MESSAGE(muc::join(c.bob, room + "/Bob"), "bob could not create a room on Prosody");
    auto self = muc::join(c.alice, room + "/Alice");
    REQUIRE_MESSAGE(self, "alice (on Parley) did not get her self-presence from the Prosody room");
    CHECK(c.bob.wait_for(both(muc::presence_from(room + "/Alice"), muc::available()), federation_wait));

    c.bob.send("<message to='" + room + "' type='groupchat'><body>tea is ready</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", "tea is ready"), federation_wait),
                  "alice did not get bob's groupchat message");
    c.alice.send("<message to='" + room + "' type='groupchat'><body>coming</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "coming"), federation_wait));
}

}  // namespace

TEST_CASE("prosody (dialback): alice and bob write to each other") { messages_both_ways(Trust::dialback); }
TEST_CASE("prosody (dialback): alice and bob subscribe to each other's presence") {
    subscription_handshake(Trust::dialback);
}
TEST_CASE("prosody (dialback): bob on Prosody joins a room on Parley") { bob_joins_parley_room(Trust::dialback); }
TEST_CASE("prosody (dialback): alice on Parley joins a room on Prosody") { alice_joins_prosody_room(Trust::dialback); }

TEST_CASE("prosody (certificates): alice and bob write to each other") { messages_both_ways(Trust::certificates); }
TEST_CASE("prosody (certificates): alice and bob subscribe to each other's presence") {
    subscription_handshake(Trust::certificates);
}
TEST_CASE("prosody (certificates): bob on Prosody joins a room on Parley") {
    bob_joins_parley_room(Trust::certificates);
}
TEST_CASE("prosody (certificates): alice on Parley joins a room on Prosody") {
    alice_joins_prosody_room(Trust::certificates);
}

// Prosody also serves liar.example, which DNS does not know: Parley, as the receiving
// server, cannot reach liar.example's authoritative server to check the dialback key
// (XEP-0220 §2.3), so it refuses the domain and nothing from it reaches alice.
TEST_CASE("prosody (dialback): a domain Parley cannot verify is refused") {
    InteropScene scene(Trust::dialback, {"liar.example"});
    scene.prosody().add_user("mallory@liar.example", "trickster");
    TestClient alice(scene.parley(), "alice");
    TestClient mallory(scene.prosody().c2s_port(), "mallory");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send_presence();
    REQUIRE(mallory.login("mallory@liar.example/den", "trickster"));

    mallory.send("<message to='alice@parley.example' type='chat' id='x1'><body>trust me</body></message>");
    // Prosody gives up on the stream and bounces the message to its sender.
    auto bounce = mallory.wait_for(
        both(named("message"), [](const Element& el) { return el.attr("type") == "error" && el.attr("id") == "x1"; }),
        std::chrono::seconds(25));
    CHECK_MESSAGE(bounce, "no bounce for mallory's message");
    if (bounce) INFO("bounce: " << to_xml(*bounce));
    CHECK_FALSE(alice.wait_for(message_with_body("trust me"), std::chrono::milliseconds(500)));
    CHECK(alice.count(message_with_body("trust me")) == 0);
    // Parley did ask DNS about liar.example: the refusal came from the check, not from
    // never hearing the claim.
    bool asked = false;
    for (const auto& q : scene.dns().questions()) asked = asked || q.find("liar.example") != std::string::npos;
    CHECK(asked);
    const std::string parley_log = scene.parley().log();
    CHECK(log_has_line(parley_log, "s2s_dialback_error", "remote=liar.example"));
    CHECK_FALSE(log_has_line(parley_log, "s2s_incoming_authenticated", "remote=liar.example"));
    CHECK(log_has_line(scene.prosody().log(), "liar.example->parley.example", "dialback authentication failed"));
}

// Parley requires certificates that verify (with the test CA as its only trust), and
// Prosody's comes from a CA of its own: neither direction may fall back to dialback,
// so nothing passes and both senders get their message back.
TEST_CASE("prosody (untrusted certificate): Parley requiring valid certificates refuses Prosody both ways") {
    InteropScene scene(Trust::untrusted_peer);
    TestClient alice(scene.parley(), "alice");
    TestClient bob(scene.prosody().c2s_port(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@prosody.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();

    alice.send("<message to='bob@prosody.example' type='chat' id='a1'><body>can you hear me</body></message>");
    auto alice_bounce = alice.wait_for(
        both(named("message"), [](const Element& el) { return el.attr("type") == "error" && el.attr("id") == "a1"; }),
        federation_wait);
    REQUIRE_MESSAGE(alice_bounce, "alice's message did not bounce");
    CHECK(stanza_error_condition(*alice_bounce) == "remote-server-not-found");
    bob.send("<message to='alice@parley.example' type='chat' id='b1'><body>let me in</body></message>");
    auto bob_bounce = bob.wait_for(
        both(named("message"), [](const Element& el) { return el.attr("type") == "error" && el.attr("id") == "b1"; }),
        std::chrono::seconds(25));
    CHECK_MESSAGE(bob_bounce, "bob's message did not bounce");
    CHECK(bob.count(message_with_body("can you hear me")) == 0);
    CHECK(alice.count(message_with_body("let me in")) == 0);
    const std::string parley_log = scene.parley().log();
    CHECK_FALSE(log_has_line(parley_log, "s2s_outgoing_established", "remote=prosody.example"));
    CHECK_FALSE(log_has_line(parley_log, "s2s_incoming_authenticated", "remote=prosody.example"));
}
