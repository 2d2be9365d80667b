// XEP-0163: Personal Eventing Protocol — see pep.hpp for what is implemented.
#include "server/modules/pep/pep.hpp"

#include "protocol/namespaces.hpp"
#include "server/modules/pep/avatar_convert.hpp"
#include "server/modules/pep/bookmarks_convert.hpp"
#include "server/modules/pep/service.hpp"

namespace parley::server::modules {

void Pep::start(ModuleContext& ctx) {
    service_ = std::make_shared<pep::Service>(ctx);
    pep::Service* s = service_.get();
    ctx.set_pep(service_);  // the vCard and private storage modules publish through it
    using routing::IqScope;
    using routing::IqType;
    const std::string pubsub(protocol::ns::pubsub), owner(protocol::ns::pubsub_owner);
    ctx.on_iq(IqType::set, pubsub, IqScope::account, [s](const routing::Stanza& iq) { return s->pubsub_set(iq); });
    ctx.on_iq(IqType::get, pubsub, IqScope::account, [s](const routing::Stanza& iq) { return s->pubsub_get(iq); });
    ctx.on_iq(IqType::set, owner, IqScope::account, [s](const routing::Stanza& iq) { return s->owner_set(iq); });
    ctx.on_iq(IqType::get, owner, IqScope::account, [s](const routing::Stanza& iq) { return s->owner_get(iq); });

    // Above delivery, and passing: the presence is still delivered as usual.
    ctx.hooks().presence_to_user.add(priority::deliver + 10,
                                     [s](PresenceToUser& ev) { return s->on_presence_to_user(ev); });
    ctx.hooks().session_available.add(priority::deliver, [s](SessionAvailable& ev) { return s->on_session_available(ev); });
    ctx.caps().on_verified([s](const protocol::Jid& full, std::uint64_t, const std::string& ver) {
        s->on_caps_verified(full, ver);
    });
    ctx.hooks().session_closed.add(priority::deliver, [s](SessionClosed& ev) { return s->on_session_closed(ev); });

    // XEP-0060 §10 features this service really implements; Conversations uses PEP
    // only when publish-options is advertised.
    for (const char* f : {"publish", "publish-options", "auto-create", "create-nodes", "create-and-configure",
                          "persistent-items", "retract-items", "delete-items", "delete-nodes", "purge-nodes",
                          "config-node", "retrieve-default", "access-open", "access-presence", "access-whitelist",
                          "retrieve-items", "item-ids", "last-published", "filtered-notifications",
                          "presence-notifications", "auto-subscribe"}) {
        ctx.add_account_feature(pubsub + "#" + f);
    }
    ctx.add_account_identity("pubsub", "pep");  // XEP-0163 §6.1

    // Conversions (conversions.cpp): XEP-0398 §2; XEP-0402 §5.3 (#compat: with
    // private XML storage, #compat-pep: with the XEP-0048 PEP node); XEP-0411 §2.
    for (std::string_view f : {pep::pep_vcard_conversion_feature, pep::bookmarks_compat_feature,
                               pep::bookmarks_compat_pep_feature, pep::bookmarks_conversion_feature}) {
        ctx.add_account_feature(std::string(f));
    }
}

}  // namespace parley::server::modules
