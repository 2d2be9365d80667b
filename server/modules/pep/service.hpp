#pragma once
// The PEP service behind the Pep module: iq handlers (service_iq.cpp,
// service_owner.cpp) and notifications (service_notify.cpp). One instance per
// server, shared with the coroutines it spawns.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "protocol/errors.hpp"
#include "server/modules/module.hpp"
#include "server/modules/pep/node_config.hpp"
#include "storage/pep_store.hpp"

namespace parley::server::modules::pep {

using storage::pep_store::Item;

// An error with a pubsub#errors application condition (<payload-too-big/>...), and
// for <unsupported/> the feature it names.
protocol::StanzaError pubsub_error(protocol::StanzaErrorCondition condition, std::string_view app = {},
                                   std::string_view feature = {});

class Service : public std::enable_shared_from_this<Service> {
public:
    explicit Service(ModuleContext& ctx);

    boost::asio::awaitable<routing::IqResult> pubsub_set(const routing::Stanza& iq);
    boost::asio::awaitable<routing::IqResult> pubsub_get(const routing::Stanza& iq);
    boost::asio::awaitable<routing::IqResult> owner_set(const routing::Stanza& iq);
    boost::asio::awaitable<routing::IqResult> owner_get(const routing::Stanza& iq);

    // XEP-0163 §4.3: last published items when a contact's resource or one of the
    // owner's own resources becomes available.
    HookResult on_presence_to_user(PresenceToUser& ev);
    HookResult on_session_available(SessionAvailable& ev);
    HookResult on_session_closed(SessionClosed& ev);
    // The caps module verified the ver `full` advertises (CapsCache::on_verified).
    void on_caps_verified(const protocol::Jid& full, const std::string& ver);

    // Where a change came from, so that a conversion is never converted back
    // (XEP-0398, XEP-0402 §5.3, XEP-0411). `client` is a pubsub request.
    enum class Origin { client, vcard, native_bookmarks, legacy_bookmarks, private_storage };

    // Publishing and reading on an account's behalf (service_internal.cpp). A node
    // that does not exist is created with `new_node`; an existing one keeps its
    // configuration. Notifications go out as for a client's publish, then the
    // conversions run (except back to `origin`). False when the database failed.
    boost::asio::awaitable<bool> publish_internal(const protocol::Jid& owner, const std::string& node,
                                                  const Item& item, const NodeConfig& new_node, Origin origin);
    // Retracts with notification per the node's notify_retract; false when the item
    // was not there.
    boost::asio::awaitable<bool> retract_internal(const protocol::Jid& owner, const std::string& node,
                                                  const std::string& id, Origin origin);
    boost::asio::awaitable<std::optional<Item>> last_item(const protocol::Jid& owner, const std::string& node);
    // Every item of the node, oldest first; an item by id (nullopt when absent).
    boost::asio::awaitable<std::vector<Item>> all_items(const protocol::Jid& owner, const std::string& node);
    boost::asio::awaitable<std::optional<Item>> item_by_id(const protocol::Jid& owner, const std::string& node,
                                                           const std::string& id);

    // Conversions triggered by other modules (conversions.cpp). The account stored a
    // vCard (XEP-0398 §3.2); `had_photo`: its previous vCard had a PHOTO.
    boost::asio::awaitable<void> vcard_changed(const protocol::Jid& owner, const protocol::xml::Element& vcard,
                                               bool had_photo);
    // The account stored <storage xmlns='storage:bookmarks'/> in private XML storage
    // (XEP-0411 §3, XEP-0402 #compat).
    boost::asio::awaitable<void> private_bookmarks_changed(const protocol::Jid& owner,
                                                           const protocol::xml::Element& storage);

private:
    boost::asio::awaitable<routing::IqResult> publish(const routing::Stanza& iq, const protocol::xml::Element& pubsub,
                                                      const protocol::xml::Element& publish);
    boost::asio::awaitable<routing::IqResult> create(const routing::Stanza& iq, const protocol::xml::Element& pubsub,
                                                     const protocol::xml::Element& create);
    boost::asio::awaitable<routing::IqResult> retract(const routing::Stanza& iq, const protocol::xml::Element& retract);
    boost::asio::awaitable<routing::IqResult> items(const routing::Stanza& iq, const protocol::xml::Element& items);
    boost::asio::awaitable<routing::IqResult> configure_get(const routing::Stanza& iq, const std::string& node);
    boost::asio::awaitable<routing::IqResult> configure_set(const routing::Stanza& iq, const std::string& node,
                                                            const protocol::xml::Element& configure);
    boost::asio::awaitable<routing::IqResult> delete_or_purge(const routing::Stanza& iq, const std::string& node,
                                                              bool purge);

    // Sends <event>{event_child}</event> to every local resource that wants `node`
    // notifications and may see them: the owner's, and its contacts' with a presence
    // subscription ('from' or 'both') unless the node is whitelist.
    // (Parameters by reference: callers co_await it with named locals, see README on
    // GCC 12 and temporaries in co_await.)
    boost::asio::awaitable<void> broadcast(const protocol::Jid& owner, const std::string& node,
                                           const NodeConfig& config, const protocol::xml::Element& event_child);
    // Last items of `owner`'s nodes to one full JID (a contact's, or the owner's own),
    // once the caps behind `ver` are verified.
    boost::asio::awaitable<void> send_last_items(const protocol::Jid& owner, const protocol::Jid& to,
                                                 const std::string& ver);
    // A resource of the account became available: its own nodes' last items, and
    // those of contacts it is subscribed to without being subscribed back.
    boost::asio::awaitable<void> last_items_on_login(const protocol::Jid& full, const std::string& ver);
    // Runs the last-item sends waiting for `full`'s caps (XEP-0115 verification is a
    // round trip to the client, usually finished after its presence was handled).
    void when_caps_known(const protocol::Jid& full, const std::optional<protocol::Jid>& owner, const std::string& ver);
    void run_pending(const protocol::Jid& full, const std::string& ver);
    // A remote contact's resources known from presence: (full JID, caps ver).
    std::vector<std::pair<std::string, std::string>> remote_resources(const protocol::Jid& bare) const;
    // The caps 'ver' a resource advertises (from the registry, or its last presence).
    static std::string caps_ver(const routing::ResourceEntry& r);

    // After any change to `node` (publish, retract, delete, purge): the conversions
    // that node feeds, except back to `origin` (conversions.cpp).
    boost::asio::awaitable<void> after_change(const protocol::Jid& owner, const std::string& node, Origin origin);
    boost::asio::awaitable<void> avatar_to_vcard(const protocol::Jid& owner);
    boost::asio::awaitable<void> native_to_legacy(const protocol::Jid& owner);
    boost::asio::awaitable<void> legacy_to_native(const protocol::Jid& owner, const protocol::xml::Element& storage,
                                                  Origin origin);
    // XEP-0411 §4: bookmarks a legacy client kept in private XML storage before the
    // conversions existed reach PEP before the account first reads them there (once
    // per account and server run; only when neither PEP node exists).
    boost::asio::awaitable<void> migrate_private_bookmarks(const protocol::Jid& owner);
    boost::asio::awaitable<void> write_private_bookmarks(const protocol::Jid& owner,
                                                         const protocol::xml::Element& storage);

    // Items of nodes with persist_items false live here only (the last one).
    std::optional<Item> volatile_item(const protocol::Jid& owner, const std::string& node) const;
    void set_volatile_item(const protocol::Jid& owner, const std::string& node, std::optional<Item> item);

    ModuleContext& ctx_;
    storage::Database& db_;
    routing::Router& router_;
    routing::SessionRegistry& sessions_;
    caps::CapsCache& caps_;
    std::size_t max_item_bytes_;
    std::int64_t max_items_limit_;

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Item> volatile_items_;  // "owner\nnode" → last item
    // contact full JID → owners whose last items it got since it became available
    std::unordered_map<std::string, std::unordered_set<std::string>> presence_seen_;
    struct Pending {
        bool login = false;                // the account's own resource came online
        std::set<std::string> owners;      // accounts whose last items it should get
    };
    std::unordered_map<std::string, Pending> pending_;  // full JID → sends awaiting its caps
    // Contacts' resources on other servers that told one of our accounts they are
    // available: full JID → caps ver, so notifications can reach them (XEP-0163 §4.3.1).
    // Ordered, to find a bare JID's resources; bounded, since any remote entity can
    // send presence.
    std::map<std::string, std::string> remote_vers_;
    static constexpr std::size_t max_remote_resources = 100000;
    std::unordered_set<std::string> bookmarks_migrated_;  // bare JIDs checked by migrate_private_bookmarks
};

}  // namespace parley::server::modules::pep
