#pragma once
// One XMPP client connection of the load generator: TCP, STARTTLS, direct TLS
// (XEP-0368) or no TLS at all, SCRAM-SHA-256 (or SCRAM-SHA-1, PLAIN), resource
// binding, initial presence; then a read loop that hands each stanza to a callback.
// Call only on the io_context's (single) thread.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include "protocol/xml/stream_parser.hpp"
#include "scram_client.hpp"

namespace parley::bench {

struct ServerAddress {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5222;
    bool direct_tls = false;
    bool plain = false;                      // no TLS: the server must not require it
    std::string domain = "localhost";
    std::string mechanism = "SCRAM-SHA-256"; // or SCRAM-SHA-1, SCRAM-SHA-512, PLAIN
    std::string source;                      // local address to bind before connecting; "" = any
};

class BenchClient : protocol::xml::StreamParser::Handler {
public:
    using StanzaHandler = std::function<void(const protocol::xml::Element&)>;

    BenchClient(boost::asio::io_context& io, boost::asio::ssl::context& tls, const ServerAddress& server,
                std::string localpart, std::string password, ScramKeyCache& keys);
    ~BenchClient() override;

    // Connects and logs in; throws std::runtime_error naming the failed step. When the
    // client is not logged in `timeout` after the call, its socket is closed.
    // After bind it sends initial presence and waits for the reply to a ping, so the
    // server has handled the whole login when this returns.
    boost::asio::awaitable<void> login(std::chrono::milliseconds timeout);

    // After login: reads stanzas in the background and passes each to `handler`, first
    // those that came during the login. May be called again to change the handler:
    // there is only ever one read loop (two reads on one ssl::stream corrupt it). With
    // a null handler stanzas are kept until a handler is set.
    void start_reading(StanzaHandler handler);
    // Queues raw XML for sending (in order, one write in flight at a time).
    void send(std::string xml);
    // Closes the stream and waits up to `grace` for the server to close its side.
    boost::asio::awaitable<void> close(std::chrono::milliseconds grace);
    // Closes the socket at once: every pending operation ends.
    void abort();

    const std::string& bare_jid() const { return bare_jid_; }
    const std::string& full_jid() const { return full_jid_; }
    bool is_open() const { return open_; }
    // Why the read loop ended, when it ended on an error (empty otherwise).
    const std::string& read_error() const { return read_error_; }

private:
    void on_stream_open(protocol::xml::StreamHeader header) override;
    void on_stanza(protocol::xml::Element stanza) override;
    void on_stream_close() override;

    boost::asio::awaitable<protocol::xml::Element> next_stanza(const char* step);
    // Reads until the <iq/> with this id came; every other stanza stays queued.
    boost::asio::awaitable<protocol::xml::Element> await_iq(std::string_view id, const char* step);
    boost::asio::awaitable<void> read_more(const char* step);
    boost::asio::awaitable<void> read_loop();
    boost::asio::awaitable<void> connect();
    boost::asio::awaitable<void> authenticate();
    void open_stream();
    void start_write();

    ServerAddress server_;
    std::string localpart_, password_, bare_jid_, full_jid_;
    ScramKeyCache& keys_;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
    boost::asio::steady_timer deadline_, close_wait_;
    protocol::xml::StreamParser parser_;
    std::deque<protocol::xml::Element> inbox_;
    StanzaHandler handler_;
    std::string out_, writing_buf_, read_error_;
    char read_buf_[16384];
    bool tls_ = false, open_ = false, writing_ = false, reading_ = false, server_closed_ = false;
};

}  // namespace parley::bench
