#include "server/modules/version/version.hpp"

namespace parley::server::modules {

namespace {
constexpr std::string_view ns_version = "jabber:iq:version";
// Kept in step with project(... VERSION) in CMakeLists.txt.
constexpr std::string_view parley_version = "0.1.0";
}  // namespace

void Version::start(ModuleContext& ctx) {
    ctx.on_iq(routing::IqType::get, std::string(ns_version), routing::IqScope::server,
              [](const routing::Stanza&) -> boost::asio::awaitable<routing::IqResult> {
                  protocol::xml::Element q("query", std::string(ns_version));
                  q.add_child("name").add_text("Parley");
                  q.add_child("version").add_text(std::string(parley_version));
                  co_return std::optional<protocol::xml::Element>(std::move(q));
              });
    ctx.add_disco_feature(std::string(ns_version));
}

}  // namespace parley::server::modules
