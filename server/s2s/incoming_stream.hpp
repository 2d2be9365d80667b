#pragma once
// A stream another server opened to us (RFC 6120 receiving entity): STARTTLS
// (required) or XEP-0368 direct TLS, then SASL EXTERNAL (XEP-0178) for the header's
// 'from' domain when the peer's client certificate verifies for it, and dialback
// (XEP-0220) for each (originating, receiving) domain pair it asks for — several may
// share the stream (§2.4 multiplexing) — and the stanzas of authenticated pairs, routed
// like any other. Also answers <db:verify/> as the authoritative server, which needs
// no authentication of the stream.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/s2s/stream.hpp"

namespace parley::server::s2s {

class IncomingStream final : public S2sStream {
public:
    // `refusal`: the connection is over a limit and gets this stream error at once.
    IncomingStream(S2sManager& manager, tcp::socket socket, std::string peer_ip, bool direct_tls = false,
                   std::optional<protocol::StreamErrorCondition> refusal = std::nullopt);
    void start();

private:
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> handle_event(Event ev) override;
    void on_finished() override;
    void on_tick(Clock::time_point now) override;

    void handle_open(const protocol::xml::StreamHeader& header);
    boost::asio::awaitable<void> handle_element(protocol::xml::Element el);
    void handle_auth(const protocol::xml::Element& el);
    // SASL EXTERNAL may be offered / used: TLS, a 'from' domain whose certificate
    // verifies, federation with it allowed, and no SASL done yet on this stream.
    bool external_possible() const;
    void authenticated(const std::string& remote, const char* mechanism);
    void handle_db_result(const protocol::xml::Element& el);
    void handle_db_verify(const protocol::xml::Element& el);
    void handle_stanza(protocol::xml::Element el);
    void on_verdict(std::string local, std::string remote, int verdict);
    void send_db_error(const char* element, std::string_view from, std::string_view to, std::string_view id,
                       protocol::StanzaErrorCondition condition);
    bool is_authenticated(const std::string& remote, const std::string& local) const;

    std::string peer_ip_;
    bool direct_tls_;
    std::optional<protocol::StreamErrorCondition> refusal_;
    std::string local_domain_;   // the stream's 'to'
    std::string remote_domain_;  // the stream's 'from' (prepared); may be empty
    bool sasl_done_ = false;
    std::string stream_id_;
    Clock::time_point opened_at_;
    std::vector<std::pair<std::string, std::string>> authenticated_;  // (remote, local)
    std::vector<std::pair<std::string, std::string>> verifying_;
};

}  // namespace parley::server::s2s
