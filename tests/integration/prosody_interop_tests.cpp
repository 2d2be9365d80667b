// Federation with a real Prosody 0.12 (issue 6): alice@parley.example and
// bob@prosody.example write to each other, subscribe to each other's presence (RFC 6121)
// and meet in rooms on either server's MUC service (XEP-0045). Every scene runs twice:
// with dialback (Prosody's certificate is trusted by nobody; XEP-0220) and with
// certificates from one test CA (s2s_secure_auth on Prosody's side, SASL EXTERNAL).
// Names resolve only through the test's DnsResponder: Parley through [s2s]
// dns_servers, Prosody through libunbound forwarding to it. Two refusals end it: a
// domain whose dialback Parley cannot verify, and a certificate Parley does not trust.
// The scenes themselves are shared with the ejabberd suite (interop_scenes.hpp).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "interop_scenes.hpp"
#include "support/prosody_peer.hpp"

using namespace parley::test;
using namespace parley::test::interop;

namespace {

const Peer prosody_peer{"Prosody", "prosody.example", "conference.prosody.example"};

// dialback: Prosody's certificate is trusted by nobody, both sides allow dialback.
// certificates: both certificates from one test CA that both trust; Prosody has
// s2s_secure_auth on, Parley require_valid_certificate.
// untrusted_peer: Parley as for `certificates`, Prosody as for `dialback`.
enum class Trust { dialback, certificates, untrusted_peer };

// DNS, a Prosody and a parleyd that find each other through it, and the two accounts.
class InteropScene : public SceneBase {
public:
    explicit InteropScene(Trust trust, std::vector<std::string> more_prosody_hosts = {}) {
        ProsodyOptions po;
        po.dns_port = dns_.port();
        po.more_hosts = std::move(more_prosody_hosts);
        ServerOptions so = parley_options();
        if (trust != Trust::dialback) {
            auto parley_cert = ca().issue({"parley.example", "conference.parley.example"});
            if (trust == Trust::certificates) {
                auto prosody_cert = ca().issue({"prosody.example", "conference.prosody.example"});
                po.certificate = prosody_cert.certificate;
                po.key = prosody_cert.key;
                po.ca_file = ca().root();
                po.secure_auth = true;
            }
            so.tls_certificate = parley_cert.certificate;
            so.tls_key = parley_cert.key;
        }
        so.extra_s2s += s2s_trust(true);
        prosody_ = std::make_unique<ProsodyPeer>(po);
        parley_ = start_parley(so, prosody_->s2s_port(), prosody_peer);
        prosody_->add_user("bob", "builder");
    }

    ProsodyPeer& prosody() { return *prosody_; }
    ServerProcess& parley() { return *parley_; }

private:
    std::unique_ptr<ProsodyPeer> prosody_;
    std::unique_ptr<ServerProcess> parley_;
};

// alice and bob of this scene (see Couple).
struct SceneCouple : Couple {
    explicit SceneCouple(InteropScene& scene, bool roster = true)
        : Couple(scene.parley(), scene.prosody().c2s_port(), prosody_peer, roster) {}
};

void messages_both_ways(Trust trust) {
    InteropScene scene(trust);
    SceneCouple c(scene);
    scene_messages(c, prosody_peer);
    CHECK(scene.dns().queries() > 0);  // both found each other through the responder

    // Each side authenticated the other the way the variant means, both directions.
    check_parley_mechanism(scene.parley().log(), prosody_peer,
                           trust == Trust::certificates ? "EXTERNAL" : "dialback");
    const std::string prosody_log = scene.prosody().log();
    if (trust == Trust::certificates) {
        CHECK(prosody_log.find("Accepting SASL EXTERNAL identity from parley.example") != std::string::npos);
    } else {
        CHECK(prosody_log.find("asking parley.example if key") != std::string::npos);  // its db:verify
    }
}

void subscription_handshake(Trust trust) {
    InteropScene scene(trust);
    SceneCouple c(scene);
    scene_subscription(c, prosody_peer);
}

void bob_joins_parley_room(Trust trust) {
    InteropScene scene(trust);
    SceneCouple c(scene);
    scene_muc_remote_joins_parley(c, prosody_peer);
}

void alice_joins_prosody_room(Trust trust) {
    InteropScene scene(trust);
    SceneCouple c(scene);
    scene_parley_joins_remote_room(c, prosody_peer);
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
    auto bounce = mallory.wait_for(error_message("x1"), std::chrono::seconds(25));
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
    SceneCouple c(scene, false);

    c.alice.send("<message to='bob@prosody.example' type='chat' id='a1'><body>can you hear me</body></message>");
    auto alice_bounce = c.alice.wait_for(error_message("a1"), federation_wait);
    REQUIRE_MESSAGE(alice_bounce, "alice's message did not bounce");
    CHECK(stanza_error_condition(*alice_bounce) == "remote-server-not-found");
    c.bob.send("<message to='alice@parley.example' type='chat' id='b1'><body>let me in</body></message>");
    auto bob_bounce = c.bob.wait_for(error_message("b1"), std::chrono::seconds(25));
    CHECK_MESSAGE(bob_bounce, "bob's message did not bounce");
    CHECK(c.bob.count(message_with_body("can you hear me")) == 0);
    CHECK(c.alice.count(message_with_body("let me in")) == 0);
    const std::string parley_log = scene.parley().log();
    CHECK_FALSE(log_has_line(parley_log, "s2s_outgoing_established", "remote=prosody.example"));
    CHECK_FALSE(log_has_line(parley_log, "s2s_incoming_authenticated", "remote=prosody.example"));
}
