#pragma once
// What the federation interop suites (Prosody, ejabberd) share: Parley's half of the
// set-up (DNS responder, test CA, parleyd with alice@parley.example found by SRV), the
// two logged-in users, and the scenes both suites play against their peer: messages
// both ways, the subscription handshake, and MUC rooms entered across servers.
// Each suite keeps what only its peer shows (its log lines, its resolver's state).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "support/dns_responder.hpp"
#include "support/server_process.hpp"
#include "support/test_ca.hpp"
#include "support/test_client.hpp"

namespace parley::test::interop {

inline constexpr auto federation_wait = std::chrono::seconds(15);
inline constexpr const char* alice_jid = "alice@parley.example";

// The other server, as the scenes name it.
struct Peer {
    std::string name;        // "Prosody", "ejabberd": in failure messages
    std::string domain;      // "prosody.example"
    std::string muc_domain;  // "conference.prosody.example"
    std::string word() const;        // name in lower case: in message bodies
    std::string bob_jid() const { return "bob@" + domain; }
    std::string bob_full() const { return bob_jid() + "/laptop"; }
};

// Parley's half of a scene. A suite's scene derives from it and declares its peer
// and then its parleyd, so that they go before the DNS responder does.
class SceneBase {
public:
    DnsResponder& dns() { return dns_; }

protected:
    // The test CA (made on first use) that `certificates` variants share.
    TestCa& ca();
    // parleyd's options: parley.example with its MUC service, s2s on a free port,
    // names resolved by the responder alone (the trust lines are added by the suite).
    ServerOptions parley_options() const;
    // "require_valid_certificate = …" and, with a test CA, its ca_file line.
    std::string s2s_trust(bool require_valid);
    // Publishes both servers' (and MUC services') SRV records, then starts parleyd
    // with alice's account.
    std::unique_ptr<ServerProcess> start_parley(const ServerOptions& options, std::uint16_t peer_s2s_port,
                                                const Peer& peer);

    DnsResponder dns_;  // declared first: it outlives both servers
    TempDir scratch_;
    std::optional<TestCa> ca_;
};

// alice on Parley and bob on the peer, logged in and available; with `roster`, their
// rosters fetched first (so that they get roster pushes, RFC 6121 §2.1.6).
struct Couple {
    TestClient alice, bob;
    Couple(ServerProcess& parley, std::uint16_t peer_c2s_port, const Peer& peer, bool roster = true);
};

Match roster_push(std::string jid, std::string subscription, bool pending_out = false);
Match presence_of_type(std::string from_bare, std::string type);
Match groupchat_with_body(std::string from, std::string body);
Match error_message(std::string id);  // a bounced <message type='error'>
// Whether a line of `log` holds both `event` and `text`.
bool log_has_line(const std::string& log, std::string_view event, std::string_view text);

// Chat messages alice → bob and back, then a burst each way over the same streams.
void scene_messages(Couple& c, const Peer& peer);
// parleyd authenticated the peer's stream and its own by `mechanism` ("dialback",
// "EXTERNAL"), as its log says.
void check_parley_mechanism(const std::string& parley_log, const Peer& peer, const std::string& mechanism);
// Mutual subscription (RFC 6121 §3.1) ending in "both", then availability changes.
void scene_subscription(Couple& c, const Peer& peer);
// bob (on the peer) enters alice's new room on Parley, and they talk there.
void scene_muc_remote_joins_parley(Couple& c, const Peer& peer);
// bob makes a room on the peer's MUC service; alice (on Parley) enters and they talk.
void scene_parley_joins_remote_room(Couple& c, const Peer& peer);

}  // namespace parley::test::interop
