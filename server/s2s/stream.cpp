// Transport of a server-to-server stream: reading and feeding the parser, TLS in both
// roles, the outbound buffer, the tick that drives deadlines, and closing.
#include "server/s2s/stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/x509v3.h>

#include <array>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/s2s/dialback.hpp"
#include "server/s2s/s2s_manager.hpp"
#include "server/s2s/s2s_tls.hpp"

namespace parley::server::s2s {

namespace asio = boost::asio;
using protocol::StreamErrorCondition;
using protocol::xml::Element;
namespace ns = protocol::ns;

namespace {
constexpr auto tick = std::chrono::milliseconds(250);
constexpr auto closing_grace = std::chrono::seconds(5);

protocol::xml::ParserLimits parser_limits(const Config& c) {
    return {c.limits.max_stanza_bytes, c.limits.max_depth, c.limits.max_attributes};
}
}  // namespace

S2sStream::S2sStream(S2sManager& manager, tcp::socket socket, const char* kind)
    : manager_(manager),
      socket_(std::move(socket)),
      kind_(kind),
      id_(manager.next_stream_id()),
      parser_(*this, parser_limits(manager.config())) {
    last_activity_ = Clock::now();
    boost::system::error_code ec;
    if (socket_.is_open()) socket_.non_blocking(true, ec);  // reads are tried first, then waited for
}

S2sStream::~S2sStream() = default;

void S2sStream::on_stream_open(protocol::xml::StreamHeader header) {
    pending_.push_back(Event{Event::Kind::open, std::move(header), {}});
}
void S2sStream::on_stanza(Element stanza) { pending_.push_back(Event{Event::Kind::element, {}, std::move(stanza)}); }
void S2sStream::on_stream_close() { pending_.push_back(Event{Event::Kind::close, {}, {}}); }

void S2sStream::restart_parser() {
    parser_.reset();
    pending_.clear();
    restarted_ = true;
}

asio::awaitable<void> S2sStream::read_loop() {
    for (;;) {
        const std::string_view data = co_await read_some();
        if (data.empty()) co_return;
        if (closing_) continue;  // draining until the peer or the grace period ends it
        if (auto err = parser_.feed(data)) {
            close(*err);
            continue;
        }
        while (!pending_.empty() && !closing_) {
            std::vector<Event> events;
            events.swap(pending_);
            restarted_ = false;
            for (auto& ev : events) {
                if (closing_ || restarted_ || finished_) break;
                co_await handle_event(std::move(ev));
            }
        }
    }
}

asio::awaitable<std::string_view> S2sStream::read_some() {
    static thread_local std::array<char, 16384> buffer;
    using Io = net::TlsSocket::Io;
    for (;;) {
        if (finished_ || !socket_.is_open()) co_return std::string_view();
        boost::system::error_code ec;
        auto wait = asio::socket_base::wait_read;
        if (tls_) {
            std::size_t n = 0;
            const Io io = tls_->read(buffer.data(), buffer.size(), n);
            if (io == Io::done) co_return std::string_view(buffer.data(), n);
            if (io == Io::want_write) wait = asio::socket_base::wait_write;
            if (io == Io::closed || io == Io::failed) co_return std::string_view();
        } else {
            const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
            if (!ec) co_return std::string_view(buffer.data(), n);
            if (ec != asio::error::would_block && ec != asio::error::try_again) co_return std::string_view();
        }
        co_await socket_.async_wait(wait, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return std::string_view();
    }
}

asio::awaitable<bool> S2sStream::tls_handshake(bool client, const std::string& sni, bool direct_tls) {
    auto ctx = client ? manager_.client_tls() : manager_.server_tls();
    tls_ctx_ = ctx;
    tls_ = std::make_unique<net::TlsSocket>(socket_, ctx->native_handle());
    SSL* ssl = tls_->native_handle();
    if (client && ssl) prepare_client(ssl, sni, direct_tls);
    using Io = net::TlsSocket::Io;
    for (;;) {
        const Io io = tls_->handshake();
        if (io == Io::done) {
            const unsigned char* alpn = nullptr;
            unsigned int alpn_len = 0;
            SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
            X509* cert = SSL_get0_peer_certificate(ssl);
            spdlog::debug("s2s_tls_done kind={} id={} version={} alpn={} peer_certificate={} verify={}", kind_, id_,
                          SSL_get_version(ssl), std::string_view(reinterpret_cast<const char*>(alpn), alpn_len),
                          cert ? "yes" : "no", X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
            co_return true;
        }
        boost::system::error_code ec;
        if (io == Io::want_read || io == Io::want_write) {
            co_await socket_.async_wait(io == Io::want_read ? asio::socket_base::wait_read : asio::socket_base::wait_write,
                                        asio::redirect_error(asio::use_awaitable, ec));
            if (!ec && !finished_) continue;
        }
        spdlog::info("s2s_tls_failed kind={} id={} error={}", kind_, id_, ec ? ec.message() : tls_->error());
        finish();
        co_return false;
    }
}

bool S2sStream::peer_verified_for(std::string_view domain) const {
    return tls_ && certificate_matches(tls_->native_handle(), domain);
}

asio::awaitable<bool> S2sStream::drain() {
    flush();
    while (writing_ || !out_.empty()) {
        if (finished_ || !socket_.is_open()) co_return false;
        asio::steady_timer wait(socket_.get_executor(), std::chrono::milliseconds(1));
        co_await wait.async_wait(asio::use_awaitable);
        if (!writing_ && !out_.empty()) flush();
    }
    co_return !finished_;
}

void S2sStream::send(const Element& el) {
    if (finished_ || closing_) return;
    if (el.xmlns() == dialback_ns) {
        // XEP-0220 writes dialback elements with the db: prefix that the stream header
        // declares. An unprefixed <result xmlns='jabber:server:dialback'/> is the same
        // XML, but ejabberd's parser reads only the prefixed form and then ignores it.
        Element prefixed = el;
        prefixed.set_name("db:" + el.name());
        prefixed.set_xmlns(std::string(ns::server));
        protocol::xml::serialize(prefixed, out_, ns::server);
    } else {
        protocol::xml::serialize(el, out_, ns::server);
    }
    schedule_flush();
}

void S2sStream::send_raw(std::string_view bytes) {
    if (finished_) return;
    out_.append(bytes);
    schedule_flush();
}

void S2sStream::schedule_flush() {
    if (flush_scheduled_ || writing_) return;
    flush_scheduled_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_scheduled_ = false;
        self->flush();
    });
}

void S2sStream::flush() {
    if (writing_ || out_.empty() || finished_) return;
    writing_ = true;
    writing_buf_.swap(out_);
    out_.clear();
    if (tls_) {
        write_offset_ = 0;
        write_tls();
    } else {
        asio::async_write(socket_, asio::buffer(writing_buf_),
                          [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                              self->on_write_done(ec);
                          });
    }
}

void S2sStream::write_tls() {
    using Io = net::TlsSocket::Io;
    while (write_offset_ < writing_buf_.size()) {
        std::size_t n = 0;
        const Io io = tls_->write(writing_buf_.data() + write_offset_, writing_buf_.size() - write_offset_, n);
        if (io == Io::done) {
            write_offset_ += n;
            continue;
        }
        if (io == Io::want_read || io == Io::want_write) {
            socket_.async_wait(io == Io::want_write ? asio::socket_base::wait_write : asio::socket_base::wait_read,
                               [self = shared_from_this()](boost::system::error_code ec) {
                                   if (ec) {
                                       self->on_write_done(ec);
                                   } else {
                                       self->write_tls();
                                   }
                               });
            return;
        }
        on_write_done(asio::error::connection_reset);
        return;
    }
    on_write_done({});
}

void S2sStream::on_write_done(boost::system::error_code ec) {
    writing_ = false;
    writing_buf_.clear();
    if (ec) {
        finish();
        return;
    }
    if (!out_.empty()) {
        flush();
    } else if (shutdown_after_flush_) {
        shutdown_transport();
    }
}

void S2sStream::close(StreamErrorCondition condition, std::string_view text) {
    if (closing_ || finished_) return;
    if (!socket_.is_open()) {
        finish();
        return;
    }
    // A peer that breaks the protocol or lies about a domain is worth a warning.
    const bool routine = condition == StreamErrorCondition::system_shutdown ||
                         condition == StreamErrorCondition::connection_timeout;
    spdlog::log(quiet_close_ ? spdlog::level::debug : routine ? spdlog::level::info : spdlog::level::warn,
                "s2s_stream_error kind={} id={} condition={}",
                kind_, id_, protocol::to_string(condition));
    if (!header_sent_) {
        // RFC 6120 §4.9.1.1: an error before our header still opens the stream first.
        send_raw(stream_header(manager_.config().hosts.front(), {}, {}));
        header_sent_ = true;
    }
    std::string tail;
    protocol::xml::serialize(protocol::make_stream_error(condition, text), tail, "jabber:server");
    tail += "</stream:stream>";
    send_raw(tail);
    closing_ = true;
    closing_since_ = Clock::now();
    parser_.stop();
    shutdown_after_flush_ = true;
    flush();
}

void S2sStream::close_gracefully() {
    if (closing_ || finished_) return;
    if (header_sent_) send_raw("</stream:stream>");
    closing_ = true;
    closing_since_ = Clock::now();
    parser_.stop();
    shutdown_after_flush_ = true;
    if (out_.empty() && !writing_) {
        shutdown_transport();
    } else {
        flush();
    }
}

void S2sStream::start_watchdog() {
    asio::co_spawn(socket_.get_executor(), [self = shared_from_this()]() { return self->watchdog(); }, asio::detached);
}

asio::awaitable<void> S2sStream::watchdog() {
    asio::steady_timer t(socket_.get_executor());
    while (!finished_) {
        t.expires_after(tick);
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (finished_) break;
        const auto now = Clock::now();
        if (closing_) {
            if (now - closing_since_ >= closing_grace) finish();  // a peer that does not read
            continue;
        }
        on_tick(now);
    }
}

void S2sStream::shutdown_transport() {
    boost::system::error_code ec;
    if (tls_) {
        tls_->shutdown();
        tls_->detach();
    }
    if (socket_.is_open()) {
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }
}

void S2sStream::finish() {
    if (finished_) return;
    finished_ = true;
    closing_ = true;
    shutdown_transport();
    on_finished();
}

}  // namespace parley::server::s2s
