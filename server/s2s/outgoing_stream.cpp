// The initiating side of a server-to-server stream (RFC 6120 §4–§6, XEP-0220 §2.1,
// XEP-0178).
#include "server/s2s/outgoing_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "protocol/namespaces.hpp"
#include "protocol/sasl/sasl.hpp"
#include "server/log.hpp"
#include "server/routing/router.hpp"
#include "server/s2s/dialback.hpp"
#include "server/s2s/resolver.hpp"

namespace parley::server::s2s {

namespace asio = boost::asio;
namespace ns = protocol::ns;
using protocol::StanzaErrorCondition;
using protocol::StreamErrorCondition;
using protocol::xml::Element;

OutgoingStream::OutgoingStream(S2sManager& manager, asio::io_context& ctx, std::string local, std::string remote)
    : S2sStream(manager, tcp::socket(ctx), "out"),
      local_(std::move(local)),
      remote_(std::move(remote)),
      resolver_(ctx) {
    started_ = Clock::now();
}

void OutgoingStream::start() {
    // co_spawn runs the coroutines on executor() (dispatched there), never inline on the
    // calling thread when that is another one.
    auto self = std::static_pointer_cast<OutgoingStream>(shared_from_this());
    asio::co_spawn(executor(), [self]() { return self->run(); }, [self](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("s2s_outgoing_failed id={} error={}", self->id_, ex.what());
            }
        }
        if (self->state_ != State::established) {
            self->fail(self->timed_out_ ? StanzaErrorCondition::remote_server_timeout
                                        : StanzaErrorCondition::remote_server_not_found,
                       "stream ended during set-up");
        }
        self->finish();
    });
    start_watchdog();
}

asio::awaitable<void> OutgoingStream::run() {
    spdlog::info("s2s_outgoing_connecting id={} local={} remote={}", id_, local_, remote_);
    // GCC 12: co_await results go into named locals, never straight into a condition.
    const bool connected = co_await connect();
    if (!connected) {
        if (timed_out_) {
            fail(StanzaErrorCondition::remote_server_timeout, "connect timed out");
        } else {
            fail(StanzaErrorCondition::remote_server_not_found, "no address answered");
        }
        co_return;
    }
    if (direct_tls_) {
        // XEP-0368: TLS first (SNI and ALPN "xmpp-server"), then the stream as after
        // STARTTLS.
        const std::string sni = remote_;
        const bool secured = co_await tls_handshake(true, sni, true);
        if (!secured) {
            fail(StanzaErrorCondition::remote_server_not_found, "direct TLS handshake failed");
            co_return;
        }
    }
    send_raw(stream_header(local_, remote_, {}));
    header_sent_ = true;
    state_ = direct_tls_ ? State::tls_open : State::opening;
    co_await read_loop();
}

asio::awaitable<bool> OutgoingStream::connect() {
    std::string domain = remote_;  // a named local: GCC 12 and temporaries in co_await
    const std::vector<RouteTarget> targets = co_await manager_.resolve_targets(std::move(domain));
    if (timed_out_ || finished()) co_return false;
    for (const RouteTarget& target : targets) {
        std::vector<tcp::endpoint> endpoints;
        boost::system::error_code ec;
        const auto ip = asio::ip::make_address(target.host, ec);
        if (!ec) {
            endpoints.emplace_back(ip, target.port);
        } else if (target.host == "localhost") {
            // RFC 6761 §6.3: loopback, without asking any resolver.
            endpoints.emplace_back(asio::ip::address_v6::loopback(), target.port);
            endpoints.emplace_back(asio::ip::address_v4::loopback(), target.port);
        } else if (!manager_.dns_servers().empty()) {
            // A host named by an SRV record: its addresses from the configured DNS servers.
            Resolver resolver(socket_.get_executor(), manager_.dns_servers());
            std::string host = target.host;
            auto token = asio::as_tuple(asio::use_awaitable);
            auto [rec, addresses] = co_await resolver.resolve_addresses(std::move(host), token);
            if (timed_out_ || finished()) co_return false;
            if (rec) {
                spdlog::info("s2s_resolve_failed id={} host={} error={}", id_, target.host, rec.message());
                continue;
            }
            for (const auto& a : addresses) endpoints.emplace_back(a, target.port);
        } else if (manager_.may_use_system_resolver(remote_)) {
            const std::string service = std::to_string(target.port);
            auto results = co_await resolver_.async_resolve(target.host, service,
                                                            asio::redirect_error(asio::use_awaitable, ec));
            if (timed_out_ || finished()) co_return false;
            if (ec) {
                spdlog::info("s2s_resolve_failed id={} host={} error={}", id_, target.host, ec.message());
                continue;
            }
            for (const auto& r : results) endpoints.push_back(r.endpoint());
        }
        for (const auto& endpoint : endpoints) {
            boost::system::error_code cec;
            if (socket_.is_open()) socket_.close(cec);
            co_await socket_.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, cec));
            if (timed_out_ || finished()) co_return false;
            if (!cec) {
                socket_.set_option(tcp::no_delay(true), cec);
                socket_.non_blocking(true, cec);
                direct_tls_ = target.direct_tls;
                spdlog::info("s2s_outgoing_connected id={} remote={} address={} direct_tls={}", id_, remote_,
                             endpoint.address().to_string() + ":" + std::to_string(endpoint.port()), direct_tls_);
                co_return true;
            }
            spdlog::info("s2s_connect_failed id={} remote={} address={} error={}", id_, remote_,
                         endpoint.address().to_string() + ":" + std::to_string(endpoint.port()), cec.message());
        }
    }
    co_return false;
}

void OutgoingStream::on_tick(Clock::time_point now) {
    const auto& c = manager_.config().s2s;
    if (state_ != State::established) {
        if (now - started_ >= c.connect_timeout && !failed_) {
            timed_out_ = true;
            spdlog::info("s2s_setup_timeout id={} remote={}", id_, remote_);
            fail(StanzaErrorCondition::remote_server_timeout, "set-up timed out");
            resolver_.cancel();
            finish();  // also aborts a connect in progress
        }
        return;
    }
    if (now - last_activity_ >= c.idle_timeout && sent_verifies_.empty()) {
        spdlog::info("s2s_outgoing_idle id={} remote={}", id_, remote_);
        leave_manager();  // new stanzas open a new stream from now on
        close_gracefully();
    }
}

asio::awaitable<void> OutgoingStream::handle_event(Event ev) {
    if (ev.kind == Event::Kind::close) {
        close_gracefully();
        co_return;
    }
    if (ev.kind == Event::Kind::open) {
        if (ev.header.content_namespace != ns::server) {
            close(StreamErrorCondition::invalid_namespace, "a server stream is in jabber:server");
            fail(StanzaErrorCondition::remote_server_not_found, "wrong stream namespace");
            co_return;
        }
        stream_id_ = ev.header.id;
        co_return;
    }
    const Element& el = ev.element;
    const std::string& name = el.name();
    const std::string& xmlns = el.xmlns();
    if (xmlns == ns::stream && name == "features") {
        handle_features(el);
    } else if (xmlns == ns::stream && name == "error") {
        const Element* cond = el.find_child_ns(ns::streams_errors);
        spdlog::info("s2s_peer_stream_error id={} remote={} condition={}", id_, remote_, cond ? cond->name() : "?");
        if (state_ != State::established) fail(StanzaErrorCondition::remote_server_not_found, "stream error");
    } else if (xmlns == ns::tls && name == "proceed" && state_ == State::starttls) {
        restart_parser();
        header_sent_ = false;
        const bool secured = co_await tls_handshake(true, remote_);
        if (!secured) {
            fail(StanzaErrorCondition::remote_server_not_found, "TLS handshake failed");
            co_return;
        }
        send_raw(stream_header(local_, remote_, {}));
        header_sent_ = true;
        state_ = State::tls_open;
    } else if (xmlns == ns::tls && name == "failure") {
        fail(StanzaErrorCondition::remote_server_not_found, "STARTTLS refused");
        close_gracefully();
    } else if (xmlns == ns::sasl && state_ == State::sasl) {
        if (name == "success") {
            restart_parser();
            send_raw(stream_header(local_, remote_, {}));
            state_ = State::sasl_restart;
            mechanism_ = "EXTERNAL";
        } else {
            spdlog::info("s2s_sasl_external_refused id={} remote={}", id_, remote_);
            start_dialback();
        }
    } else if (xmlns == dialback_ns && name == "result") {
        const std::string_view type = el.attr("type");
        if (state_ != State::dialback || el.attr("from") != remote_ || el.attr("to") != local_) co_return;
        if (type == "valid") {
            established();
        } else {
            spdlog::info("s2s_dialback_refused id={} remote={} type={}", id_, remote_, type);
            fail(StanzaErrorCondition::remote_server_not_found, "the remote server refused our dialback key");
            close_gracefully();
        }
    } else if (xmlns == dialback_ns && name == "verify") {
        const std::string_view type = el.attr("type");
        for (auto it = sent_verifies_.begin(); it != sent_verifies_.end(); ++it) {
            if (it->stream_id != el.attr("id")) continue;
            auto done = std::move(it->done);
            sent_verifies_.erase(it);
            done(type == "valid" ? S2sManager::Verdict::valid
                                 : type == "invalid" ? S2sManager::Verdict::invalid : S2sManager::Verdict::error);
            break;
        }
    } else {
        spdlog::debug("s2s_outgoing_ignored id={} element={} xmlns={}", id_, name, xmlns);
    }
}

void OutgoingStream::handle_features(const Element& features) {
    if (state_ == State::opening) {
        if (!features.find_child("starttls", ns::tls)) {
            // Every s2s stream is encrypted (issue policy, RFC 6120 §5.1 recommends it).
            close(StreamErrorCondition::policy_violation, "STARTTLS is required");
            fail(StanzaErrorCondition::remote_server_not_found, "the peer does not offer STARTTLS");
            return;
        }
        send(Element("starttls", std::string(ns::tls)));
        state_ = State::starttls;
        return;
    }
    if (state_ == State::sasl_restart) {
        send_unsent_verifies();
        established();
        return;
    }
    if (state_ != State::tls_open) return;
    const bool verified = peer_verified_for(remote_);
    bool external = false;
    if (const Element* mechanisms = features.find_child("mechanisms", ns::sasl)) {
        for (const auto& m : mechanisms->children()) {
            if (!m.is_text() && m.text() == "EXTERNAL") external = true;
        }
    }
    spdlog::info("s2s_tls_established id={} remote={} certificate={}", id_, remote_, verified ? "valid" : "invalid");
    if (verified && external) {
        // db:verify requests wait until SASL is over (RFC 6120 §6.3.8: nothing else
        // goes on the stream during the negotiation).
        Element auth("auth", std::string(ns::sasl));
        auth.set_attr("mechanism", "EXTERNAL");
        auth.add_text(protocol::sasl::base64_encode(local_));
        send(auth);
        state_ = State::sasl;
        return;
    }
    if (!verified && manager_.config().s2s.require_valid_certificate) {
        close(StreamErrorCondition::policy_violation, "certificate required");
        fail(StanzaErrorCondition::remote_server_not_found, "the peer's certificate does not verify");
        return;
    }
    start_dialback();
}

void OutgoingStream::send_unsent_verifies() {
    for (const auto& job : unsent_verifies_) send_verify(job);
    for (auto& job : unsent_verifies_) sent_verifies_.push_back(std::move(job));
    unsent_verifies_.clear();
}

void OutgoingStream::start_dialback() {
    send_unsent_verifies();
    Element result("result", std::string(dialback_ns));
    result.set_attr("from", local_).set_attr("to", remote_);
    result.add_text(manager_.dialback_key(remote_, local_, stream_id_));
    send(result);
    state_ = State::dialback;
}

void OutgoingStream::send_verify(const VerifyJob& job) {
    Element verify("verify", std::string(dialback_ns));
    verify.set_attr("from", local_).set_attr("to", remote_).set_attr("id", job.stream_id);
    verify.add_text(job.key);
    send(verify);
}

void OutgoingStream::add_verify(VerifyJob job) {
    if (failed_ || finished() || closing_) {
        job.done(S2sManager::Verdict::error);
        return;
    }
    if (state_ == State::connecting || state_ == State::opening || state_ == State::starttls ||
        state_ == State::tls_open || state_ == State::sasl || state_ == State::sasl_restart) {
        unsent_verifies_.push_back(std::move(job));
        return;
    }
    send_verify(job);
    sent_verifies_.push_back(std::move(job));
}

void OutgoingStream::established() {
    state_ = State::established;
    last_activity_ = Clock::now();
    spdlog::info("s2s_outgoing_established id={} local={} remote={} mechanism={} queued={}", id_, local_, remote_,
                 mechanism_, queue_.size());
    while (!queue_.empty()) {
        deliver(queue_.front());
        queue_.pop_front();
    }
}

void OutgoingStream::deliver(routing::Stanza& stanza) {
    // The addresses travel on the wire: a server-to-server stanza carries both.
    stanza.el.set_attr("from", stanza.from.to_string());
    stanza.el.set_attr("to", stanza.to.to_string());
    spdlog::debug("s2s_stanza_out id={} name={} from={} to={}", id_, stanza.el.name(), stanza.from.to_string(),
                  stanza.to.to_string());
    send(stanza.el);
    last_activity_ = Clock::now();
}

void OutgoingStream::enqueue(routing::Stanza stanza) {
    if (failed_) {
        manager_.router().bounce(stanza, protocol::stanza_error(fail_condition_));
        return;
    }
    if (closing_ || finished()) {
        leave_manager();
        manager_.send(std::move(stanza));  // a new stream takes it
        return;
    }
    if (state_ == State::established) {
        deliver(stanza);
        return;
    }
    if (queue_.size() >= manager_.config().s2s.max_queued_stanzas) {
        manager_.router().bounce(stanza, protocol::stanza_error(StanzaErrorCondition::resource_constraint,
                                                                "too many stanzas wait for that server"));
        return;
    }
    queue_.push_back(std::move(stanza));
}

void OutgoingStream::fail(StanzaErrorCondition condition, std::string_view why) {
    if (failed_) return;
    failed_ = true;
    fail_condition_ = condition;
    spdlog::info("s2s_outgoing_failed id={} local={} remote={} condition={} reason={} bounced={}", id_, local_, remote_,
                 protocol::to_string(condition), why, queue_.size());
    leave_manager();
    for (auto& stanza : queue_) manager_.router().bounce(stanza, protocol::stanza_error(condition));
    queue_.clear();
    auto verifies = std::move(unsent_verifies_);
    for (auto& job : sent_verifies_) verifies.push_back(std::move(job));
    unsent_verifies_.clear();
    sent_verifies_.clear();
    for (auto& job : verifies) job.done(S2sManager::Verdict::error);
}

void OutgoingStream::leave_manager() {
    if (left_manager_) return;
    left_manager_ = true;
    manager_.outgoing_closed(local_, remote_, this);
}

void OutgoingStream::on_finished() {
    if (state_ != State::established) {
        fail(timed_out_ ? StanzaErrorCondition::remote_server_timeout : StanzaErrorCondition::remote_server_not_found,
             "stream closed during set-up");
    } else {
        fail(StanzaErrorCondition::remote_server_not_found, "stream closed");
    }
    resolver_.cancel();
    spdlog::info("s2s_outgoing_closed id={} local={} remote={}", id_, local_, remote_);
}

}  // namespace parley::server::s2s
