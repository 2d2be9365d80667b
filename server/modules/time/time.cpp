#include "server/modules/time/time.hpp"

#include <cstdio>
#include <ctime>

namespace parley::server::modules {

namespace {
constexpr std::string_view ns_time = "urn:xmpp:time";
}  // namespace

std::string xep0082_utc(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    // Floor division, so instants before 1970 still get a millisecond part in 0..999.
    std::time_t secs = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
    const int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[80];  // room for any int values, so the compiler can see nothing is cut
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

void EntityTime::start(ModuleContext& ctx) {
    ctx.on_iq(routing::IqType::get, std::string(ns_time), routing::IqScope::server,
              [](const routing::Stanza&) -> boost::asio::awaitable<routing::IqResult> {
                  protocol::xml::Element t("time", std::string(ns_time));
                  t.add_child("tzo").add_text("+00:00");
                  t.add_child("utc").add_text(xep0082_utc(std::chrono::system_clock::now()));
                  co_return std::optional<protocol::xml::Element>(std::move(t));
              });
    ctx.add_disco_feature(std::string(ns_time));
}

}  // namespace parley::server::modules
