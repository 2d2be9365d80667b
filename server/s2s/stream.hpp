#pragma once
// What both directions of a server-to-server stream share: the socket and TLS on it
// (either side of the handshake), the XML parser, the outbound buffer, timers and
// closing. A stream lives its whole life on its socket's io_context; other threads
// reach it only by posting to executor().
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/xml/stream_parser.hpp"
#include "server/net/tls_socket.hpp"

namespace parley::server::s2s {

class S2sManager;

class S2sStream : public protocol::xml::StreamParser::Handler, public std::enable_shared_from_this<S2sStream> {
public:
    using tcp = boost::asio::ip::tcp;
    using Clock = std::chrono::steady_clock;
    ~S2sStream() override;

    std::uint64_t id() const { return id_; }
    boost::asio::any_io_executor executor() { return socket_.get_executor(); }
    // Ends the stream with a stream error (RFC 6120 §4.9). Call on executor().
    void close(protocol::StreamErrorCondition condition, std::string_view text = {});
    bool finished() const { return finished_; }

protected:
    struct Event {
        enum class Kind { open, element, close } kind;
        protocol::xml::StreamHeader header;
        protocol::xml::Element element;
    };

    S2sStream(S2sManager& manager, tcp::socket socket, const char* kind);

    // Runs after the socket is connected: read, parse and hand events over in order.
    boost::asio::awaitable<void> read_loop();
    virtual boost::asio::awaitable<void> handle_event(Event ev) = 0;
    // Called once, when the stream is over (on its executor).
    virtual void on_finished() = 0;
    // Once per tick (about 4 per second) while the stream lives: deadlines.
    virtual void on_tick(Clock::time_point now) = 0;

    // TLS on the connection as it is now. The client side sends `sni` (the peer's
    // domain) and, for XEP-0368 direct TLS, offers ALPN "xmpp-server". Either side
    // presents our certificate and asks for the peer's (s2s_tls.hpp).
    boost::asio::awaitable<bool> tls_handshake(bool client, const std::string& sni = {}, bool direct_tls = false);
    bool is_tls() const { return tls_ != nullptr; }
    // The peer's certificate verified (system store + [s2s] ca_file) and names `domain`
    // (RFC 6125 DNS-ID).
    bool peer_verified_for(std::string_view domain) const;
    // Waits until everything queued is written (before a TLS handshake).
    boost::asio::awaitable<bool> drain();
    // The parser expects a new stream; what was parsed after this point is dropped.
    void restart_parser();

    void send(const protocol::xml::Element& el);
    void send_raw(std::string_view bytes);
    void close_gracefully();
    void start_watchdog();
    void finish();

    S2sManager& manager_;
    tcp::socket socket_;
    std::unique_ptr<net::TlsSocket> tls_;
    std::shared_ptr<void> tls_ctx_;  // keeps the SSL_CTX alive while tls_ uses it
    const char* kind_;
    std::uint64_t id_;
    bool header_sent_ = false;
    bool closing_ = false;
    bool quiet_close_ = false;  // close() logs at debug (the caller logs, rate-limited)
    Clock::time_point last_activity_;  // a stanza went either way

private:
    // StreamParser::Handler
    void on_stream_open(protocol::xml::StreamHeader header) override;
    void on_stanza(protocol::xml::Element stanza) override;
    void on_stream_close() override;

    boost::asio::awaitable<std::string_view> read_some();
    boost::asio::awaitable<void> watchdog();
    void schedule_flush();
    void flush();
    void write_tls();
    void on_write_done(boost::system::error_code ec);
    void shutdown_transport();

    protocol::xml::StreamParser parser_;
    std::vector<Event> pending_;
    bool restarted_ = false;
    std::string out_, writing_buf_;
    std::size_t write_offset_ = 0;
    bool writing_ = false;
    bool flush_scheduled_ = false;
    bool shutdown_after_flush_ = false;
    bool finished_ = false;
    Clock::time_point closing_since_;
};

}  // namespace parley::server::s2s
