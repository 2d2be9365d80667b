#include "server/modules/last/last.hpp"

#include <chrono>

namespace parley::server::modules {

namespace {
constexpr std::string_view ns_last = "jabber:iq:last";
}  // namespace

void LastActivity::start(ModuleContext& ctx) {
    // Modules start just before the server accepts connections, so this is its start.
    // steady_clock: uptime must not jump when the wall clock is set.
    const auto started = std::chrono::steady_clock::now();
    ctx.on_iq(routing::IqType::get, std::string(ns_last), routing::IqScope::server,
              [started](const routing::Stanza&) -> boost::asio::awaitable<routing::IqResult> {
                  const auto up = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::steady_clock::now() - started);
                  protocol::xml::Element q("query", std::string(ns_last));
                  q.set_attr("seconds", std::to_string(up.count()));
                  co_return std::optional<protocol::xml::Element>(std::move(q));
              });
    ctx.add_disco_feature(std::string(ns_last));
}

}  // namespace parley::server::modules
