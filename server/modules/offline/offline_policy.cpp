#include "server/modules/offline/offline_policy.hpp"

#include <cstdio>
#include <ctime>

namespace parley::server::modules::offline {

using protocol::xml::Element;

bool should_store(const Element& message) {
    const std::string_view type = message.attr("type");
    // XEP-0160 §3: only normal and chat; errors, groupchat and headlines are transient.
    if (!type.empty() && type != "normal" && type != "chat") return false;
    if (message.find_child("no-store", ns_hints)) return false;
    if (message.find_child("store", ns_hints)) return true;
    // XEP-0085 §5.6: a standalone chat state notification is not stored. <thread/>
    // and the hints themselves are not content either.
    for (const auto& child : message.children()) {
        if (child.is_text()) continue;
        if (child.xmlns() == ns_chatstates || child.xmlns() == ns_hints) continue;
        if (child.name() == "thread") continue;
        return true;
    }
    return false;
}

std::string utc_stamp(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long millis = static_cast<long>(ms % 1000);
    if (millis < 0) {  // before 1970: floor, not truncate
        millis += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

void add_delay(Element& message, const std::string& domain, std::string stamp) {
    Element delay("delay", std::string(ns_delay));
    delay.set_attr("from", domain);
    delay.set_attr("stamp", std::move(stamp));
    message.add_child(std::move(delay));
}

}  // namespace parley::server::modules::offline
