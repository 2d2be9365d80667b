// Transport of a client session: reading and feeding the parser, the outbound
// queue, timers, and closing. Negotiation is in negotiation.cpp, stanzas in stanzas.cpp.
#include "server/c2s/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "protocol/xml/element.hpp"
#include "server/modules/csi/presence_hold.hpp"
#include "server/log.hpp"

namespace parley::server::c2s {

namespace asio = boost::asio;
using protocol::StreamErrorCondition;
using Clock = std::chrono::steady_clock;

namespace {
// How long a bound session must be quiet before its parser hibernates.
constexpr std::chrono::seconds hibernate_after{2};

protocol::xml::ParserLimits parser_limits(const Config& c) {
    return {c.limits.max_stanza_bytes, c.limits.max_depth, c.limits.max_attributes};
}
}  // namespace

Session::Session(C2sContext& ctx, tcp::socket socket, std::string peer_ip, bool direct_tls, bool refused)
    : ctx_(ctx),
      socket_(std::move(socket)),
      peer_ip_(std::move(peer_ip)),
      direct_tls_(direct_tls),
      refused_(refused),
      id_(ctx.next_session_id()),
      parser_(*this, parser_limits(ctx.config)),
      timer_(socket_.get_executor()) {
    opened_at_ = last_read_ = last_write_ = Clock::now();
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);  // reads are tried first, then waited for
    rate_tokens_ = static_cast<double>(ctx.config.limits.read_rate_bytes);
}

Session::~Session() = default;

void Session::start() {
    auto self = shared_from_this();
    ctx_.track(routing::SessionRef{weak_from_this(), socket_.get_executor(), id_});
    asio::co_spawn(socket_.get_executor(), [self]() { return self->run(); }, [self](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("session_failed id={} error={}", self->id_, ex.what());
            }
        }
        self->finish();
    });
    asio::co_spawn(socket_.get_executor(), [self]() { return self->watchdog(); }, asio::detached);
}

asio::awaitable<void> Session::run() {
    if (direct_tls_ && !co_await tls_handshake()) co_return;
    if (state_ == State::connected) state_ = State::negotiating;
    for (;;) {
        const std::string_view data = co_await read_some();
        if (data.empty()) co_return;
        const std::size_t n = data.size();
        last_read_ = Clock::now();
        parser_asleep_ = false;  // the parser wakes itself on this feed
        if (state_ == State::closing) continue;  // draining until the peer or the timer closes
        if (auto err = parser_.feed(data)) {
            close(*err);
            continue;
        }
        // Negotiation steps wait on TLS or storage, so they run here, in order.
        while (!pending_.empty() && state_ != State::closing) {
            std::vector<Event> events;
            events.swap(pending_);
            restarted_ = false;
            for (auto& ev : events) {
                if (state_ == State::closing || restarted_) break;
                co_await handle_event(std::move(ev));
            }
        }
        if (state_ == State::bound && ctx_.intake_paused) {
            // Back-pressure: what this client sends would be refused by a full archive
            // queue; leave it in the socket (and the client's TCP window) for now.
            while (ctx_.intake_paused() && state_ != State::closing && !finished_) {
                timer_.expires_after(std::chrono::milliseconds(5));
                boost::system::error_code ec;
                co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
        if (const auto limit = ctx_.config.limits.read_rate_bytes) {
            // Token bucket: a client over its byte rate is read more slowly.
            rate_tokens_ -= static_cast<double>(n);
            if (rate_tokens_ < 0) {
                timer_.expires_after(std::chrono::milliseconds(static_cast<long>(-rate_tokens_ * 1000 / limit)));
                boost::system::error_code ec;
                co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                rate_tokens_ = 0;
            }
            rate_tokens_ = std::min(static_cast<double>(limit), rate_tokens_ + static_cast<double>(limit) / 10);
        }
    }
}

asio::awaitable<std::string_view> Session::read_some() {
    // One buffer per I/O thread: the parser consumes it before this thread reads again.
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
            if (io == Io::closed || io == Io::failed) {
                if (io == Io::failed) spdlog::debug("session_tls_read_failed id={} error={}", id_, tls_->error());
                co_return std::string_view();
            }
        } else {
            const std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
            if (!ec) co_return std::string_view(buffer.data(), n);
            if (ec != asio::error::would_block && ec != asio::error::try_again) {
                if (ec != asio::error::eof) spdlog::debug("session_read_failed id={} error={}", id_, ec.message());
                co_return std::string_view();
            }
        }
        co_await socket_.async_wait(wait, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return std::string_view();
    }
}

asio::awaitable<bool> Session::tls_handshake() {
    tls_ctx_ = ctx_.tls();
    tls_ = std::make_unique<net::TlsSocket>(socket_, tls_ctx_->native_handle());
    const auto previous = state_;
    state_ = State::awaiting_tls_handshake;
    using Io = net::TlsSocket::Io;
    for (;;) {
        const Io io = tls_->handshake();
        if (io == Io::done) break;
        boost::system::error_code ec;
        if (io == Io::want_read || io == Io::want_write) {
            co_await socket_.async_wait(io == Io::want_read ? asio::socket_base::wait_read : asio::socket_base::wait_write,
                                        asio::redirect_error(asio::use_awaitable, ec));
            if (!ec) continue;
        }
        spdlog::info("tls_handshake_failed id={} ip={} error={}", id_, peer_ip_, ec ? ec.message() : tls_->error());
        state_ = State::closing;
        shutdown_transport();
        co_return false;
    }
    state_ = previous == State::connected ? State::negotiating : previous;
    co_return true;
}

asio::awaitable<void> Session::watchdog() {
    // One timer per session that sleeps until the nearest deadline, so an idle
    // connection costs one wake-up per keepalive interval.
    const auto& c = ctx_.config.c2s;
    boost::asio::steady_timer t(socket_.get_executor());
    watchdog_timer_ = &t;
    auto self = shared_from_this();
    const auto closing_grace = std::chrono::seconds(5);
    while (!finished_) {
        auto next = last_read_ + c.idle_timeout;
        if (state_ == State::closing) {
            next = last_write_ + closing_grace;
        } else {
            if (state_ != State::bound) next = std::min(next, opened_at_ + c.negotiation_timeout);
            next = std::min(next, last_write_ + c.keepalive_interval);
            if (!parser_asleep_ && state_ == State::bound) next = std::min(next, last_read_ + hibernate_after);
        }
        t.expires_at(next + std::chrono::milliseconds(1));
        boost::system::error_code ec;
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (finished_) break;
        const auto now = Clock::now();
        if (state_ == State::closing) {
            // A peer that does not read our closing bytes is cut off.
            if (now - last_write_ >= closing_grace) shutdown_transport();
            continue;
        }
        if (state_ == State::bound && !parser_asleep_ && now - last_read_ >= hibernate_after && pending_.empty()) {
            // A quiet client gives its XML parser's memory, and its write buffers, back
            // until it speaks again.
            parser_asleep_ = parser_.hibernate();
            if (tls_ && !writing_) tls_->release_buffers();
            if (out_.empty()) std::string().swap(out_);
            if (!writing_) std::string().swap(writing_buf_);
        }
        if (state_ != State::bound && now - opened_at_ >= c.negotiation_timeout) {
            close(StreamErrorCondition::connection_timeout, "negotiation took too long");
        } else if (now - last_read_ >= c.idle_timeout) {
            close(StreamErrorCondition::connection_timeout, "idle");
        } else if (now - last_write_ >= c.keepalive_interval) {
            if (header_sent_ && state_ != State::awaiting_tls_handshake && !writing_) {
                send_raw(" ");  // whitespace keepalive (RFC 6120 §4.6.1)
            } else {
                last_write_ = now;  // nothing may be sent now; look again one interval later
            }
        }
    }
    watchdog_timer_ = nullptr;
}

void Session::send(const protocol::xml::Element& el) {
    if (finished_) return;
    protocol::xml::serialize(el, out_, "jabber:client");
    schedule_flush();
}

void Session::send_raw(std::string_view bytes) {
    if (finished_) return;
    out_.append(bytes);
    schedule_flush();
}

void Session::schedule_flush() {
    if (out_.size() > ctx_.config.limits.max_outbound_bytes && state_ != State::closing) {
        flush();  // closes the slow reader now, even while a write is stuck
        return;
    }
    // Everything queued while the current handlers run leaves in one write: one
    // TLS record and one system call for a burst instead of one per stanza.
    if (flush_scheduled_ || writing_) return;
    flush_scheduled_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
        self->flush_scheduled_ = false;
        self->flush();
    });
}

void Session::flush() {
    if (out_.size() > ctx_.config.limits.max_outbound_bytes && state_ != State::closing) {
        // A slow consumer is closed rather than buffered without bound.
        spdlog::warn("session_outbound_overflow id={} jid={} bytes={}", id_, jid_string_, out_.size());
        out_.clear();
        close(StreamErrorCondition::policy_violation, "too much queued for a slow reader");
        return;
    }
    if (writing_ || out_.empty() || state_ == State::awaiting_tls_handshake) return;
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

void Session::write_tls() {
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

void Session::on_write_done(boost::system::error_code ec) {
    writing_ = false;
    writing_buf_.clear();
    // An idle session should not keep a burst's buffer.
    if (writing_buf_.capacity() > 16384) std::string().swap(writing_buf_);
    last_write_ = Clock::now();
    if (ec) {
        shutdown_transport();
        return;
    }
    if (!out_.empty()) {
        flush();
    } else if (shutdown_after_flush_) {
        shutdown_transport();
    }
}

void Session::close(StreamErrorCondition condition, std::string_view text) {
    if (state_ == State::closing || finished_) return;
    spdlog::info("stream_closed id={} ip={} jid={} condition={}", id_, peer_ip_, jid_string_,
                 protocol::to_string(condition));
    if (!header_sent_) {
        // RFC 6120 §4.9.1.1: an error before our header still opens the stream first.
        const std::string domain = ctx_.config.hosts.front();
        send_raw("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                 "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' from='" + domain + "'>");
        header_sent_ = true;
    }
    state_ = State::closing;
    parser_.stop();
    protocol::xml::serialize(protocol::make_stream_error(condition, text), out_, "jabber:client");
    out_ += "</stream:stream>";
    last_write_ = Clock::now();
    shutdown_after_flush_ = true;
    if (watchdog_timer_) watchdog_timer_->cancel();  // re-arm for the closing grace period
    flush();
}

void Session::close_gracefully() {
    if (state_ == State::closing || finished_) return;
    state_ = State::closing;
    parser_.stop();
    out_ += "</stream:stream>";
    last_write_ = Clock::now();
    shutdown_after_flush_ = true;
    if (watchdog_timer_) watchdog_timer_->cancel();  // re-arm for the closing grace period
    flush();
}

void Session::close_stream(StreamErrorCondition condition) { close(condition); }

void Session::shutdown_transport() {
    boost::system::error_code ec;
    if (tls_) {
        tls_->shutdown();  // close_notify, if the socket takes it now
        tls_->detach();
    }
    if (socket_.is_open()) {
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }
}

void Session::finish() {
    if (finished_) return;
    finished_ = true;
    state_ = State::closing;
    shutdown_transport();
    timer_.cancel();
    if (watchdog_timer_) watchdog_timer_->cancel();
    held_presence_.reset();  // held presence dies with the session
    if (!jid_.empty() && jid_.has_resource()) {
        ctx_.sessions.unbind(jid_, id_);
        modules::SessionClosed ev{jid_, id_, bound_presence_available_};
        ctx_.hooks.session_closed.run(ev);
        spdlog::info("session_unbound id={} jid={}", id_, jid_string_);
    }
    ctx_.untrack(id_);
    ctx_.release(peer_ip_);
}

void Session::deliver(protocol::xml::Element stanza) {
    if (state_ != State::bound) return;
    if (held_presence_ && hold_while_inactive(stanza)) return;
    send(stanza);
}

}  // namespace parley::server::c2s
