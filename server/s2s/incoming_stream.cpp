// The receiving side of a server-to-server stream (RFC 6120 §4–§5, XEP-0220 §2.1–§2.4).
#include "server/s2s/incoming_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>

#include "protocol/jid.hpp"
#include "protocol/namespaces.hpp"
#include "protocol/sasl/sasl.hpp"
#include "server/log.hpp"
#include "server/s2s/dialback.hpp"
#include "server/s2s/s2s_manager.hpp"

namespace parley::server::s2s {

namespace asio = boost::asio;
namespace ns = protocol::ns;
using protocol::StanzaErrorCondition;
using protocol::StreamErrorCondition;
using protocol::xml::Element;

namespace {
// A stream that has authenticated nothing (and answered no verification) by then is
// dropped: half-open negotiations must not pile up.
constexpr auto negotiation_limit = std::chrono::seconds(60);
}  // namespace

IncomingStream::IncomingStream(S2sManager& manager, tcp::socket socket, std::string peer_ip, bool direct_tls,
                               std::optional<StreamErrorCondition> refusal)
    : S2sStream(manager, std::move(socket), "in"),
      peer_ip_(std::move(peer_ip)),
      direct_tls_(direct_tls),
      refusal_(refusal) {
    opened_at_ = Clock::now();
}

void IncomingStream::start() {
    auto self = std::static_pointer_cast<IncomingStream>(shared_from_this());
    manager_.incoming_opened(self);
    if (refusal_) {
        // Over a connection limit: RFC 6120 §4.9.1.1 lets the error go before the
        // peer's header. A direct TLS connection is just closed, since answering
        // would cost a handshake, which is what the limit saves.
        if (direct_tls_) {
            finish();
            return;
        }
        quiet_close_ = true;
        close(*refusal_, "too many connections");  // then read until the peer is gone
    } else {
        spdlog::info("s2s_incoming_connected id={} ip={} direct_tls={}", id_, peer_ip_, direct_tls_);
    }
    asio::co_spawn(executor(), [self]() { return self->run(); }, [self](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& ex) {
                spdlog::error("s2s_incoming_failed id={} error={}", self->id_, ex.what());
            }
        }
        self->finish();
    });
    start_watchdog();
}

asio::awaitable<void> IncomingStream::run() {
    if (direct_tls_) {
        // XEP-0368: TLS from the first byte, then the stream as after STARTTLS.
        const std::string no_sni;
        const bool secured = co_await tls_handshake(false, no_sni);
        if (!secured) co_return;
    }
    co_await read_loop();
}

void IncomingStream::on_finished() {
    if (refusal_) {
        manager_.incoming_closed(id_);
        return;
    }
    spdlog::info("s2s_incoming_closed id={} ip={} pairs={}", id_, peer_ip_, authenticated_.size());
    manager_.release_incoming(peer_ip_);
    manager_.incoming_closed(id_);
}

void IncomingStream::on_tick(Clock::time_point now) {
    if (authenticated_.empty() && verifying_.empty() && now - opened_at_ >= negotiation_limit &&
        now - last_activity_ >= negotiation_limit) {
        close(StreamErrorCondition::connection_timeout, "negotiation took too long");
    } else if (now - last_activity_ >= manager_.config().s2s.idle_timeout) {
        close_gracefully();  // idle: nothing wrong, just no longer needed
    }
}

asio::awaitable<void> IncomingStream::handle_event(Event ev) {
    switch (ev.kind) {
        case Event::Kind::open:
            handle_open(ev.header);
            break;
        case Event::Kind::element:
            co_await handle_element(std::move(ev.element));
            break;
        case Event::Kind::close:
            close_gracefully();
            break;
    }
}

void IncomingStream::handle_open(const protocol::xml::StreamHeader& header) {
    std::string domain;
    if (auto prepared = protocol::Jid::prep_domain(header.to)) domain = *prepared;
    if (domain.empty() || !manager_.config().is_local(domain)) {
        close(StreamErrorCondition::host_unknown, "this server does not serve that domain");
        return;
    }
    if (!local_domain_.empty() && domain != local_domain_) {
        close(StreamErrorCondition::host_unknown, "the domain changed on a stream restart");
        return;
    }
    local_domain_ = domain;
    stream_id_ = random_hex(16);
    std::string to;
    if (auto from = protocol::Jid::prep_domain(header.from)) to = *from;
    if (sasl_done_ && to != remote_domain_) {
        close(StreamErrorCondition::invalid_from, "the domain changed on a stream restart");
        return;
    }
    remote_domain_ = to;
    send_raw(stream_header(local_domain_, to, stream_id_));
    header_sent_ = true;
    if (header.content_namespace != ns::server) {
        close(StreamErrorCondition::invalid_namespace, "a server stream is in jabber:server");
        return;
    }
    if (header.version.empty() || header.version[0] != '1') {
        close(StreamErrorCondition::unsupported_version, "XMPP 1.0 streams only (TLS is required)");
        return;
    }
    Element features("features", std::string(ns::stream));
    if (!is_tls()) {
        features.add_child("starttls", std::string(ns::tls)).add_child("required");
    } else {
        if (external_possible()) {
            // XEP-0178 §3: the certificate proves the 'from' domain.
            features.add_child("mechanisms", std::string(ns::sasl)).add_child("mechanism").add_text("EXTERNAL");
        }
        features.add_child("dialback", std::string(dialback_feature_ns)).add_child("errors");
    }
    send(features);
}

asio::awaitable<void> IncomingStream::handle_element(Element el) {
    const std::string& name = el.name();
    const std::string& xmlns = el.xmlns();
    if (xmlns == ns::tls && name == "starttls") {
        if (is_tls()) {
            send(Element("failure", std::string(ns::tls)));
            close(StreamErrorCondition::policy_violation, "TLS is already in place");
            co_return;
        }
        send_raw("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        const bool drained = co_await drain();
        if (!drained) co_return;
        restart_parser();  // anything sent in the clear after <starttls/> is dropped
        header_sent_ = false;
        const std::string no_sni;
        co_await tls_handshake(false, no_sni);
        co_return;
    }
    if (!is_tls()) {
        // RFC 6120 §5.3.1: TLS is mandatory to negotiate here before anything else.
        close(StreamErrorCondition::policy_violation, "STARTTLS is required");
        co_return;
    }
    if (xmlns == ns::stream && name == "error") {
        spdlog::info("s2s_peer_stream_error kind=in id={}", id_);
        close_gracefully();  // the peer closes its side next
    } else if (xmlns == ns::sasl && name == "auth") {
        handle_auth(el);
    } else if (xmlns == dialback_ns && name == "result") {
        handle_db_result(el);
    } else if (xmlns == dialback_ns && name == "verify") {
        handle_db_verify(el);
    } else if (xmlns == ns::server && (name == "message" || name == "presence" || name == "iq")) {
        handle_stanza(std::move(el));
    } else {
        close(StreamErrorCondition::unsupported_stanza_type);
    }
}

bool IncomingStream::is_authenticated(const std::string& remote, const std::string& local) const {
    return std::find(authenticated_.begin(), authenticated_.end(), std::pair{remote, local}) != authenticated_.end();
}

void IncomingStream::send_db_error(const char* element, std::string_view from, std::string_view to,
                                   std::string_view id, StanzaErrorCondition condition) {
    Element reply(element, std::string(dialback_ns));
    reply.set_attr("from", std::string(from));
    reply.set_attr("to", std::string(to));
    if (!id.empty()) reply.set_attr("id", std::string(id));
    reply.set_attr("type", "error");
    auto& error = reply.add_child("error", std::string(ns::server));
    error.set_attr("type", "cancel");
    error.add_child(std::string(protocol::to_string(condition)), std::string(ns::stanzas_errors));
    send(reply);
}

void IncomingStream::handle_db_result(const Element& el) {
    if (!el.attr("type").empty()) return;  // a result of ours going the wrong way: ignore
    auto remote = protocol::Jid::prep_domain(el.attr("from"));
    auto local = protocol::Jid::prep_domain(el.attr("to"));
    const std::string key = el.text();
    if (!remote || !local || key.empty()) {
        close(StreamErrorCondition::invalid_xml, "a dialback request names two domains and carries a key");
        return;
    }
    last_activity_ = Clock::now();
    if (!manager_.config().is_local(*local)) {
        // XEP-0220 §2.4 with dialback errors: the pair stays unauthenticated, the stream lives.
        send_db_error("result", *local, *remote, {}, StanzaErrorCondition::item_not_found);
        return;
    }
    if (!manager_.config().s2s.allows(*remote)) {
        spdlog::info("s2s_refused id={} remote={} reason=policy", id_, *remote);
        send_db_error("result", *local, *remote, {}, StanzaErrorCondition::forbidden);
        return;
    }
    if (manager_.config().s2s.require_valid_certificate && !peer_verified_for(*remote)) {
        // XEP-0220 §2.4: not-authorized is the dialback error for a policy that wants
        // a valid certificate; the stream and its other pairs live on.
        spdlog::warn("s2s_refused id={} ip={} remote={} reason=certificate", id_, peer_ip_, *remote);
        send_db_error("result", *local, *remote, {}, StanzaErrorCondition::not_authorized);
        return;
    }
    if (is_authenticated(*remote, *local)) {
        Element valid("result", std::string(dialback_ns));
        valid.set_attr("from", *local).set_attr("to", *remote).set_attr("type", "valid");
        send(valid);
        return;
    }
    verifying_.emplace_back(*remote, *local);
    spdlog::info("s2s_dialback_verifying id={} remote={} local={}", id_, *remote, *local);
    auto weak = std::weak_ptr<IncomingStream>(std::static_pointer_cast<IncomingStream>(shared_from_this()));
    auto ex = executor();
    manager_.verify(*local, *remote, stream_id_, key,
                    [weak, ex, l = *local, r = *remote](S2sManager::Verdict v) {
                        asio::post(ex, [weak, l, r, v] {
                            if (auto self = weak.lock()) self->on_verdict(l, r, static_cast<int>(v));
                        });
                    });
}

void IncomingStream::on_verdict(std::string local, std::string remote, int verdict) {
    auto it = std::find(verifying_.begin(), verifying_.end(), std::pair{remote, local});
    if (it != verifying_.end()) verifying_.erase(it);
    if (finished() || closing_) return;
    const auto v = static_cast<S2sManager::Verdict>(verdict);
    spdlog::log(v == S2sManager::Verdict::invalid ? spdlog::level::warn : spdlog::level::info,
                "s2s_dialback_{} id={} remote={} local={}",
                v == S2sManager::Verdict::valid ? "valid" : v == S2sManager::Verdict::invalid ? "invalid" : "error", id_,
                remote, local);
    if (v == S2sManager::Verdict::error) {
        send_db_error("result", local, remote, {}, StanzaErrorCondition::remote_server_not_found);
        return;
    }
    Element reply("result", std::string(dialback_ns));
    reply.set_attr("from", local).set_attr("to", remote);
    reply.set_attr("type", v == S2sManager::Verdict::valid ? "valid" : "invalid");
    send(reply);
    if (v == S2sManager::Verdict::valid) {
        authenticated_.emplace_back(remote, local);
        last_activity_ = Clock::now();
        spdlog::info("s2s_incoming_authenticated id={} remote={} local={} mechanism=dialback", id_, remote, local);
    } else {
        // XEP-0220 §2.1.2 (RFC 3920 §8.3 step 10): a key that does not verify ends the stream.
        close_gracefully();
    }
}

bool IncomingStream::external_possible() const {
    return is_tls() && !sasl_done_ && !remote_domain_.empty() && manager_.config().s2s.allows(remote_domain_) &&
           peer_verified_for(remote_domain_);
}

void IncomingStream::handle_auth(const Element& el) {
    auto failure = [this](const char* why) {
        spdlog::warn("s2s_sasl_external_failed id={} ip={} remote={} reason={}", id_, peer_ip_, remote_domain_, why);
        // RFC 6120 §6.4.5: the stream stays open; the peer may try dialback instead.
        Element f("failure", std::string(ns::sasl));
        f.add_child("not-authorized");
        send(f);
    };
    if (sasl_done_) {
        // RFC 6120 §6.4.6 has no second authentication on a stream.
        close(StreamErrorCondition::policy_violation, "SASL is done on this stream");
        return;
    }
    if (el.attr("mechanism") != "EXTERNAL") {
        Element f("failure", std::string(ns::sasl));
        f.add_child("invalid-mechanism");
        send(f);
        return;
    }
    if (!external_possible()) {
        failure(remote_domain_.empty() ? "no_from" : "certificate");
        return;
    }
    // XEP-0178 §3: no authorization identity ("=" or empty) means the 'from' domain;
    // one that is given must be that domain.
    const std::string body = el.text();
    if (body != "=" && !body.empty()) {
        auto authzid = protocol::sasl::base64_decode(body);
        auto prepared = authzid ? protocol::Jid::prep_domain(*authzid) : std::nullopt;
        if (!prepared || *prepared != remote_domain_) {
            failure("authzid");
            return;
        }
    }
    send(Element("success", std::string(ns::sasl)));
    sasl_done_ = true;
    authenticated(remote_domain_, "EXTERNAL");
    // RFC 6120 §6.4.6: the peer opens a new stream over the same TLS.
    restart_parser();
    header_sent_ = false;
}

void IncomingStream::authenticated(const std::string& remote, const char* mechanism) {
    if (!is_authenticated(remote, local_domain_)) authenticated_.emplace_back(remote, local_domain_);
    last_activity_ = Clock::now();
    spdlog::info("s2s_incoming_authenticated id={} remote={} local={} mechanism={}", id_, remote, local_domain_,
                 mechanism);
}

void IncomingStream::handle_db_verify(const Element& el) {
    if (!el.attr("type").empty()) return;  // answers travel on our outgoing streams
    const std::string receiving(el.attr("from"));
    const std::string originating(el.attr("to"));
    const std::string id(el.attr("id"));
    if (receiving.empty() || originating.empty() || id.empty()) {
        close(StreamErrorCondition::invalid_xml, "a verification request names two domains and a stream id");
        return;
    }
    last_activity_ = Clock::now();
    if (!manager_.config().is_local(originating)) {
        send_db_error("verify", originating, receiving, id, StanzaErrorCondition::item_not_found);
        return;
    }
    const std::string expected = manager_.dialback_key(receiving, originating, id);
    const bool valid = keys_equal(expected, el.text());
    Element reply("verify", std::string(dialback_ns));
    reply.set_attr("from", originating).set_attr("to", receiving).set_attr("id", id);
    reply.set_attr("type", valid ? "valid" : "invalid");
    send(reply);
}

void IncomingStream::handle_stanza(Element el) {
    auto from = protocol::Jid::parse(el.attr("from"));
    auto to = protocol::Jid::parse(el.attr("to"));
    if (!from || !to || from->empty() || to->empty()) {
        // RFC 6120 §8.1.1.2 and §8.1.2.2: a server-to-server stanza carries both.
        close(StreamErrorCondition::improper_addressing, "stanzas between servers carry 'from' and 'to'");
        return;
    }
    if (!manager_.config().is_local(to->domain())) {
        close(StreamErrorCondition::host_unknown, "this server does not serve the stanza's 'to' domain");
        return;
    }
    if (!is_authenticated(from->domain(), to->domain())) {
        // RFC 6120 §4.9.3.9: the 'from' domain was not authenticated on this stream.
        close(StreamErrorCondition::invalid_from, "that domain pair is not authenticated on this stream");
        return;
    }
    last_activity_ = Clock::now();
    spdlog::debug("s2s_stanza_in id={} name={} from={} to={}", id_, el.name(), from->to_string(), to->to_string());
    routing::Stanza stanza{std::move(el), std::move(*from), std::move(*to), 0};
    manager_.router().route(std::move(stanza));
}

}  // namespace parley::server::s2s
