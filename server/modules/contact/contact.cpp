#include "server/modules/contact/contact.hpp"

#include <string>
#include <utility>

namespace parley::server::modules {

namespace {
constexpr std::string_view ns_xdata = "jabber:x:data";
constexpr std::string_view serverinfo = "http://jabber.org/network/serverinfo";
}  // namespace

std::optional<protocol::xml::Element> serverinfo_form(const Config::Contact& c) {
    // Field names from the XEP-0157 registry, in its order.
    const std::pair<const char*, const std::vector<std::string>*> kinds[] = {
        {"abuse-addresses", &c.abuse},     {"admin-addresses", &c.admin},
        {"feedback-addresses", &c.feedback}, {"sales-addresses", &c.sales},
        {"security-addresses", &c.security}, {"support-addresses", &c.support},
    };
    protocol::xml::Element x("x", std::string(ns_xdata));
    x.set_attr("type", "result");
    protocol::xml::Element& type = x.add_child("field");
    type.set_attr("var", "FORM_TYPE").set_attr("type", "hidden");
    type.add_child("value").add_text(std::string(serverinfo));
    bool any = false;
    for (const auto& [var, addresses] : kinds) {
        if (addresses->empty()) continue;
        any = true;
        protocol::xml::Element& field = x.add_child("field");
        field.set_attr("var", var);
        for (const std::string& a : *addresses) field.add_child("value").add_text(a);
    }
    if (!any) return std::nullopt;
    return x;
}

void ContactAddresses::start(ModuleContext& ctx) {
    if (auto form = serverinfo_form(ctx.config().contact)) ctx.add_disco_extension(std::move(*form));
}

}  // namespace parley::server::modules
