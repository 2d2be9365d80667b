#include "support/raw_client.hpp"

#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

protocol::xml::ParserLimits generous_limits() {
    protocol::xml::ParserLimits limits;
    limits.max_stanza_bytes = 64 * 1024 * 1024;
    limits.max_depth = 1000;
    limits.max_attributes = 1000;
    return limits;
}

}  // namespace

RawClient::RawClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : parser_(std::make_unique<protocol::xml::StreamParser>(
          static_cast<protocol::xml::StreamParser::Handler&>(*this), generous_limits())) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (rc != 0 && errno == EINPROGRESS) {
        bool writable = wait_fd(POLLOUT, Clock::now() + timeout);
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = writable && err == 0 ? 0 : -1;
        if (err) errno = err;
    }
    if (rc != 0) FAIL("cannot connect to 127.0.0.1:" << port << ": " << std::string(std::strerror(errno)));
}

RawClient::~RawClient() {
    if (ssl_) SSL_free(ssl_);
    if (ssl_ctx_) SSL_CTX_free(ssl_ctx_);
    if (fd_ >= 0) ::close(fd_);
}

void RawClient::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    closed_ = true;
}

bool RawClient::wait_fd(short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd_, events, 0};
        int r = ::poll(&p, 1, remaining_ms(deadline));
        if (r < 0 && errno == EINTR) continue;
        return r > 0;
    }
}

bool RawClient::start_tls(std::string_view alpn, std::chrono::milliseconds timeout) {
    REQUIRE_MESSAGE(!ssl_, "TLS is already on");
    ssl_ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ssl_ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ssl_ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    if (!alpn.empty()) {
        std::string wire(1, static_cast<char>(alpn.size()));
        wire += alpn;
        SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
    }
    auto deadline = Clock::now() + timeout;
    for (;;) {
        int r = SSL_connect(ssl_);
        if (r == 1) return true;
        int err = SSL_get_error(ssl_, r);
        bool ready = false;
        if (err == SSL_ERROR_WANT_READ) ready = wait_fd(POLLIN, deadline);
        else if (err == SSL_ERROR_WANT_WRITE) ready = wait_fd(POLLOUT, deadline);
        if (!ready) {
            tls_error_ = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE
                             ? "TLS handshake timed out"
                             : "TLS handshake failed: " + openssl_errors();
            return false;
        }
    }
}

bool RawClient::send(std::string_view bytes, std::chrono::milliseconds timeout) {
    if (fd_ < 0) return false;
    auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
        if (ssl_) {
            std::size_t written = 0;
            int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
            if (r == 1) {
                bytes.remove_prefix(written);
                continue;
            }
            int err = SSL_get_error(ssl_, r);
            if (err == SSL_ERROR_WANT_WRITE) {
                if (!wait_fd(POLLOUT, deadline)) return false;
            } else if (err == SSL_ERROR_WANT_READ) {
                if (!wait_fd(POLLIN, deadline)) return false;
            } else {
                return false;
            }
        } else {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
            } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                if (!wait_fd(POLLOUT, deadline)) return false;
            } else {
                return false;
            }
        }
    }
    return true;
}

void RawClient::reset_parser() {
    parser_->reset();
    header_.reset();
    stream_closed_ = false;
    parse_error_.reset();
}

bool RawClient::open_stream(std::string_view to, std::string_view version) {
    reset_parser();
    std::string header = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                         "xmlns:stream='http://etherx.jabber.org/streams' to='";
    header += to;
    header += "' version='";
    header += version;
    header += "' xml:lang='en'>";
    return send(header);
}

long RawClient::read_some(char* buf, std::size_t size, Clock::time_point deadline) {
    if (fd_ < 0) return 0;
    for (;;) {
        if (ssl_) {
            std::size_t got = 0;
            int r = SSL_read_ex(ssl_, buf, size, &got);
            if (r == 1) return static_cast<long>(got);
            int err = SSL_get_error(ssl_, r);
            bool ready = false;
            if (err == SSL_ERROR_WANT_READ) ready = wait_fd(POLLIN, deadline);
            else if (err == SSL_ERROR_WANT_WRITE) ready = wait_fd(POLLOUT, deadline);
            else return 0;  // close_notify, reset or an unexpected EOF: closed all the same
            if (!ready) return -1;
        } else {
            ssize_t n = ::recv(fd_, buf, size, 0);
            if (n >= 0) return static_cast<long>(n);
            if (errno == EINTR) continue;
            if (errno != EAGAIN) return 0;  // ECONNRESET and friends
            if (!wait_fd(POLLIN, deadline)) return -1;
        }
    }
}

bool RawClient::pump(Clock::time_point deadline) {
    if (closed_) return false;
    char buf[16384];
    long n = read_some(buf, sizeof buf, deadline);
    if (n < 0) return false;  // timed out
    if (n == 0) {
        closed_ = true;
        return false;
    }
    std::string_view data(buf, static_cast<std::size_t>(n));
    received_.append(data);
    if (!parse_error_) parse_error_ = parser_->feed(data);
    return true;
}

bool RawClient::wait_header(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!header_) {
        if (!pump(deadline)) return header_.has_value();
    }
    return true;
}

std::optional<Element> RawClient::next(std::chrono::milliseconds timeout) {
    return wait_for(any_stanza(), timeout);
}

std::optional<Element> RawClient::wait_for(const Match& match, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
        for (; checked < queue_.size(); ++checked) {
            if (match(queue_[checked])) {
                Element found = std::move(queue_[checked]);
                queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(checked));
                return found;
            }
        }
        if (!pump(deadline)) {
            if (checked < queue_.size()) continue;  // the last read queued more
            return std::nullopt;
        }
    }
}

std::optional<std::string> RawClient::wait_stream_error(std::chrono::milliseconds timeout) {
    auto el = wait_for([](const Element& e) { return is_stream_error(e); }, timeout);
    if (!el) return std::nullopt;
    return stream_error_condition(*el);
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!closed_) {
        if (!pump(deadline) && !closed_) return false;
    }
    return true;
}

void RawClient::on_stream_open(protocol::xml::StreamHeader header) { header_ = std::move(header); }

void RawClient::on_stanza(Element stanza) { queue_.push_back(std::move(stanza)); }

void RawClient::on_stream_close() { stream_closed_ = true; }

}  // namespace parley::test
