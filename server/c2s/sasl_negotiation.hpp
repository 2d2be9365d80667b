#pragma once
// The server side of one SASL exchange (RFC 6120 §6) for a c2s stream: chooses the
// mechanism, looks the credentials up on a database thread, and steps the protocol
// state machine. Knows nothing of sockets: the session sends what it returns.
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

#include "protocol/sasl/sasl.hpp"
#include "protocol/sasl/scram.hpp"
#include "server/config.hpp"
#include "storage/database.hpp"

namespace parley::server::c2s {

// Mechanisms offered on a stream, in preference order. -PLUS only over TLS; nothing
// before TLS when TLS is required.
std::vector<std::string> offered_mechanisms(const Config& config, bool tls);

class SaslNegotiation {
public:
    struct Outcome {
        enum class Kind { challenge, success, failure } kind;
        std::string data;  // raw bytes of the challenge / additional success data
        protocol::sasl::Failure failure = protocol::sasl::Failure::not_authorized;
        std::string localpart;  // on success
    };

    // `mechanism` must be one of offered_mechanisms(); `bindings` describe the TLS
    // connection (empty strings when there is none).
    SaslNegotiation(const Config& config, storage::Database& db, std::string domain, std::string mechanism,
                    protocol::sasl::ChannelBindings bindings);

    // The <auth/> element's content (decoded); nullopt when it had none.
    boost::asio::awaitable<Outcome> start(std::optional<std::string> initial_response);
    const std::string& mechanism() const { return mechanism_; }
    // A <response/>'s decoded content.
    boost::asio::awaitable<Outcome> respond(std::string response);

private:
    boost::asio::awaitable<Outcome> plain(const std::string& message);
    boost::asio::awaitable<Outcome> scram_first(const std::string& message);
    Outcome scram_final(const std::string& message);
    boost::asio::awaitable<std::optional<std::vector<protocol::sasl::ScramCredential>>> lookup(
        const std::string& localpart);

    const Config& config_;
    storage::Database& db_;
    std::string domain_, mechanism_;
    protocol::sasl::ChannelBindings bindings_;
    std::optional<protocol::sasl::ScramServer> scram_;
    std::string localpart_;
    int step_ = 0;
};

}  // namespace parley::server::c2s
