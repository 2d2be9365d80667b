#pragma once
// A client on a raw socket for the tests that must send what no library would: any
// bytes, at any moment, in plain TCP or TLS (STARTTLS or direct TLS). Everything it
// reads is parsed with protocol::xml::StreamParser and queued as depth-1 elements.
// Blocking style with bounded waits (poll); call from the test's thread only.
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errors.hpp"
#include "protocol/xml/stream_parser.hpp"
#include "support/stanza_match.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace parley::test {

using namespace std::chrono_literals;

class RawClient : private protocol::xml::StreamParser::Handler {
public:
    // Connects to 127.0.0.1:port; FAILs the test when it cannot.
    explicit RawClient(std::uint16_t port, std::chrono::milliseconds timeout = 5s);
    ~RawClient() override;
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // TLS client handshake on the connection as it is now (at once for direct TLS, after
    // <proceed/> for STARTTLS). The certificate is not verified (it is self-signed).
    bool start_tls(std::string_view alpn = {}, std::chrono::milliseconds timeout = 5s);
    bool is_tls() const { return ssl_ != nullptr; }
    SSL* ssl() const { return ssl_; }
    const std::string& tls_error() const { return tls_error_; }

    // Sends bytes as they are; false when the connection is gone.
    bool send(std::string_view bytes, std::chrono::milliseconds timeout = 5s);
    // Starts a new stream: the parser forgets the old one, then the header goes out.
    bool open_stream(std::string_view to = "localhost", std::string_view version = "1.0");
    // Makes the parser expect a new stream without sending anything.
    void reset_parser();

    // Each wait reads from the socket until its condition holds or the time is up.
    bool wait_header(std::chrono::milliseconds timeout = 5s);
    const std::optional<protocol::xml::StreamHeader>& header() const { return header_; }
    // The next received depth-1 element, removed from the queue.
    std::optional<Element> next(std::chrono::milliseconds timeout = 5s);
    // The first queued or arriving element that matches, removed from the queue; the
    // ones that do not match stay queued.
    std::optional<Element> wait_for(const Match& match, std::chrono::milliseconds timeout = 5s);
    // The condition of a <stream:error/> ("policy-violation"), nullopt when none came.
    std::optional<std::string> wait_stream_error(std::chrono::milliseconds timeout = 5s);
    // True once the server has closed the TCP connection (EOF, reset or TLS close).
    bool wait_closed(std::chrono::milliseconds timeout = 5s);

    bool is_closed() const { return closed_; }
    bool stream_closed() const { return stream_closed_; }  // </stream:stream> received
    std::optional<protocol::StreamErrorCondition> parse_error() const { return parse_error_; }
    const std::string& received() const { return received_; }  // every byte, decrypted
    std::size_t queued() const { return queue_.size(); }

    // Closes our side at once (no </stream:stream>).
    void close();

private:
    void on_stream_open(protocol::xml::StreamHeader header) override;
    void on_stanza(Element stanza) override;
    void on_stream_close() override;

    // Reads what is available (waiting until `deadline`) and parses it; false on
    // timeout or when the connection is closed.
    bool pump(std::chrono::steady_clock::time_point deadline);
    long read_some(char* buf, std::size_t size, std::chrono::steady_clock::time_point deadline);
    bool wait_fd(short events, std::chrono::steady_clock::time_point deadline);

    int fd_ = -1;
    SSL_CTX* ssl_ctx_ = nullptr;
    SSL* ssl_ = nullptr;
    std::string tls_error_;
    std::unique_ptr<protocol::xml::StreamParser> parser_;
    std::optional<protocol::xml::StreamHeader> header_;
    std::deque<Element> queue_;
    std::string received_;
    std::optional<protocol::StreamErrorCondition> parse_error_;
    bool closed_ = false;
    bool stream_closed_ = false;
};

}  // namespace parley::test
