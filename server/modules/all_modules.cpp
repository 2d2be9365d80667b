// Every module, listed explicitly in start order. A new XEP is a folder under
// server/modules/ and one line here.
#include "server/modules/blocking/blocking.hpp"
#include "server/modules/caps/caps.hpp"
#include "server/modules/disco/disco.hpp"
#include "server/modules/pep/pep.hpp"
#include "server/modules/message/message_delivery.hpp"
#include "server/modules/module.hpp"
#include "server/modules/ping/ping.hpp"
#include "server/modules/presence/presence.hpp"
#include "server/modules/presence/subscriptions.hpp"
#include "server/modules/roster/roster.hpp"
#include "server/modules/contact/contact.hpp"
#include "server/modules/last/last.hpp"
#include "server/modules/time/time.hpp"
#include "server/modules/version/version.hpp"
#include "server/modules/private/private_storage.hpp"
#include "server/modules/vcard/vcard.hpp"
#include "server/modules/offline/offline.hpp"
#include "server/modules/carbons/carbons.hpp"
#include "server/modules/csi/csi.hpp"
#include "server/modules/mam/mam.hpp"
#include "server/modules/muc/muc.hpp"

namespace parley::server::modules {

std::vector<std::unique_ptr<Module>> all_modules() {
    std::vector<std::unique_ptr<Module>> m;
    m.push_back(std::make_unique<Blocking>());  // first: its filters apply to every stanza
    m.push_back(std::make_unique<MessageDelivery>());
    m.push_back(std::make_unique<Presence>());
    m.push_back(std::make_unique<Subscriptions>());
    m.push_back(std::make_unique<Ping>());
    m.push_back(std::make_unique<Version>());
    m.push_back(std::make_unique<EntityTime>());
    m.push_back(std::make_unique<LastActivity>());
    m.push_back(std::make_unique<ContactAddresses>());
    m.push_back(std::make_unique<PrivateStorage>());
    m.push_back(std::make_unique<VCard>());
    m.push_back(std::make_unique<Roster>());
    m.push_back(std::make_unique<Carbons>());
    m.push_back(std::make_unique<ClientStateIndication>());
    m.push_back(std::make_unique<OfflineMessages>());
    m.push_back(std::make_unique<Mam>());
    m.push_back(std::make_unique<Caps>());
    m.push_back(std::make_unique<Pep>());
    m.push_back(std::make_unique<Muc>());
    m.push_back(std::make_unique<Disco>());  // last: lists what the others registered
    return m;
}

}  // namespace parley::server::modules
