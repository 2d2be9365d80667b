#include "server/modules/disco/disco.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/caps/caps_hash.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace {

using Identities = std::vector<ModuleContext::DiscoIdentity>;

Element info_reply(const Identities& identities, const std::vector<std::string>& features) {
    Element q("query", std::string(protocol::ns::disco_info));
    for (const auto& i : identities) q.add_child("identity").set_attr("category", i.category).set_attr("type", i.type);
    for (const auto& f : features) q.add_child("feature").set_attr("var", f);
    return q;
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
}

Identities unique_identities(Identities v) {
    auto key = [](const ModuleContext::DiscoIdentity& i) { return std::tie(i.category, i.type); };
    std::sort(v.begin(), v.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
    v.erase(std::unique(v.begin(), v.end(), [&](const auto& a, const auto& b) { return key(a) == key(b); }), v.end());
    return v;
}

const std::string* node_of(const routing::Stanza& iq) {
    const Element* q = iq.el.first_child_element();
    return q ? q->find_attr("node") : nullptr;
}

StanzaError error(StanzaErrorCondition condition) { return StanzaError{condition, {}, {}, {}}; }

// §8: whether `iq`'s sender may see what the addressed account is. Not the owner: only
// a contact the account shares its presence with. A missing account has no roster, so
// it gets the same answer as a stranger.
boost::asio::awaitable<bool> may_discover(storage::Database& db, const routing::Stanza& iq) {
    if (routing::is_from_owner(iq)) co_return true;
    const std::string key = routing::account_key(iq.to);
    auto check = [d = iq.to.domain(), l = iq.to.local(), asker = iq.from.bare_string()](pqxx::connection& c) {
        auto roster = storage::roster_store::get(c, d, l);
        auto it = std::find_if(roster.items.begin(), roster.items.end(),
                               [&](const auto& item) { return item.jid == asker; });
        return it != roster.items.end() && (it->subscription == "from" || it->subscription == "both");
    };
    auto allowed = co_await db.run<bool>(key, std::move(check), boost::asio::use_awaitable);
    if (!allowed) {
        spdlog::error("disco_roster_load_failed account={} error={}", iq.to.bare_string(), allowed.error().message());
        co_return false;
    }
    co_return *allowed;
}

// The server's caps (XEP-0115 §6.3) as a stream feature; "" ver when it cannot be made.
Element server_caps_feature(const std::string& ver) {
    Element c("c", std::string(protocol::ns::caps));
    c.set_attr("hash", "sha-1").set_attr("node", std::string(server_caps_node)).set_attr("ver", ver);
    return c;
}

}  // namespace

void Disco::start(ModuleContext& ctx) {
    // Everything is fixed once the modules have started, so the replies are built once.
    std::vector<std::string> server_features = ctx.server_features();
    server_features.emplace_back(protocol::ns::disco_info);
    server_features.emplace_back(protocol::ns::disco_items);
    Element server_info = info_reply({{"server", "im"}}, sorted_unique(std::move(server_features)));
    for (const Element& form : ctx.disco_extensions()) server_info.add_child(form);
    auto server_reply = std::make_shared<const Element>(server_info);

    auto ver = caps::verification_string(server_info, caps::HashAlgorithm::sha1);
    auto caps_node = std::make_shared<std::string>();
    if (ver) {
        *caps_node = std::string(server_caps_node) + "#" + *ver;
        ctx.add_stream_feature(server_caps_feature(*ver));
    } else {
        // Two modules registered the same form type: our bug, not the clients'.
        spdlog::error("server_caps_ill_formed");
    }

    std::vector<std::string> account_features = ctx.account_features();
    account_features.emplace_back(protocol::ns::disco_info);
    account_features.emplace_back(protocol::ns::disco_items);
    Identities account_identities = ctx.account_identities();
    account_identities.push_back({"account", "registered"});
    auto account_reply = std::make_shared<const Element>(
        info_reply(unique_identities(std::move(account_identities)), sorted_unique(std::move(account_features))));
    storage::Database* db = &ctx.db();

    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_info), routing::IqScope::server,
              [server_reply, caps_node](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  const std::string* node = node_of(iq);
                  if (!node) co_return std::optional<Element>(*server_reply);
                  // XEP-0115 §6.2: node#ver answers the same identities and features.
                  if (caps_node->empty() || *node != *caps_node) co_return error(StanzaErrorCondition::item_not_found);
                  Element reply = *server_reply;
                  reply.set_attr("node", *node);
                  co_return std::optional<Element>(std::move(reply));
              });
    Element server_items("query", std::string(protocol::ns::disco_items));
    for (const auto& item : ctx.disco_items()) server_items.add_child("item").set_attr("jid", item.jid).set_attr("name", item.name);
    auto items_reply = std::make_shared<const Element>(std::move(server_items));
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_items), routing::IqScope::server,
              [items_reply](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  if (node_of(iq)) co_return error(StanzaErrorCondition::item_not_found);
                  co_return std::optional<Element>(*items_reply);
              });
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_info), routing::IqScope::account,
              [account_reply, db](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  const bool allowed = co_await may_discover(*db, iq);
                  if (!allowed) co_return error(StanzaErrorCondition::service_unavailable);
                  if (node_of(iq)) co_return error(StanzaErrorCondition::item_not_found);
                  co_return std::optional<Element>(*account_reply);
              });
    // An account's items: none yet (PEP's nodes will be listed here for the owner).
    ctx.on_iq(routing::IqType::get, std::string(protocol::ns::disco_items), routing::IqScope::account,
              [db](const routing::Stanza& iq) -> boost::asio::awaitable<IqResult> {
                  const bool allowed = co_await may_discover(*db, iq);
                  if (!allowed) co_return error(StanzaErrorCondition::service_unavailable);
                  if (node_of(iq)) co_return error(StanzaErrorCondition::item_not_found);
                  co_return std::optional<Element>(Element("query", std::string(protocol::ns::disco_items)));
              });
}

}  // namespace parley::server::modules
