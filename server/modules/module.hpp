#pragma once
// A module is one feature, usually one XEP. It registers what it handles in start()
// and owns no sockets.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.hpp"
#include "server/modules/caps/caps_cache.hpp"
#include "server/modules/hooks.hpp"
#include "server/routing/iq_dispatcher.hpp"

namespace parley::storage {
class Database;
class ArchiveQueue;
}
namespace parley::server::routing {
class Router;
class SessionRegistry;
}  // namespace parley::server::routing
namespace parley::server::modules::pep {
class Service;
}

namespace parley::server::modules {

// What a module may register with and use. Registration happens before the I/O
// threads start; afterwards everything here is read-only or thread-safe.
class ModuleContext {
public:
    ModuleContext(const Config& config, Hooks& hooks, routing::IqDispatcher& iq,
                  routing::Router& router, routing::SessionRegistry& sessions, storage::Database& db,
                  storage::ArchiveQueue& archive)
        : config_(config), hooks_(hooks), iq_(iq), router_(router), sessions_(sessions), db_(db), archive_(archive) {}

    void on_iq(routing::IqType type, std::string xmlns, routing::IqScope scope, routing::IqHandler h) {
        iq_.add(type, std::move(xmlns), scope, std::move(h));
    }
    Hooks& hooks() { return hooks_; }
    void add_disco_feature(std::string feature) { server_features_.push_back(std::move(feature)); }
    void add_account_feature(std::string feature) { account_features_.push_back(std::move(feature)); }
    const std::vector<std::string>& server_features() const { return server_features_; }
    const std::vector<std::string>& account_features() const { return account_features_; }
    // An identity an account's bare JID shows in disco#info next to account/registered
    // (XEP-0163 §4: pubsub/pep).
    struct DiscoIdentity {
        std::string category;
        std::string type;
    };
    void add_account_identity(std::string category, std::string type) {
        account_identities_.push_back({std::move(category), std::move(type)});
    }
    const std::vector<DiscoIdentity>& account_identities() const { return account_identities_; }
    // XEP-0128: a data form (<x xmlns='jabber:x:data' type='result'>) appended to the
    // server's disco#info result.
    void add_disco_extension(protocol::xml::Element form) { disco_extensions_.push_back(std::move(form)); }
    const std::vector<protocol::xml::Element>& disco_extensions() const { return disco_extensions_; }
    // An item of the server's disco#items (a service on its own domain: MUC).
    struct DiscoItem {
        std::string jid;
        std::string name;
    };
    void add_disco_item(std::string jid, std::string name) { disco_items_.push_back({std::move(jid), std::move(name)}); }
    const std::vector<DiscoItem>& disco_items() const { return disco_items_; }
    // A stream feature offered to authenticated clients next to <bind/> (CSI's
    // <csi xmlns='urn:xmpp:csi:0'/>, the server's caps <c/>).
    void add_stream_feature(protocol::xml::Element feature) { stream_features_.push_back(std::move(feature)); }
    const std::vector<protocol::xml::Element>& stream_features() const { return stream_features_; }

    // Blocking (XEP-0191) answers whether `account` (a bare JID) blocks `other` (any
    // JID); until a module installs a check, nobody blocks anybody. The check is
    // synchronous (an in-memory list) and thread-safe; presence broadcast asks it.
    using BlockCheck = std::function<bool(const protocol::Jid& account, const protocol::Jid& other)>;
    void set_block_check(BlockCheck check) { block_check_ = std::move(check); }
    bool is_blocked(const protocol::Jid& account, const protocol::Jid& other) const {
        return block_check_ && block_check_(account, other);
    }

    // Verified client capabilities (XEP-0115), filled by the caps module.
    caps::CapsCache& caps() { return caps_; }

    // The PEP service, set by the Pep module when it starts; the vCard and private
    // storage modules publish through it (conversions of XEP-0398 and XEP-0411).
    // Null before Pep starts (and without it), so look it up per stanza.
    void set_pep(std::shared_ptr<pep::Service> service) { pep_ = std::move(service); }
    pep::Service* pep() const { return pep_.get(); }

    const Config& config() const { return config_; }
    routing::Router& router() { return router_; }
    routing::SessionRegistry& sessions() { return sessions_; }
    storage::Database& db() { return db_; }
    // The archive's write queue (XEP-0313); it exists even when [archive] enabled is
    // false, because its next_id() also numbers XEP-0359 stanza-ids.
    storage::ArchiveQueue& archive() { return archive_; }

private:
    const Config& config_;
    Hooks& hooks_;
    routing::IqDispatcher& iq_;
    routing::Router& router_;
    routing::SessionRegistry& sessions_;
    storage::Database& db_;
    storage::ArchiveQueue& archive_;
    std::vector<std::string> server_features_;
    std::vector<std::string> account_features_;
    std::vector<DiscoIdentity> account_identities_;
    std::vector<protocol::xml::Element> disco_extensions_;
    std::vector<DiscoItem> disco_items_;
    std::vector<protocol::xml::Element> stream_features_;
    BlockCheck block_check_;
    caps::CapsCache caps_;
    std::shared_ptr<pep::Service> pep_;
};

class Module {
public:
    virtual ~Module() = default;
    virtual std::string_view name() const = 0;
    virtual void start(ModuleContext& ctx) = 0;  // register only; no I/O
    virtual boost::asio::awaitable<void> stop() { co_return; }
};

// Every module, in start order (modules/all_modules.cpp).
std::vector<std::unique_ptr<Module>> all_modules();

}  // namespace parley::server::modules
