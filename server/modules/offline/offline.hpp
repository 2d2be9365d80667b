#pragma once
// XEP-0160: Best Practices for Handling Offline Messages. A message of type normal or
// chat that no available resource can take is stored (delay-stamped per XEP-0203;
// XEP-0334 hints and XEP-0085 §5.6 respected; at most [limits] max_offline_messages per
// account, beyond which the sender gets service-unavailable). Stored messages are
// delivered to a session when it sends its first available presence with a priority
// >= 0, and deleted only after that session answers a ping (XEP-0199) sent after them:
// a dropped connection gets them again next time, an acknowledged one never.
// Not implemented: XEP-0013 flexible offline retrieval, expiry (XEP-0079).
#include <memory>

#include "server/modules/module.hpp"

namespace parley::server::modules {

class OfflineMessages final : public Module {
public:
    std::string_view name() const override { return "offline"; }
    void start(ModuleContext& ctx) override;

    struct State;

private:
    std::shared_ptr<State> state_;
};

}  // namespace parley::server::modules
