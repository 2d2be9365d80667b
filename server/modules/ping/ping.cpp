#include "server/modules/ping/ping.hpp"

#include "protocol/namespaces.hpp"

namespace parley::server::modules {

void Ping::start(ModuleContext& ctx) {
    auto pong = [](const routing::Stanza&) -> boost::asio::awaitable<routing::IqResult> {
        co_return std::optional<protocol::xml::Element>{};
    };
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::ping), routing::IqScope::server, pong);
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::ping), routing::IqScope::account, pong);
    ctx.add_disco_feature(std::string(protocol::ns::ping));
}

}  // namespace parley::server::modules
