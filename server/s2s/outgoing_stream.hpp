#pragma once
// A stream we open to another server (RFC 6120 initiating entity) for one (local
// domain, remote domain) pair: connect, STARTTLS (or XEP-0368 direct TLS for targets
// that say so), presenting our certificate as the TLS client's, then SASL EXTERNAL (XEP-0178) when
// the peer's certificate verifies and it is offered, otherwise dialback (XEP-0220);
// then the stanzas held meanwhile go out. It also carries our <db:verify/> requests to
// that server (receiving-server role), which need no authentication of the stream.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <deque>
#include <string>
#include <vector>

#include "server/routing/stanza.hpp"
#include "server/s2s/s2s_manager.hpp"
#include "server/s2s/stream.hpp"

namespace parley::server::s2s {

class OutgoingStream final : public S2sStream {
public:
    struct VerifyJob {
        std::string stream_id, key;
        S2sManager::VerifyDone done;
    };

    OutgoingStream(S2sManager& manager, boost::asio::io_context& ctx, std::string local, std::string remote);
    void start();  // any thread

    // On executor():
    void enqueue(routing::Stanza stanza);
    void add_verify(VerifyJob job);

private:
    enum class State { connecting, opening, starttls, tls_open, sasl, sasl_restart, dialback, established };

    boost::asio::awaitable<void> run();
    boost::asio::awaitable<bool> connect();
    boost::asio::awaitable<void> handle_event(Event ev) override;
    void on_finished() override;
    void on_tick(Clock::time_point now) override;

    void handle_features(const protocol::xml::Element& features);
    void start_dialback();
    void send_verify(const VerifyJob& job);
    void send_unsent_verifies();
    void established();
    void deliver(routing::Stanza& stanza);
    // Set-up failed: every held stanza goes back to its sender with `condition`, every
    // verification waiting on this stream is answered `error`.
    void fail(protocol::StanzaErrorCondition condition, std::string_view why);
    void leave_manager();

    std::string local_, remote_;
    State state_ = State::connecting;
    std::string stream_id_;  // the peer's, for the dialback key
    bool direct_tls_ = false;  // the connected target speaks TLS from the first byte
    const char* mechanism_ = "dialback";
    Clock::time_point started_;
    bool timed_out_ = false;
    bool failed_ = false;
    bool left_manager_ = false;
    protocol::StanzaErrorCondition fail_condition_ = protocol::StanzaErrorCondition::remote_server_not_found;
    boost::asio::ip::tcp::resolver resolver_;
    std::deque<routing::Stanza> queue_;
    std::vector<VerifyJob> unsent_verifies_, sent_verifies_;
};

}  // namespace parley::server::s2s
