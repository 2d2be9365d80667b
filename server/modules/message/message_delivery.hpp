#pragma once
// RFC 6121 §8.5: delivery of messages to local accounts, the last handler of the
// MessageToUser chain. To a full JID: that resource, else as to the bare JID (chat,
// normal), an error (groupchat) or nothing (headline, error). To a bare JID: the
// available resources of highest non-negative priority (headline: all non-negative);
// none → the MessageUndeliverable chain, whose default answers service-unavailable.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class MessageDelivery final : public Module {
public:
    std::string_view name() const override { return "message"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
