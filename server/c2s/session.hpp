#pragma once
// One client connection (RFC 6120 §4–§7): the stream, STARTTLS, SASL, resource
// binding, then stanzas in and out. Lives its whole life on one io_context: call
// only on that context's thread; others reach it through a routing::SessionRef.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/jid.hpp"
#include "protocol/xml/stream_parser.hpp"
#include "server/c2s/c2s_context.hpp"
#include "server/c2s/sasl_negotiation.hpp"
#include "server/net/tls_socket.hpp"
#include "server/routing/session_ref.hpp"

namespace parley::server::modules::csi {
class PresenceHold;
}

namespace parley::server::c2s {

class Session final : public routing::StanzaTarget,
                      public protocol::xml::StreamParser::Handler,
                      public std::enable_shared_from_this<Session> {
public:
    using tcp = boost::asio::ip::tcp;
    Session(C2sContext& ctx, tcp::socket socket, std::string peer_ip, bool direct_tls, bool refused);
    ~Session() override;

    void start();

    // routing::StanzaTarget
    void deliver(protocol::xml::Element stanza) override;
    void close_stream(protocol::StreamErrorCondition condition) override;

private:
    enum class State { connected, awaiting_tls_handshake, negotiating, authenticated, bound, closing };
    struct Event {
        enum class Kind { open, stanza, close } kind;
        protocol::xml::StreamHeader header;
        protocol::xml::Element stanza;
    };

    // StreamParser::Handler
    void on_stream_open(protocol::xml::StreamHeader header) override;
    void on_stanza(protocol::xml::Element stanza) override;
    void on_stream_close() override;

    // transport (session.cpp)
    boost::asio::awaitable<void> run();
    boost::asio::awaitable<void> watchdog();
    boost::asio::awaitable<bool> tls_handshake();
    // The next bytes read, in a per-thread buffer valid until the next read on this
    // thread; empty when the connection is over. Sessions keep no read buffer.
    boost::asio::awaitable<std::string_view> read_some();
    void write_tls();
    void on_write_done(boost::system::error_code ec);
    void send(const protocol::xml::Element& el);
    void send_raw(std::string_view bytes);
    void schedule_flush();
    void flush();
    void close(protocol::StreamErrorCondition condition, std::string_view text = {});
    void close_gracefully();
    void shutdown_transport();
    void finish();
    bool is_tls() const { return tls_ != nullptr; }

    // negotiation (negotiation.cpp)
    boost::asio::awaitable<void> handle_event(Event ev);
    void handle_stream_open(const protocol::xml::StreamHeader& header);
    void send_features();
    boost::asio::awaitable<void> handle_negotiation(protocol::xml::Element el);
    boost::asio::awaitable<void> handle_sasl(protocol::xml::Element el);
    void handle_bind(const protocol::xml::Element& iq);
    void restart_stream();

    // stanzas of a bound session (stanzas.cpp)
    void handle_bound_stanza(protocol::xml::Element el);
    void reply_error(const protocol::xml::Element& stanza, protocol::StanzaErrorCondition c);
    // XEP-0352 (stanzas.cpp): <active/>/<inactive/>, and what deliver() holds meanwhile.
    bool offers_csi() const;
    void set_client_active(bool active);
    // True when `stanza` was held; otherwise it is to be sent now, after the presence
    // held from its sender.
    bool hold_while_inactive(protocol::xml::Element& stanza);
    void release_held_presence();

    C2sContext& ctx_;
    tcp::socket socket_;
    std::unique_ptr<net::TlsSocket> tls_;
    std::shared_ptr<boost::asio::ssl::context> tls_ctx_;
    std::string peer_ip_;
    bool direct_tls_;
    bool refused_;  // over a connection limit: told so after the stream header
    std::uint64_t id_;
    State state_ = State::connected;

    protocol::xml::StreamParser parser_;
    std::vector<Event> pending_;
    bool restarted_ = false;  // the stream restarted: drop what was parsed after it
    bool parser_asleep_ = false;

    std::string out_, writing_buf_;
    std::size_t write_offset_ = 0;  // TLS: bytes of writing_buf_ already written
    bool writing_ = false;
    bool flush_scheduled_ = false;
    bool shutdown_after_flush_ = false;
    bool finished_ = false;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer* watchdog_timer_ = nullptr;  // lives in watchdog()'s frame
    std::chrono::steady_clock::time_point opened_at_, last_read_, last_write_;

    // stream and identity
    bool header_sent_ = false;
    std::string stream_domain_;
    std::unique_ptr<SaslNegotiation> sasl_;
    unsigned auth_failures_ = 0;
    protocol::Jid jid_;  // bare after SASL, full after bind
    std::string jid_string_;
    bool bound_presence_available_ = false;
    double rate_tokens_ = 0;
    // Non-null while the client says it is inactive (XEP-0352); null costs an idle
    // session nothing.
    std::unique_ptr<modules::csi::PresenceHold> held_presence_;
};

}  // namespace parley::server::c2s
