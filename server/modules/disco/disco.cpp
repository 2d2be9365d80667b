#include "server/modules/disco/disco.hpp"

#include <algorithm>
#include <memory>

#include "protocol/namespaces.hpp"

namespace parley::server::modules {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;

namespace {

Element info_reply(std::string_view category, std::string_view type, const std::vector<std::string>& features) {
    Element q("query", std::string(protocol::ns::disco_info));
    q.add_child("identity").set_attr("category", std::string(category)).set_attr("type", std::string(type));
    for (const auto& f : features) q.add_child("feature").set_attr("var", f);
    return q;
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

bool has_node(const routing::Stanza& iq) {
    const Element* q = iq.el.first_child_element();
    return q && q->has_attr("node");
}

}  // namespace

void Disco::start(ModuleContext& ctx) {
    auto server = std::make_shared<std::vector<std::string>>(ctx.server_features());
    server->push_back(std::string(protocol::ns::disco_info));
    server->push_back(std::string(protocol::ns::disco_items));
    *server = sorted_unique(std::move(*server));
    auto account = std::make_shared<std::vector<std::string>>(ctx.account_features());
    account->push_back(std::string(protocol::ns::disco_info));
    *account = sorted_unique(std::move(*account));
    auto extensions = std::make_shared<std::vector<Element>>(ctx.disco_extensions());

    using routing::IqResult;
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_info), routing::IqScope::server,
              [server, extensions](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  if (has_node(iq)) co_return StanzaError{StanzaErrorCondition::item_not_found, {}, {}, {}};
                  Element reply = info_reply("server", "im", *server);
                  for (const Element& form : *extensions) reply.add_child(form);
                  co_return std::optional<Element>(std::move(reply));
              });
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_items), routing::IqScope::server,
              [](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  if (has_node(iq)) co_return StanzaError{StanzaErrorCondition::item_not_found, {}, {}, {}};
                  co_return std::optional<Element>(Element("query", std::string(protocol::ns::disco_items)));
              });
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_info), routing::IqScope::account,
              [account](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  if (iq.from.bare() != iq.to.bare()) {
                      co_return StanzaError{StanzaErrorCondition::service_unavailable, {}, {}, {}};
                  }
                  if (has_node(iq)) co_return StanzaError{StanzaErrorCondition::item_not_found, {}, {}, {}};
                  co_return std::optional<Element>(info_reply("account", "registered", *account));
              });
}

}  // namespace parley::server::modules
