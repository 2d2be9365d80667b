#include "interop_scenes.hpp"

#include <doctest/doctest.h>

#include <cctype>

#include "muc_scene.hpp"

namespace parley::test::interop {

std::string Peer::word() const {
    std::string out = name;
    for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return out;
}

// ---- set-up -------------------------------------------------------------------------

TestCa& SceneBase::ca() {
    if (!ca_) ca_.emplace(scratch_.path() / "ca");
    return *ca_;
}

ServerOptions SceneBase::parley_options() const {
    ServerOptions so;
    so.hosts = {"parley.example"};
    so.muc_domain = "conference.parley.example";
    so.s2s = true;
    so.s2s_port = pick_free_port();
    so.extra_s2s = "dns_servers = [\"" + dns_.endpoint() + "\"]\nconnect_timeout = 10\n";
    return so;
}

std::string SceneBase::s2s_trust(bool require_valid) {
    if (!ca_) return "require_valid_certificate = false\n";
    return std::string("require_valid_certificate = ") + (require_valid ? "true" : "false") + "\nca_file = \"" +
           ca_->root().string() + "\"\n";
}

std::unique_ptr<ServerProcess> SceneBase::start_parley(const ServerOptions& options, std::uint16_t peer_s2s_port,
                                                       const Peer& peer) {
    // Each server, and each MUC service, is found by SRV at the other's s2s port.
    // Both resolvers know "localhost" without asking; the A record is a fallback.
    for (const char* domain : {"parley.example", "conference.parley.example"}) {
        dns_.add_srv(std::string("_xmpp-server._tcp.") + domain, 10, 0, options.s2s_port, "localhost");
    }
    for (const std::string& domain : {peer.domain, peer.muc_domain}) {
        dns_.add_srv("_xmpp-server._tcp." + domain, 10, 0, peer_s2s_port, "localhost");
    }
    dns_.add_a("localhost", "127.0.0.1");
    auto parley = std::make_unique<ServerProcess>(options);
    parley->add_user(alice_jid, "wonderland");
    return parley;
}

Couple::Couple(ServerProcess& parley, std::uint16_t peer_c2s_port, const Peer& peer, bool roster)
    : alice(parley, "alice"), bob(peer_c2s_port, "bob") {
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE_MESSAGE(bob.login(peer.bob_full(), "builder"), "bob cannot log in to " << peer.name);
    for (TestClient* c : {&alice, &bob}) {
        if (roster) {
            auto answer = c->request(*parse_fragment("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
            REQUIRE(answer);
            REQUIRE(answer->attr("type") == "result");
        }
        c->send_presence();
    }
}

// ---- matchers -----------------------------------------------------------------------

Match roster_push(std::string jid, std::string subscription, bool pending_out) {
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

Match error_message(std::string id) {
    return both(named("message"),
                [id = std::move(id)](const Element& el) { return el.attr("type") == "error" && el.attr("id") == id; });
}

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

namespace {

Match available_from(std::string from) { return both(muc::presence_from(std::move(from)), muc::available()); }

// Sends the entering presence and waits, across servers, for the self-presence (110).
std::optional<Element> join(TestClient& c, const std::string& occupant) {
    c.send("<presence to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    return c.wait_for(both(available_from(occupant), [](const Element& el) { return muc::has_status(el, 110); }),
                      federation_wait);
}

Match show_of(std::string from_bare, std::string show) {
    return both(presence_of_type(std::move(from_bare), ""),
                [show = std::move(show)](const Element& el) { return el.child_text("show") == show; });
}

}  // namespace

// ---- scenes -------------------------------------------------------------------------

void scene_messages(Couple& c, const Peer& peer) {
    const std::string hello = "hello " + peer.word();
    c.alice.send("<message to='" + peer.bob_full() + "' type='chat' id='m1'><body>" + hello + "</body></message>");
    auto got = c.bob.wait_for(message_with_body(hello), federation_wait);
    REQUIRE_MESSAGE(got, "bob received nothing");
    CHECK(got->attr("from") == "alice@parley.example/phone");

    c.bob.send("<message to='alice@parley.example' type='chat' id='m2'><body>hello parley</body></message>");
    auto back = c.alice.wait_for(message_with_body("hello parley"), federation_wait);
    REQUIRE_MESSAGE(back, "alice received nothing");
    CHECK(back->attr("from") == peer.bob_full());

    // The streams, once up, carry more without a new handshake, in order.
    for (int i = 0; i < 5; ++i) {
        const std::string n = std::to_string(i);
        c.alice.send("<message to='" + peer.bob_jid() + "' type='chat'><body>n" + n + "</body></message>");
        c.bob.send("<message to='alice@parley.example' type='chat'><body>r" + n + "</body></message>");
    }
    CHECK(c.bob.wait_for(message_with_body("n4"), federation_wait));
    CHECK(c.alice.wait_for(message_with_body("r4"), federation_wait));
    CHECK(c.bob.count(message_with_body("n0")) == 1);
    CHECK(c.alice.count(message_with_body("r0")) == 1);
}

void check_parley_mechanism(const std::string& parley_log, const Peer& peer, const std::string& mechanism) {
    const std::string m = "mechanism=" + mechanism;
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_outgoing_established", "remote=" + peer.domain + " " + m),
                  "parleyd's outgoing stream did not use " << m);
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_incoming_authenticated",
                               "remote=" + peer.domain + " local=parley.example " + m),
                  "parleyd's incoming stream did not use " << m);
}

void scene_subscription(Couple& c, const Peer& peer) {
    const std::string bob_jid = peer.bob_jid();

    // alice asks; her roster shows the pending request (RFC 6121 §3.1.2).
    c.alice.send("<presence to='" + bob_jid + "' type='subscribe'/>");
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
    CHECK(bob_available->attr("from") == peer.bob_full());

    // bob subscribes back; alice approves: both are "both" and see each other.
    c.bob.send("<presence to='alice@parley.example' type='subscribe'/>");
    CHECK(c.bob.wait_for(roster_push(alice_jid, "from", true), federation_wait));
    auto back = c.alice.wait_for(presence_of_type(bob_jid, "subscribe"), federation_wait);
    REQUIRE_MESSAGE(back, "alice never got bob's subscription request");
    c.alice.send("<presence to='" + bob_jid + "' type='subscribed'/>");
    CHECK(c.alice.wait_for(roster_push(bob_jid, "both"), federation_wait));
    CHECK(c.bob.wait_for(presence_of_type(alice_jid, "subscribed"), federation_wait));
    CHECK(c.bob.wait_for(roster_push(alice_jid, "both"), federation_wait));
    auto alice_available = c.bob.wait_for(presence_of_type(alice_jid, ""), federation_wait);
    REQUIRE_MESSAGE(alice_available, "bob never saw alice's available presence");
    CHECK(alice_available->attr("from") == "alice@parley.example/phone");

    // Later changes of availability reach the contact through the subscription.
    c.alice.send("<presence><show>away</show></presence>");
    CHECK_MESSAGE(c.bob.wait_for(show_of(alice_jid, "away"), federation_wait), "bob never saw alice go away");
    c.bob.send("<presence><show>dnd</show></presence>");
    CHECK_MESSAGE(c.alice.wait_for(show_of(bob_jid, "dnd"), federation_wait), "alice never saw bob's dnd");
}

void scene_muc_remote_joins_parley(Couple& c, const Peer& peer) {
    const std::string room = "lobby@conference.parley.example";
    const std::string hi = "hi from " + peer.word();

    auto created = join(c.alice, room + "/Alice");
    REQUIRE(created);
    // Locked until configured (XEP-0045 §10.1.2): accept the default configuration.
    if (muc::has_status(*created, 201)) REQUIRE(muc::make_instant(c.alice, room));

    auto self = join(c.bob, room + "/Bob");
    REQUIRE_MESSAGE(self, "bob (on " << peer.name << ") did not get his self-presence from the Parley room");
    CHECK(muc::item_of(*self).attr("role") == "participant");
    auto seen = c.alice.wait_for(available_from(room + "/Bob"), federation_wait);
    REQUIRE_MESSAGE(seen, "alice did not see bob enter");
    // bob also learned who was there before him.
    CHECK(c.bob.count(available_from(room + "/Alice")) >= 1);

    c.bob.send("<message to='" + room + "' type='groupchat' id='g1'><body>" + hi + "</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", hi), federation_wait),
                  "alice did not get bob's groupchat message");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Bob", hi), federation_wait));  // the echo
    c.alice.send("<message to='" + room + "' type='groupchat'><body>welcome bob</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "welcome bob"), federation_wait));
}

void scene_parley_joins_remote_room(Couple& c, const Peer& peer) {
    const std::string room = "tea@" + peer.muc_domain;

    REQUIRE_MESSAGE(join(c.bob, room + "/Bob"), "bob could not create a room on " << peer.name);
    auto self = join(c.alice, room + "/Alice");
    REQUIRE_MESSAGE(self, "alice (on Parley) did not get her self-presence from the " << peer.name << " room");
    CHECK(c.alice.count(available_from(room + "/Bob")) >= 1);
    CHECK(c.bob.wait_for(available_from(room + "/Alice"), federation_wait));

    c.bob.send("<message to='" + room + "' type='groupchat'><body>tea is ready</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", "tea is ready"), federation_wait),
                  "alice did not get bob's groupchat message");
    c.alice.send("<message to='" + room + "' type='groupchat'><body>coming</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "coming"), federation_wait));
    CHECK(c.alice.wait_for(groupchat_with_body(room + "/Alice", "coming"), federation_wait));  // the echo
}

}  // namespace parley::test::interop
