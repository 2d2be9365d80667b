#pragma once
// A login done by hand over a RawClient, one step at a time, so that a test can stop
// at any step or do one of them wrong: stream header → features → STARTTLS (or direct
// TLS) → new stream → SASL (any mechanism, -PLUS included) → new stream → bind.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/raw_client.hpp"
#include "support/scram_client.hpp"
#include "support/server_process.hpp"

namespace parley::test {

enum class Transport { starttls, direct_tls };

// Sends a stream header and returns the <stream:features/> that follow (nullopt if none).
std::optional<Element> open_stream_and_read_features(RawClient& client, std::string_view domain);

// Connects and negotiates TLS; the result has already read the features of the
// encrypted stream. REQUIREs every step.
struct TlsStream {
    std::unique_ptr<RawClient> client;
    Element features;
};
TlsStream open_tls_stream(const ServerProcess& server, Transport transport = Transport::starttls);

struct SaslOutcome {
    bool success = false;
    std::string failure;             // the <failure/> condition, e.g. "not-authorized"
    bool server_verified = false;    // SCRAM: the server's signature was right
    std::string problem;             // what went wrong on our side or unexpectedly
};
// Runs a SCRAM exchange. For p= the binding data comes from the TLS connection unless
// options.cb_data is set.
SaslOutcome sasl_scram(RawClient& client, ScramClientOptions options);
SaslOutcome sasl_plain(RawClient& client, std::string_view user, std::string_view password);

// After SASL success: a new stream on the same connection; returns its features.
std::optional<Element> restart_stream(RawClient& client, std::string_view domain);
// Binds (empty resource = let the server choose); returns the full JID, "" on error.
std::string bind_resource(RawClient& client, std::string_view resource);

// The whole way: STARTTLS, SCRAM-SHA-256 (non-PLUS) for `user` (local part), bind.
std::unique_ptr<RawClient> raw_login(const ServerProcess& server, std::string_view user,
                                     std::string_view password, std::string_view resource = "raw");

// Readers for <stream:features/>.
std::vector<std::string> offered_mechanisms(const Element& features);
std::vector<std::string> offered_channel_bindings(const Element& features);

// Sends an element (serialized in jabber:client) over the client.
bool send_element(RawClient& client, const Element& el);

}  // namespace parley::test
