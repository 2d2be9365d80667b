// Stanzas of a bound client session (RFC 6120 §8): shape checks, 'from' stamping,
// then the StanzaFromClient hook and the router.
#include "protocol/namespaces.hpp"
#include "server/c2s/session.hpp"
#include "server/log.hpp"
#include "server/modules/csi/presence_hold.hpp"

namespace parley::server::c2s {

namespace ns = protocol::ns;
using protocol::StanzaErrorCondition;
using protocol::StreamErrorCondition;
using protocol::xml::Element;

void Session::reply_error(const Element& stanza, StanzaErrorCondition c) {
    if (stanza.attr("type") == "error") return;
    Element reply = protocol::make_error_reply(stanza, {c, {}, {}, {}});
    reply.remove_attr("from");
    reply.set_attr("to", jid_string_);
    send(reply);
}

bool Session::offers_csi() const {
    for (const auto& f : ctx_.bound_features) {
        if (f.xmlns() == ns::csi) return true;
    }
    return false;
}

void Session::set_client_active(bool active) {
    if (active) {
        release_held_presence();
        held_presence_.reset();
    } else if (!held_presence_) {
        held_presence_ = std::make_unique<modules::csi::PresenceHold>(ctx_.config.limits.max_csi_held_presences);
    }
}

bool Session::hold_while_inactive(Element& stanza) {
    const std::string_view from = stanza.attr("from");
    if (stanza.name() == "presence") {
        const std::string_view type = stanza.attr("type");
        // Only availability is superseded by a later update; subscription requests and
        // errors are not, so they go out at once (after what their sender had held).
        if (type.empty() || type == "unavailable") {
            if (!held_presence_->hold(std::string(from), std::move(stanza))) release_held_presence();
            return true;
        }
    }
    if (!held_presence_->empty()) {
        if (auto held = held_presence_->take(from)) send(*held);
    }
    return false;
}

void Session::release_held_presence() {
    if (!held_presence_) return;
    for (const auto& presence : held_presence_->take_all()) send(presence);
}

void Session::handle_bound_stanza(Element el) {
    const std::string& name = el.name();
    // XEP-0352 nonzas: top-level, not stanzas, and not answered.
    if (el.xmlns() == ns::csi && (name == "active" || name == "inactive") && offers_csi()) {
        set_client_active(name == "active");
        return;
    }
    if (el.xmlns() != ns::client || (name != "message" && name != "presence" && name != "iq")) {
        close(StreamErrorCondition::unsupported_stanza_type);
        return;
    }
    protocol::Jid to;
    if (const std::string* to_attr = el.find_attr("to")) {
        auto parsed = protocol::Jid::parse(*to_attr);
        if (!parsed) {
            reply_error(el, StanzaErrorCondition::jid_malformed);
            return;
        }
        to = std::move(*parsed);
        // Stanzas carry the prepared address onward.
        el.set_attr("to", to.to_string());
    }
    if (name == "iq") {
        const std::string_view type = el.attr("type");
        const bool is_request = type == "get" || type == "set";
        if (!el.has_attr("id") || (!is_request && type != "result" && type != "error") ||
            (is_request && el.child_element_count() != 1)) {
            reply_error(el, StanzaErrorCondition::bad_request);
            return;
        }
        const Element* payload = el.first_child_element();
        if (type == "set" && payload->xmlns() == ns::session && (to.empty() || to.to_string() == stream_domain_)) {
            // RFC 3921 session establishment: a no-op kept for old clients.
            Element result("iq", std::string(ns::client));
            result.set_attr("type", "result");
            result.set_attr("id", std::string(el.attr("id")));
            send(result);
            return;
        }
        if (type == "set" && payload->xmlns() == ns::bind) {
            reply_error(el, StanzaErrorCondition::not_allowed);  // one resource per stream
            return;
        }
    } else if (name == "presence" && to.empty()) {
        const std::string_view type = el.attr("type");
        if (type.empty()) bound_presence_available_ = true;
        if (type == "unavailable") bound_presence_available_ = false;
    }
    el.set_attr("from", jid_string_);  // a client never chooses its own 'from'
    routing::Stanza stanza{std::move(el), jid_, std::move(to), id_};
    modules::StanzaFromClient ev{stanza};
    if (ctx_.hooks.stanza_from_client.run(ev) == modules::HookResult::stop) return;
    ctx_.router.route(std::move(stanza));
}

}  // namespace parley::server::c2s
