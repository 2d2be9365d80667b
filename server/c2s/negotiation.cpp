// Stream negotiation of a client session (RFC 6120 §4.3, §5, §6, §7): stream headers,
// features, STARTTLS, SASL and resource binding.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/rand.h>

#include "protocol/namespaces.hpp"
#include "protocol/hex.hpp"
#include "protocol/sasl/sasl.hpp"
#include "server/c2s/session.hpp"
#include "server/log.hpp"
#include "server/net/tls.hpp"

namespace parley::server::c2s {

namespace asio = boost::asio;
namespace ns = protocol::ns;
using protocol::StreamErrorCondition;
using protocol::xml::Element;

namespace {

std::string random_id() {
    unsigned char raw[12];
    RAND_bytes(raw, sizeof raw);
    return protocol::to_hex(raw, sizeof raw);
}

// "1.0", "1.1": major 1. Absent means pre-1.0 (RFC 6120 §4.7.5), which we do not speak.
bool is_supported_version(std::string_view v) {
    const auto dot = v.find('.');
    return dot != std::string_view::npos && v.substr(0, dot) == "1" && dot + 1 < v.size();
}

Element sasl_element(std::string_view name) { return Element(std::string(name), std::string(ns::sasl)); }

}  // namespace

void Session::on_stream_open(protocol::xml::StreamHeader header) {
    pending_.push_back(Event{Event::Kind::open, std::move(header), {}});
}

void Session::on_stanza(Element stanza) {
    if (state_ == State::bound && pending_.empty()) {
        handle_bound_stanza(std::move(stanza));  // the hot path: no queue, no coroutine
        return;
    }
    pending_.push_back(Event{Event::Kind::stanza, {}, std::move(stanza)});
}

void Session::on_stream_close() { pending_.push_back(Event{Event::Kind::close, {}, {}}); }

asio::awaitable<void> Session::handle_event(Event ev) {
    switch (ev.kind) {
        case Event::Kind::open:
            handle_stream_open(ev.header);
            break;
        case Event::Kind::stanza:
            if (state_ == State::bound) {
                handle_bound_stanza(std::move(ev.stanza));
            } else {
                co_await handle_negotiation(std::move(ev.stanza));
            }
            break;
        case Event::Kind::close:
            close_gracefully();
            break;
    }
}

void Session::handle_stream_open(const protocol::xml::StreamHeader& header) {
    std::string domain = ctx_.config.hosts.front();
    if (!header.to.empty()) {
        auto prepared = protocol::Jid::prep_domain(header.to);
        if (!prepared || !ctx_.config.serves(*prepared)) {
            close(StreamErrorCondition::host_unknown, "this server does not serve that domain");
            return;
        }
        domain = *prepared;
    }
    if (!stream_domain_.empty() && domain != stream_domain_) {
        close(StreamErrorCondition::host_unknown, "the domain changed on a stream restart");
        return;
    }
    stream_domain_ = domain;
    std::string open = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                       "xmlns:stream='http://etherx.jabber.org/streams' id='" +
                       random_id() + "' from='";
    protocol::xml::escape_attr(domain, open);
    open += "' version='1.0' xml:lang='en'>";
    send_raw(open);
    header_sent_ = true;
    if (header.content_namespace != ns::client) {
        close(StreamErrorCondition::invalid_namespace, "a client stream is in jabber:client");
        return;
    }
    if (!is_supported_version(header.version)) {
        close(StreamErrorCondition::unsupported_version, "XMPP 1.0 streams only");
        return;
    }
    if (refused_) {
        close(StreamErrorCondition::policy_violation, "too many connections");
        return;
    }
    send_features();
}

void Session::send_features() {
    Element features("features", std::string(ns::stream));
    if (state_ == State::authenticated) {
        features.add_child("bind", std::string(ns::bind));
        features.add_child("session", std::string(ns::session)).add_child("optional");
        features.add_child("ver", "urn:xmpp:features:rosterver");  // RFC 6121 §2.6.1
        for (const auto& f : ctx_.bound_features) features.add_child(f);
    } else {
        if (!is_tls()) {
            auto& starttls = features.add_child("starttls", std::string(ns::tls));
            if (ctx_.config.c2s.require_tls) starttls.add_child("required");
        }
        auto mechanisms = offered_mechanisms(ctx_.config, is_tls());
        if (!mechanisms.empty()) {
            auto& m = features.add_child("mechanisms", std::string(ns::sasl));
            for (auto& name : mechanisms) m.add_child("mechanism").add_text(std::move(name));
        }
        if (is_tls()) {
            // XEP-0440: the channel-binding types this connection supports.
            auto& cb = features.add_child("sasl-channel-binding", std::string(ns::sasl_cb));
            if (!net::tls_exporter_binding(tls_->native_handle()).empty()) {
                cb.add_child("channel-binding").set_attr("type", "tls-exporter");
            }
            cb.add_child("channel-binding").set_attr("type", "tls-server-end-point");
        }
    }
    // XEP-0478: the limits this stream enforces (not in clear text, where the only
    // feature is the way to TLS).
    if (!is_tls() && ctx_.config.c2s.require_tls) {
        send(features);
        return;
    }
    auto& limits = features.add_child("limits", std::string(ns::stream_limits));
    limits.add_child("max-bytes").add_text(std::to_string(ctx_.config.limits.max_stanza_bytes));
    limits.add_child("idle-seconds").add_text(std::to_string(ctx_.config.c2s.idle_timeout.count()));
    send(features);
}

void Session::restart_stream() {
    parser_.reset();
    pending_.clear();
    restarted_ = true;
    header_sent_ = false;
}

asio::awaitable<void> Session::handle_negotiation(Element el) {
    const std::string& name = el.name();
    const std::string& xmlns = el.xmlns();
    if (xmlns == ns::tls && name == "starttls") {
        if (is_tls() || state_ != State::negotiating) {
            send(Element("failure", std::string(ns::tls)));
            close(StreamErrorCondition::policy_violation, "TLS is already in place");
            co_return;
        }
        // <proceed/> goes out after whatever is queued (a client that pipelines
        // <starttls/> behind its header has not read our features yet), and must be on
        // the wire before the handshake starts.
        out_ += "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
        flush();
        while (writing_ || !out_.empty()) {
            if (state_ == State::closing || finished_ || !socket_.is_open()) co_return;
            asio::steady_timer wait(socket_.get_executor(), std::chrono::milliseconds(1));
            co_await wait.async_wait(asio::use_awaitable);
            if (!writing_ && !out_.empty()) flush();
        }
        restart_stream();  // anything sent in the clear after <starttls/> is dropped
        if (co_await tls_handshake()) flush();
        co_return;
    }
    if (xmlns == ns::sasl && state_ == State::negotiating) {
        co_await handle_sasl(std::move(el));
        co_return;
    }
    if (state_ == State::authenticated && name == "iq" && xmlns == ns::client) {
        const Element* payload = el.first_child_element();
        if (payload && payload->name() == "bind" && payload->xmlns() == ns::bind && el.attr("type") == "set") {
            handle_bind(el);
            co_return;
        }
    }
    close(StreamErrorCondition::not_authorized, "authenticate and bind a resource first");
}

asio::awaitable<void> Session::handle_sasl(Element el) {
    using protocol::sasl::Failure;
    auto send_failure = [this](Failure f) {
        sasl_.reset();
        Element failure = sasl_element("failure");
        failure.add_child(std::string(protocol::sasl::to_string(f)));
        send(failure);
        spdlog::info("auth_failed id={} ip={} condition={}", id_, peer_ip_, protocol::sasl::to_string(f));
        if (++auth_failures_ >= ctx_.config.limits.max_auth_failures) {
            close(StreamErrorCondition::policy_violation, "too many authentication failures");
        }
    };
    const std::string& name = el.name();
    if (name == "abort") {
        send_failure(Failure::aborted);
        co_return;
    }
    if (name != "auth" && name != "response") {
        close(StreamErrorCondition::unsupported_stanza_type);
        co_return;
    }
    if (!is_tls() && ctx_.config.c2s.require_tls) {
        send_failure(Failure::encryption_required);
        co_return;
    }
    // RFC 6120 §6.4.2: "=" is an empty response, no text at all is no initial response.
    const std::string text = el.text();
    std::optional<std::string> data;
    if (!text.empty()) {
        data = protocol::sasl::base64_decode(text);
        if (!data) {
            send_failure(Failure::incorrect_encoding);
            co_return;
        }
    }
    SaslNegotiation::Outcome outcome;
    if (name == "auth") {
        const std::string mechanism(el.attr("mechanism"));
        const auto offered = offered_mechanisms(ctx_.config, is_tls());
        if (sasl_ || std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
            send_failure(sasl_ ? Failure::malformed_request : Failure::invalid_mechanism);
            co_return;
        }
        protocol::sasl::ChannelBindings cb;
        if (is_tls()) {
            cb.tls_exporter = net::tls_exporter_binding(tls_->native_handle());
            cb.tls_server_end_point = net::tls_server_end_point_binding(tls_->native_handle());
            cb.plus_offered = std::any_of(offered.begin(), offered.end(),
                                          [](const std::string& m) { return m.ends_with("-PLUS"); });
        }
        sasl_ = std::make_unique<SaslNegotiation>(ctx_.config, ctx_.db, stream_domain_, mechanism, std::move(cb));
        outcome = co_await sasl_->start(std::move(data));
    } else {
        if (!sasl_) {
            send_failure(Failure::malformed_request);
            co_return;
        }
        std::string response = data ? std::move(*data) : std::string();  // a named local: see lookup()
        outcome = co_await sasl_->respond(std::move(response));
    }
    if (state_ == State::closing) co_return;
    switch (outcome.kind) {
        case SaslNegotiation::Outcome::Kind::challenge: {
            Element challenge = sasl_element("challenge");
            challenge.add_text(outcome.data.empty() ? "=" : protocol::sasl::base64_encode(outcome.data));
            send(challenge);
            break;
        }
        case SaslNegotiation::Outcome::Kind::failure:
            send_failure(outcome.failure);
            break;
        case SaslNegotiation::Outcome::Kind::success: {
            Element success = sasl_element("success");
            if (!outcome.data.empty()) success.add_text(protocol::sasl::base64_encode(outcome.data));
            send(success);
            auto jid = protocol::Jid::from_parts(outcome.localpart, stream_domain_);
            const std::string mechanism = sasl_->mechanism();
            sasl_.reset();
            if (!jid) {
                close(StreamErrorCondition::internal_server_error);
                co_return;
            }
            jid_ = *jid;
            jid_string_ = jid_.to_string();
            state_ = State::authenticated;
            spdlog::info("auth_succeeded id={} ip={} jid={} mechanism={}", id_, peer_ip_, jid_string_, mechanism);
            restart_stream();
            break;
        }
    }
}

void Session::handle_bind(const Element& iq) {
    const Element* bind = iq.first_child_element();
    std::string resource = bind->child_text("resource", ns::bind);
    if (resource.empty()) {
        resource = random_id();
    } else {
        auto prepared = protocol::Jid::prep_resource(resource);
        if (!prepared) {
            reply_error(iq, protocol::StanzaErrorCondition::bad_request);
            return;
        }
        resource = std::move(*prepared);
    }
    jid_ = jid_.with_resource(std::move(resource));
    jid_string_ = jid_.to_string();
    routing::SessionRef ref{weak_from_this(), socket_.get_executor(), id_};
    if (auto old = ctx_.sessions.bind(jid_, std::move(ref))) {
        // RFC 6120 §7.7.2.2: the newer session wins; the older one is told why it ends.
        spdlog::info("resource_conflict jid={} old_session={} new_session={}", jid_string_, old->id, id_);
        old->close(StreamErrorCondition::conflict);
    }
    state_ = State::bound;
    if (watchdog_timer_) watchdog_timer_->cancel();  // bound: its deadlines change
    Element result("iq", std::string(ns::client));
    result.set_attr("type", "result");
    if (auto id = iq.find_attr("id")) result.set_attr("id", *id);
    result.add_child("bind", std::string(ns::bind)).add_child("jid").add_text(jid_string_);
    send(result);
    spdlog::info("session_bound id={} jid={} ip={} tls={}", id_, jid_string_, peer_ip_, is_tls());
}

}  // namespace parley::server::c2s
