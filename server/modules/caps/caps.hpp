#pragma once
// XEP-0115 Entity Capabilities 1.6, the server's side of clients' caps: reads the <c/>
// of each available presence a local client broadcasts, records its 'ver' on the
// session (ResourceEntry::caps_ver), and verifies an unknown ver by asking that client
// for disco#info at node#ver (§6.2) and recomputing the hash (§5.4); a verified ver
// goes into the shared CapsCache (PEP reads "+notify" features from it).
// Implemented: sha-1 and sha-256, XEP-0128 forms, one query per ver in flight, a
// session whose answer did not verify is not asked again for that ver (another session
// advertising the same ver is: §5.4 step 3.9).
// Not implemented: legacy caps without 'hash' (§8.3, ignored), 'ext', caps of remote
// entities, the caps#optimize server optimization (§8.4). The server's own caps in the
// stream features are computed by the Disco module, which starts last.
#include "server/modules/module.hpp"

namespace parley::server::modules {

class Caps final : public Module {
public:
    std::string_view name() const override { return "caps"; }
    void start(ModuleContext& ctx) override;
};

}  // namespace parley::server::modules
