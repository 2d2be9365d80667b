#include "server/routing/router.hpp"

#include "protocol/namespaces.hpp"
#include "server/log.hpp"

namespace parley::server::routing {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;

Router::Router(const Config& config, SessionRegistry& sessions, modules::Hooks& hooks, IqDispatcher& iq)
    : config_(config), sessions_(sessions), hooks_(hooks), iq_(iq) {}

void Router::route(Stanza stanza) {
    const std::string& name = stanza.el.name();
    if (stanza.to.empty()) {
        if (name == "presence") {
            modules::PresenceBroadcast ev{stanza};
            hooks_.presence_broadcast.run(ev);
            return;
        }
        stanza.to = stanza.from.bare();  // RFC 6120 §10.3: the sender's own account
    }
    if (ServiceHandler* service = service_for(stanza.to.domain())) {
        (*service)(std::move(stanza));
        return;
    }
    if (!config_.serves(stanza.to.domain())) {
        if (remote_ && !config_.is_local(stanza.to.domain())) {
            remote_(std::move(stanza));  // federation
            return;
        }
        bounce(stanza, {StanzaErrorCondition::remote_server_not_found, {}, {}, {}});
        return;
    }
    if (!stanza.to.has_local()) {
        route_to_server(std::move(stanza));
    } else {
        route_to_account(std::move(stanza));
    }
}

void Router::add_service(std::string domain, ServiceHandler handler) {
    services_.emplace_back(std::move(domain), std::move(handler));
}

Router::ServiceHandler* Router::service_for(const std::string& domain) {
    for (auto& [service_domain, handler] : services_) {
        if (domain == service_domain) return &handler;
    }
    return nullptr;
}

void Router::route_to_server(Stanza stanza) {
    const std::string& name = stanza.el.name();
    if (name == "iq") {
        const std::string_view type = stanza.el.attr("type");
        if (type == "result" || type == "error") {
            tracker_.complete(stanza.from, stanza.el);  // answers to our own requests
            return;
        }
        if (stanza.to.has_resource()) {
            bounce(stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
            return;
        }
        if (!iq_.dispatch(stanza, IqScope::server, *this)) {
            bounce(stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        }
        return;
    }
    if (name == "message") {
        const std::string_view type = stanza.el.attr("type");
        if (type != "error" && type != "headline" && type != "groupchat") {
            bounce(stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        }
        return;
    }
    // Presence to the server itself carries nothing we act on yet.
}

void Router::route_to_account(Stanza stanza) {
    if (!is_from_owner(stanza) && !hooks_.stanza_to_user.empty()) {
        modules::StanzaToUser ev{stanza};
        if (hooks_.stanza_to_user.run(ev) == modules::HookResult::stop) return;
    }
    const std::string& name = stanza.el.name();
    if (name == "message") {
        modules::MessageToUser ev{stanza};
        hooks_.message_to_user.run(ev);
        return;
    }
    if (name == "presence") {
        modules::PresenceToUser ev{stanza};
        hooks_.presence_to_user.run(ev);
        return;
    }
    // iq
    const std::string_view type = stanza.el.attr("type");
    if (stanza.to.has_resource()) {
        if (deliver_to_resource(stanza.to, stanza.el)) return;
        // RFC 6121 §8.5.3.1: no such resource → service-unavailable (answers are dropped).
        if (type == "get" || type == "set") {
            bounce(stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        }
        return;
    }
    if (type == "result" || type == "error") {
        tracker_.complete(stanza.from, stanza.el);  // an answer to a request sent in the account's name
        return;
    }
    if (!iq_.dispatch(stanza, IqScope::account, *this)) {
        bounce(stanza, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
    }
}

void Router::send_iq(Element iq, const protocol::Jid& from, const protocol::Jid& to,
                     std::chrono::milliseconds timeout, IqTracker::Callback done) {
    const bool remote = remote_ && !config_.is_local(to.domain());
    if ((!remote && !config_.serves(to.domain())) || !to.has_resource()) {
        done(std::nullopt);
        return;
    }
    const std::string id = tracker_.add(to, timeout, std::move(done));
    iq.set_attr("id", id);
    iq.set_attr("from", from.to_string());
    iq.set_attr("to", to.to_string());
    if (remote) {
        // Over federation: the answer, or the bounce when the server cannot be
        // reached, comes back to `from` and completes the request.
        remote_(Stanza{std::move(iq), from, to, 0});
        return;
    }
    if (!deliver_to_resource(to, std::move(iq))) tracker_.fail(id);
}

bool Router::deliver_to_resource(const protocol::Jid& full, Element el) {
    auto ref = sessions_.find(full);
    if (!ref) return false;
    ref->deliver(std::move(el));
    return true;
}

void Router::bounce(const Stanza& stanza, StanzaError error) {
    if (stanza.el.attr("type") == "error") return;
    Element reply = protocol::make_error_reply(stanza.el, error);
    // The reply comes from the address the sender wrote to.
    reply.set_attr("from", stanza.to.empty() ? stanza.from.bare_string() : stanza.to.to_string());
    reply.set_attr("to", stanza.from.to_string());
    Stanza out{std::move(reply), stanza.to.empty() ? stanza.from.bare() : stanza.to, stanza.from, 0};
    if (config_.serves(out.to.domain())) {
        if (out.to.has_resource()) {
            deliver_to_resource(out.to, std::move(out.el));
        } else if (out.el.name() == "iq") {
            tracker_.complete(out.from, out.el);  // a request of ours that could not be sent
        }
        return;
    }
    if (ServiceHandler* service = service_for(out.to.domain())) {
        (*service)(std::move(out));  // a room learns that an occupant cannot be reached
        return;
    }
    if (remote_ && !config_.is_local(out.to.domain())) {
        remote_(std::move(out));  // a sender on another server hears of it too (federation)
    }
}

}  // namespace parley::server::routing
