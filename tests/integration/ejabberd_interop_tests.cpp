// Federation with a real ejabberd 23.01 (issue 6): alice@parley.example and
// bob@ejabberd.example write to each other, subscribe to each other's presence
// (RFC 6121) and meet in rooms on either server's MUC service (XEP-0045). Each scene
// runs twice: with dialback (ejabberd's certificate is trusted by nobody, Parley's is
// self-signed; XEP-0220 through mod_s2s_dialback) and with certificates from one test
// CA that both trust (ejabberd without mod_s2s_dialback, Parley with
// require_valid_certificate: SASL EXTERNAL both ways, XEP-0178).
// Names resolve only through the test's DnsResponder: Parley through [s2s] dns_servers,
// ejabberd through an inetrc naming it as the Erlang resolver's only nameserver.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "support/dns_responder.hpp"
#include "support/ejabberd_peer.hpp"
#include "support/server_process.hpp"
#include "support/test_ca.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);
constexpr const char* alice_jid = "alice@parley.example";
constexpr const char* bob_jid = "bob@ejabberd.example";

// dialback: see above. certificates: see above.
// untrusted_parley: ejabberd as for `certificates` (no dialback, trusts only the test
// CA); Parley keeps its self-signed certificate but trusts the test CA.
enum class Trust { dialback, certificates, untrusted_parley };

// DNS, an ejabberd and a parleyd that find each other through it, and one account on each.
class Scene {
public:
    explicit Scene(Trust trust) {
        EjabberdOptions eo;
        eo.dns_port = dns_.port();
        ServerOptions so;
        so.hosts = {"parley.example"};
        so.muc_domain = "conference.parley.example";
        so.s2s = true;
        so.s2s_port = pick_free_port();
        so.extra_s2s = "dns_servers = [\"" + dns_.endpoint() + "\"]\nconnect_timeout = 10\n";
        if (trust != Trust::dialback) {
            ca_.emplace(scratch_.path() / "ca");
            auto ejabberd_cert = ca_->issue({"ejabberd.example", "conference.ejabberd.example"});
            eo.certificate = ejabberd_cert.certificate;
            eo.key = ejabberd_cert.key;
            eo.ca_file = ca_->root();
            eo.dialback = false;
            if (trust == Trust::certificates) {
                auto parley_cert = ca_->issue({"parley.example", "conference.parley.example"});
                so.tls_certificate = parley_cert.certificate;
                so.tls_key = parley_cert.key;
            }
            so.extra_s2s += std::string("require_valid_certificate = ") +
                            (trust == Trust::certificates ? "true" : "false") + "\nca_file = \"" +
                            ca_->root().string() + "\"\n";
        } else {
            so.extra_s2s += "require_valid_certificate = false\n";
        }
        ejabberd_ = std::make_unique<EjabberdPeer>(eo);
        // Each server, and each MUC service, is found by SRV at the other's s2s port.
        // Both resolvers know "localhost" without asking; the A record is a fallback.
        for (const char* domain : {"parley.example", "conference.parley.example"}) {
            dns_.add_srv(std::string("_xmpp-server._tcp.") + domain, 10, 0, so.s2s_port, "localhost");
        }
        for (const char* domain : {"ejabberd.example", "conference.ejabberd.example"}) {
            dns_.add_srv(std::string("_xmpp-server._tcp.") + domain, 10, 0, ejabberd_->s2s_port(), "localhost");
        }
        dns_.add_a("localhost", "127.0.0.1");
        parley_ = std::make_unique<ServerProcess>(so);
        parley_->add_user(alice_jid, "wonderland");
        ejabberd_->add_user("bob", "builder");
    }

    DnsResponder& dns() { return dns_; }
    EjabberdPeer& ejabberd() { return *ejabberd_; }
    ServerProcess& parley() { return *parley_; }

private:
    DnsResponder dns_;  // declared first: it outlives both servers
    TempDir scratch_;
    std::optional<TestCa> ca_;
    std::unique_ptr<EjabberdPeer> ejabberd_;
    std::unique_ptr<ServerProcess> parley_;
};

// alice on Parley and bob on ejabberd, logged in, roster fetched (so that they get
// roster pushes, RFC 6121 §2.1.6) and available.
struct Couple {
    TestClient alice, bob;
    explicit Couple(Scene& scene) : alice(scene.parley(), "alice"), bob(scene.ejabberd().c2s_port(), "bob") {
        REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
        REQUIRE_MESSAGE(bob.login("bob@ejabberd.example/laptop", "builder"), "bob cannot log in to ejabberd");
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

bool has_muc_status(const Element& stanza, int code) {
    const Element* x = stanza.find_child("x", "http://jabber.org/protocol/muc#user");
    if (!x) return false;
    for (const auto& c : x->children()) {
        if (c.name() == "status" && c.attr("code") == std::to_string(code)) return true;
    }
    return false;
}

// Sends the entering presence and waits, across servers, for the self-presence (110).
std::optional<Element> join(TestClient& c, const std::string& occupant) {
    c.send("<presence to='" + occupant + "'><x xmlns='http://jabber.org/protocol/muc'/></presence>");
    return c.wait_for(
        [occupant](const Element& el) {
            return el.name() == "presence" && el.attr("from") == occupant && el.attr("type").empty() &&
                   has_muc_status(el, 110);
        },
        federation_wait);
}

Match available_from(std::string from) {
    return [from = std::move(from)](const Element& el) {
        return el.name() == "presence" && el.attr("from") == from && el.attr("type").empty();
    };
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

std::string questions_of(DnsResponder& dns) {
    std::string all;
    for (const auto& q : dns.questions()) all += q + " ";
    return all;
}

bool asked(DnsResponder& dns, std::string_view question) {
    for (const auto& q : dns.questions()) {
        if (q == question) return true;
    }
    return false;
}

void messages_both_ways(Trust trust) {
    Scene scene(trust);
    // ejabberd's resolver asks the responder and nothing else, now and later.
    CHECK(scene.ejabberd().eval("inet_db:res_option(nameservers)") ==
          "[{{127,0,0,1}," + std::to_string(scene.dns().port()) + "}]");
    CHECK(scene.ejabberd().eval("inet_db:res_option(lookup)") == "[file,dns]");
    CHECK(scene.ejabberd().eval("inet_db:res_option(resolv_conf)") == "[]");
    Couple c(scene);

    c.alice.send("<message to='bob@ejabberd.example/laptop' type='chat' id='m1'><body>hello ejabberd</body></message>");
    auto got = c.bob.wait_for(message_with_body("hello ejabberd"), federation_wait);
    REQUIRE_MESSAGE(got, "bob received nothing; DNS questions: " << questions_of(scene.dns()));
    CHECK(got->attr("from") == "alice@parley.example/phone");

    c.bob.send("<message to='alice@parley.example' type='chat' id='m2'><body>hello parley</body></message>");
    auto back = c.alice.wait_for(message_with_body("hello parley"), federation_wait);
    REQUIRE_MESSAGE(back, "alice received nothing");
    CHECK(back->attr("from") == "bob@ejabberd.example/laptop");

    // The streams, once up, carry more without a new handshake, in order.
    for (int i = 0; i < 5; ++i) {
        c.alice.send("<message to='bob@ejabberd.example' type='chat'><body>n" + std::to_string(i) + "</body></message>");
        c.bob.send("<message to='alice@parley.example' type='chat'><body>r" + std::to_string(i) + "</body></message>");
    }
    CHECK(c.bob.wait_for(message_with_body("n4"), federation_wait));
    CHECK(c.alice.wait_for(message_with_body("r4"), federation_wait));
    CHECK(c.bob.count(message_with_body("n0")) == 1);
    CHECK(c.alice.count(message_with_body("r0")) == 1);
    // Both found each other through the responder: ejabberd asked for Parley's SRV.
    CHECK(asked(scene.dns(), "_xmpp-server._tcp.parley.example/33"));
    CHECK(asked(scene.dns(), "_xmpp-server._tcp.ejabberd.example/33"));

    // Each side authenticated the other the way the variant means, both directions.
    const std::string mechanism = trust == Trust::certificates ? "mechanism=EXTERNAL" : "mechanism=dialback";
    const std::string parley_log = scene.parley().log();
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_outgoing_established", "remote=ejabberd.example " + mechanism),
                  "parleyd's outgoing stream did not use " << mechanism);
    CHECK_MESSAGE(log_has_line(parley_log, "s2s_incoming_authenticated",
                               "remote=ejabberd.example local=parley.example " + mechanism),
                  "parleyd's incoming stream did not use " << mechanism);
    const std::string ejabberd_log = scene.ejabberd().log();
    const std::string ejabberd_mechanism = trust == Trust::certificates ? "EXTERNAL" : "dialback";
    CHECK(log_has_line(ejabberd_log, "Accepted inbound s2s " + ejabberd_mechanism + " authentication",
                       "parley.example -> ejabberd.example"));
    CHECK(log_has_line(ejabberd_log, "Accepted outbound s2s " + ejabberd_mechanism + " authentication",
                       "ejabberd.example -> parley.example"));
}

void subscription_handshake(Trust trust) {
    Scene scene(trust);
    Couple c(scene);

    // alice asks; her roster shows the pending request (RFC 6121 §3.1.2).
    c.alice.send("<presence to='bob@ejabberd.example' type='subscribe'/>");
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
    CHECK(bob_available->attr("from") == "bob@ejabberd.example/laptop");

    // bob subscribes back; alice approves: both are "both" and see each other.
    c.bob.send("<presence to='alice@parley.example' type='subscribe'/>");
    CHECK(c.bob.wait_for(roster_push(alice_jid, "from", true), federation_wait));
    auto back = c.alice.wait_for(presence_of_type(bob_jid, "subscribe"), federation_wait);
    REQUIRE_MESSAGE(back, "alice never got bob's subscription request");
    c.alice.send("<presence to='bob@ejabberd.example' type='subscribed'/>");
    CHECK(c.alice.wait_for(roster_push(bob_jid, "both"), federation_wait));
    CHECK(c.bob.wait_for(presence_of_type(alice_jid, "subscribed"), federation_wait));
    CHECK(c.bob.wait_for(roster_push(alice_jid, "both"), federation_wait));
    auto alice_available = c.bob.wait_for(presence_of_type(alice_jid, ""), federation_wait);
    REQUIRE_MESSAGE(alice_available, "bob never saw alice's available presence");
    CHECK(alice_available->attr("from") == "alice@parley.example/phone");

    // Later changes of availability reach the contact through the subscription.
    c.alice.send("<presence><show>away</show></presence>");
    CHECK_MESSAGE(c.bob.wait_for(both(presence_of_type(alice_jid, ""),
                                      [](const Element& el) { return el.child_text("show") == "away"; }),
                                 federation_wait),
                  "bob never saw alice go away");
    c.bob.send("<presence><show>dnd</show></presence>");
    CHECK_MESSAGE(c.alice.wait_for(both(presence_of_type(bob_jid, ""),
                                        [](const Element& el) { return el.child_text("show") == "dnd"; }),
                                   federation_wait),
                  "alice never saw bob's dnd");
}

void bob_joins_parley_room(Trust trust) {
    Scene scene(trust);
    Couple c(scene);
    const std::string room = "lobby@conference.parley.example";

    auto created = join(c.alice, room + "/Alice");
    REQUIRE(created);
    if (has_muc_status(*created, 201)) {
        // Locked until configured (XEP-0045 §10.1.2): accept the default configuration.
        auto ok = c.alice.request(*parse_fragment(
            "<iq type='set' to='" + room +
            "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>"));
        REQUIRE(ok);
        REQUIRE(ok->attr("type") == "result");
    }

    auto self = join(c.bob, room + "/Bob");
    REQUIRE_MESSAGE(self, "bob (on ejabberd) did not get his self-presence from the Parley room");
    auto seen = c.alice.wait_for(available_from(room + "/Bob"), federation_wait);
    REQUIRE_MESSAGE(seen, "alice did not see bob enter");
    // bob also learned who was there before him.
    CHECK(c.bob.count(available_from(room + "/Alice")) >= 1);

    c.bob.send("<message to='" + room + "' type='groupchat' id='g1'><body>hi from ejabberd</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", "hi from ejabberd"), federation_wait),
                  "alice did not get bob's groupchat message");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Bob", "hi from ejabberd"), federation_wait));  // the echo
    c.alice.send("<message to='" + room + "' type='groupchat'><body>welcome bob</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "welcome bob"), federation_wait));
}

void alice_joins_ejabberd_room(Trust trust) {
    Scene scene(trust);
    Couple c(scene);
    const std::string room = "tea@conference.ejabberd.example";

    REQUIRE_MESSAGE(join(c.bob, room + "/Bob"), "bob could not create a room on ejabberd");
    auto self = join(c.alice, room + "/Alice");
    REQUIRE_MESSAGE(self, "alice (on Parley) did not get her self-presence from the ejabberd room");
    CHECK(c.alice.count(available_from(room + "/Bob")) >= 1);
    CHECK(c.bob.wait_for(available_from(room + "/Alice"), federation_wait));

    c.bob.send("<message to='" + room + "' type='groupchat'><body>tea is ready</body></message>");
    CHECK_MESSAGE(c.alice.wait_for(groupchat_with_body(room + "/Bob", "tea is ready"), federation_wait),
                  "alice did not get bob's groupchat message");
    c.alice.send("<message to='" + room + "' type='groupchat'><body>coming</body></message>");
    CHECK(c.bob.wait_for(groupchat_with_body(room + "/Alice", "coming"), federation_wait));
    CHECK(c.alice.wait_for(groupchat_with_body(room + "/Alice", "coming"), federation_wait));  // the echo
}

}  // namespace

TEST_CASE("ejabberd (dialback): alice and bob write to each other") { messages_both_ways(Trust::dialback); }
TEST_CASE("ejabberd (dialback): alice and bob subscribe to each other's presence") {
    subscription_handshake(Trust::dialback);
}
TEST_CASE("ejabberd (dialback): bob on ejabberd joins a room on Parley") { bob_joins_parley_room(Trust::dialback); }
TEST_CASE("ejabberd (dialback): alice on Parley joins a room on ejabberd") {
    alice_joins_ejabberd_room(Trust::dialback);
}

TEST_CASE("ejabberd (certificates): alice and bob write to each other") { messages_both_ways(Trust::certificates); }
TEST_CASE("ejabberd (certificates): alice and bob subscribe to each other's presence") {
    subscription_handshake(Trust::certificates);
}
TEST_CASE("ejabberd (certificates): bob on ejabberd joins a room on Parley") {
    bob_joins_parley_room(Trust::certificates);
}
TEST_CASE("ejabberd (certificates): alice on Parley joins a room on ejabberd") {
    alice_joins_ejabberd_room(Trust::certificates);
}

// ejabberd has no dialback and trusts only the test CA; Parley's certificate is its own
// self-signed one. Parley cannot authenticate its stream to ejabberd (no dialback, and
// SASL EXTERNAL needs a certificate ejabberd trusts), so alice's message comes back
// to her and never reaches bob.
TEST_CASE("ejabberd (certificates): ejabberd without dialback refuses a Parley certificate it does not trust") {
    Scene scene(Trust::untrusted_parley);
    TestClient alice(scene.parley(), "alice");
    TestClient bob(scene.ejabberd().c2s_port(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    REQUIRE(bob.login("bob@ejabberd.example/laptop", "builder"));
    alice.send_presence();
    bob.send_presence();

    alice.send("<message to='bob@ejabberd.example' type='chat' id='a1'><body>let me in</body></message>");
    auto bounce = alice.wait_for(
        both(named("message"), [](const Element& el) { return el.attr("type") == "error" && el.attr("id") == "a1"; }),
        std::chrono::seconds(25));
    REQUIRE_MESSAGE(bounce, "alice's message did not bounce");
    INFO("bounce: " << to_xml(*bounce));
    CHECK(bounce->attr("from") == "bob@ejabberd.example");
    CHECK(bob.count(message_with_body("let me in")) == 0);
    CHECK_FALSE(log_has_line(scene.parley().log(), "s2s_outgoing_established", "remote=ejabberd.example"));
    CHECK_FALSE(log_has_line(scene.ejabberd().log(), "Accepted inbound s2s", "parley.example -> ejabberd.example"));
}
