// Federation with a real ejabberd 23.01 (issue 6): alice@parley.example and
// bob@ejabberd.example write to each other, subscribe to each other's presence
// (RFC 6121) and meet in rooms on either server's MUC service (XEP-0045). Each scene
// runs twice: with dialback (ejabberd's certificate is trusted by nobody, Parley's is
// self-signed; XEP-0220 through mod_s2s_dialback) and with certificates from one test
// CA that both trust (ejabberd without mod_s2s_dialback, Parley with
// require_valid_certificate: SASL EXTERNAL both ways, XEP-0178).
// Names resolve only through the test's DnsResponder: Parley through [s2s] dns_servers,
// ejabberd through an inetrc naming it as the Erlang resolver's only nameserver.
// The scenes themselves are shared with the Prosody suite (interop_scenes.hpp).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <string_view>

#include "interop_scenes.hpp"
#include "support/ejabberd_peer.hpp"

using namespace parley::test;
using namespace parley::test::interop;

namespace {

const Peer ejabberd_peer{"ejabberd", "ejabberd.example", "conference.ejabberd.example"};

// dialback: see above. certificates: see above.
// untrusted_parley: ejabberd as for `certificates` (no dialback, trusts only the test
// CA); Parley keeps its self-signed certificate but trusts the test CA.
enum class Trust { dialback, certificates, untrusted_parley };

// DNS, an ejabberd and a parleyd that find each other through it, and one account on each.
class Scene : public SceneBase {
public:
    explicit Scene(Trust trust) {
        EjabberdOptions eo;
        eo.dns_port = dns_.port();
        ServerOptions so = parley_options();
        if (trust != Trust::dialback) {
            auto ejabberd_cert = ca().issue({"ejabberd.example", "conference.ejabberd.example"});
            eo.certificate = ejabberd_cert.certificate;
            eo.key = ejabberd_cert.key;
            eo.ca_file = ca().root();
            eo.dialback = false;
            if (trust == Trust::certificates) {
                auto parley_cert = ca().issue({"parley.example", "conference.parley.example"});
                so.tls_certificate = parley_cert.certificate;
                so.tls_key = parley_cert.key;
            }
        }
        so.extra_s2s += s2s_trust(trust == Trust::certificates);
        ejabberd_ = std::make_unique<EjabberdPeer>(eo);
        parley_ = start_parley(so, ejabberd_->s2s_port(), ejabberd_peer);
        ejabberd_->add_user("bob", "builder");
    }

    EjabberdPeer& ejabberd() { return *ejabberd_; }
    ServerProcess& parley() { return *parley_; }

private:
    std::unique_ptr<EjabberdPeer> ejabberd_;
    std::unique_ptr<ServerProcess> parley_;
};

// alice and bob of this scene (see Couple).
struct SceneCouple : Couple {
    explicit SceneCouple(Scene& scene, bool roster = true)
        : Couple(scene.parley(), scene.ejabberd().c2s_port(), ejabberd_peer, roster) {}
};

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
    SceneCouple c(scene);
    {
        INFO("DNS questions: " << questions_of(scene.dns()));  // evaluated only on a failure
        scene_messages(c, ejabberd_peer);
    }
    // Both found each other through the responder: ejabberd asked for Parley's SRV.
    CHECK(asked(scene.dns(), "_xmpp-server._tcp.parley.example/33"));
    CHECK(asked(scene.dns(), "_xmpp-server._tcp.ejabberd.example/33"));

    // Each side authenticated the other the way the variant means, both directions.
    const std::string mechanism = trust == Trust::certificates ? "EXTERNAL" : "dialback";
    check_parley_mechanism(scene.parley().log(), ejabberd_peer, mechanism);
    const std::string ejabberd_log = scene.ejabberd().log();
    CHECK(log_has_line(ejabberd_log, "Accepted inbound s2s " + mechanism + " authentication",
                       "parley.example -> ejabberd.example"));
    CHECK(log_has_line(ejabberd_log, "Accepted outbound s2s " + mechanism + " authentication",
                       "ejabberd.example -> parley.example"));
}

void subscription_handshake(Trust trust) {
    Scene scene(trust);
    SceneCouple c(scene);
    scene_subscription(c, ejabberd_peer);
}

void bob_joins_parley_room(Trust trust) {
    Scene scene(trust);
    SceneCouple c(scene);
    scene_muc_remote_joins_parley(c, ejabberd_peer);
}

void alice_joins_ejabberd_room(Trust trust) {
    Scene scene(trust);
    SceneCouple c(scene);
    scene_parley_joins_remote_room(c, ejabberd_peer);
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
    SceneCouple c(scene, false);

    c.alice.send("<message to='bob@ejabberd.example' type='chat' id='a1'><body>let me in</body></message>");
    auto bounce = c.alice.wait_for(error_message("a1"), std::chrono::seconds(25));
    REQUIRE_MESSAGE(bounce, "alice's message did not bounce");
    INFO("bounce: " << to_xml(*bounce));
    CHECK(bounce->attr("from") == "bob@ejabberd.example");
    CHECK(c.bob.count(message_with_body("let me in")) == 0);
    CHECK_FALSE(log_has_line(scene.parley().log(), "s2s_outgoing_established", "remote=ejabberd.example"));
    CHECK_FALSE(log_has_line(scene.ejabberd().log(), "Accepted inbound s2s", "parley.example -> ejabberd.example"));
}
