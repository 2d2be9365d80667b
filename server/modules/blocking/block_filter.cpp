#include "server/modules/blocking/block_filter.hpp"

#include "server/routing/router.hpp"

namespace parley::server::modules::blocking {

using protocol::StanzaErrorCondition;

namespace {

// The account's own server is never blocked: blocking its domain means its users.
bool is_server_of(const protocol::Jid& entity, const protocol::Jid& account) {
    return !entity.has_local() && !entity.has_resource() && entity.domain() == account.domain();
}

// XEP-0191 §3.3: the user appears offline to a blocked entity.
HookResult filter_inbound(const BlockList& list, routing::Router& router, routing::Stanza& s) {
    if (s.from.empty() || is_server_of(s.from, s.to)) return HookResult::pass;
    if (!list.is_blocked(s.to.bare(), s.from)) return HookResult::pass;
    const std::string& name = s.el.name();
    const std::string_view type = s.el.attr("type");
    const bool answers = name == "message" || (name == "iq" && (type == "get" || type == "set"));
    // bounce() never answers an error stanza.
    if (answers) router.bounce(s, protocol::stanza_error(StanzaErrorCondition::service_unavailable));
    return HookResult::stop;
}

HookResult filter_outbound(const BlockList& list, routing::Router& router, routing::Stanza& s) {
    if (s.to.empty() || s.to.bare() == s.from.bare() || is_server_of(s.to, s.from)) return HookResult::pass;
    if (!list.is_blocked(s.from.bare(), s.to)) return HookResult::pass;
    const std::string& name = s.el.name();
    const std::string_view type = s.el.attr("type");
    // An error to presence or to an answer would tell the client nothing it can act
    // on; they are just not sent.
    const bool answers = name == "message" || (name == "iq" && (type == "get" || type == "set"));
    if (answers) router.bounce(s, blocked_error());
    return HookResult::stop;
}

}  // namespace

protocol::StanzaError blocked_error() {
    // XEP-0191 §3.3's example uses type 'cancel': retrying unchanged will not help.
    return protocol::StanzaError{StanzaErrorCondition::not_acceptable, {}, protocol::StanzaErrorType::cancel,
                                 protocol::xml::Element("blocked", std::string(ns_blocking_errors))};
}

void install_filters(ModuleContext& ctx, const BlockList& list) {
    routing::Router* router = &ctx.router();
    const BlockList* l = &list;
    ctx.hooks().stanza_to_user.add(priority::filter, [l, router](StanzaToUser& ev) {
        return filter_inbound(*l, *router, ev.stanza);
    });
    ctx.hooks().stanza_from_client.add(priority::filter, [l, router](StanzaFromClient& ev) {
        return filter_outbound(*l, *router, ev.stanza);
    });
}

}  // namespace parley::server::modules::blocking
