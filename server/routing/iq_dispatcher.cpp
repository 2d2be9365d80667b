#include "server/routing/iq_dispatcher.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <stdexcept>

#include "server/log.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"

namespace parley::server::routing {

using protocol::xml::Element;

void IqDispatcher::add(IqType type, std::string xmlns, IqScope scope, IqHandler handler) {
    auto key = std::make_tuple(type, xmlns, scope);
    if (handlers_.count(key)) throw std::logic_error("iq handler registered twice: " + xmlns);
    handlers_.emplace(std::move(key), std::move(handler));
}

Element make_iq_result(const Stanza& request, std::optional<Element> payload) {
    Element reply("iq", request.el.xmlns());
    reply.set_attr("type", "result");
    if (auto id = request.el.find_attr("id")) reply.set_attr("id", *id);
    reply.set_attr("from", request.to.empty() ? request.from.bare_string() : request.to.to_string());
    reply.set_attr("to", request.from.to_string());
    if (payload) reply.add_child(std::move(*payload));
    return reply;
}

bool IqDispatcher::dispatch(Stanza& iq_in, IqScope scope, Router& router) {
    Stanza& iq = iq_in;
    const std::string_view type_attr = iq.el.attr("type");
    const IqType type = type_attr == "set" ? IqType::set : IqType::get;
    const Element* payload = iq.el.first_child_element();
    if (!payload) return false;
    auto it = handlers_.find(std::make_tuple(type, payload->xmlns(), scope));
    if (it == handlers_.end()) return false;
    auto* ctx = net::IoPool::current();
    if (!ctx) throw std::logic_error("iq dispatched outside an I/O thread");
    boost::asio::co_spawn(
        *ctx,
        [&router, handler = &it->second, iq = std::move(iq)]() -> boost::asio::awaitable<void> {
            IqResult result = protocol::StanzaError{protocol::StanzaErrorCondition::internal_server_error, {}, {}, {}};
            try {
                result = co_await (*handler)(iq);
            } catch (const std::exception& ex) {
                spdlog::error("iq_handler_failed xmlns={} error={}", iq.el.first_child_element()->xmlns(), ex.what());
            }
            if (auto* err = std::get_if<protocol::StanzaError>(&result)) {
                router.bounce(iq, std::move(*err));
            } else {
                Element reply = make_iq_result(iq, std::move(std::get<0>(result)));
                if (!router.is_local_domain(iq.from.domain())) {
                    // A requester on another server (federation): the answer is routed there.
                    Stanza out{std::move(reply), iq.to.empty() ? iq.from.bare() : iq.to, iq.from, 0};
                    router.route(std::move(out));
                } else if (!router.deliver_to_resource(iq.from, std::move(reply))) {
                    spdlog::debug("iq_reply_dropped to={}", iq.from.to_string());
                }
            }
        },
        boost::asio::detached);
    return true;
}

}  // namespace parley::server::routing
