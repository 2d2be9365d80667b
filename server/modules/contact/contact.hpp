#pragma once
// XEP-0157: Contact Addresses for XMPP Services. The addresses of [contact] in the
// configuration are published as a "serverinfo" data form in the server's disco#info
// (through XEP-0128 extensions). Only the kinds that have addresses are listed; with
// none configured no form is published at all.
#include <optional>

#include "server/modules/module.hpp"

namespace parley::server::modules {

class ContactAddresses final : public Module {
public:
    std::string_view name() const override { return "contact"; }
    void start(ModuleContext& ctx) override;
};

// The <x xmlns='jabber:x:data' type='result'> form; nullopt when `c` has no address.
std::optional<protocol::xml::Element> serverinfo_form(const Config::Contact& c);

}  // namespace parley::server::modules
