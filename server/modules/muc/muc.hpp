#pragma once
// XEP-0045 Multi-User Chat, at the [muc] domain. Implemented: room creation (locked
// until configured, instant rooms), join/leave/nick change with the status codes of
// §7 (100 110 170 201 303 307 301 321 322 104 172 173; 332 in stop()), occupant-id (XEP-0421),
// multi-session nicks, discussion history with <history/> limits and XEP-0203 delays,
// the subject, groupchat with XEP-0359 stanza-ids and archiving (XEP-0313, queried
// through the room's bare JID), private messages, mediated invitations and declines,
// roles and affiliations through muc#admin (kick, ban, voice, membership, the lists),
// muc#owner (the muc#roomconfig form, destroy), members-only, password, moderated,
// hidden/public, persistent/temporary rooms, max occupants, (semi-)anonymous rooms,
// self-ping (XEP-0410) and relay of other iqs between occupants, disco of the service,
// the room directory and rooms (muc#roominfo), persistence of rooms (config, subject,
// affiliations) with history restored from the archive. Not implemented: nick
// registration (jabber:iq:register), voice requests, member-list visibility options.
#include <memory>

#include "server/modules/module.hpp"

namespace parley::server::modules {

namespace muc {
class Service;
}

class Muc final : public Module {
public:
    Muc();
    ~Muc() override;
    std::string_view name() const override { return "muc"; }
    void start(ModuleContext& ctx) override;
    boost::asio::awaitable<void> stop() override;

private:
    std::shared_ptr<muc::Service> service_;
};

}  // namespace parley::server::modules
