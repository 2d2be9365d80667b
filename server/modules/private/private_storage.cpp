// XEP-0049: Private XML Storage — see private_storage.hpp for what is implemented.
#include "server/modules/private/private_storage.hpp"

#include <optional>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "server/modules/pep/bookmarks_convert.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "storage/database.hpp"
#include "storage/private_store.hpp"

namespace parley::server::modules {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace {

constexpr std::string_view private_ns = "jabber:iq:private";



// The elements inside <query/>, skipping whitespace.
std::vector<const Element*> query_children(const routing::Stanza& iq) {
    std::vector<const Element*> out;
    if (const Element* query = iq.el.first_child_element()) {
        for (const Element& child : query->children()) {
            if (!child.is_text()) out.push_back(&child);
        }
    }
    return out;
}

// XEP-0049 §2.3: only the account itself (an authorized resource of the user) may
// read or write; the router has already filled in a missing 'to'.

bool has_reserved_child(const std::vector<const Element*>& children) {
    for (const Element* child : children) {
        if (is_reserved_private_namespace(child->xmlns())) return true;
    }
    return false;
}

boost::asio::awaitable<IqResult> handle_set(ModuleContext& ctx, std::size_t max_bytes, const routing::Stanza& iq) {
    storage::Database& db = ctx.db();
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const auto children = query_children(iq);
    if (children.empty() || has_reserved_child(children)) co_return protocol::stanza_error(StanzaErrorCondition::not_acceptable);
    std::vector<storage::private_store::Item> items;
    items.reserve(children.size());
    for (const Element* child : children) {
        std::string xml = to_stored_xml(*child);
        if (xml.size() > max_bytes) co_return protocol::stanza_error(StanzaErrorCondition::not_acceptable);
        items.push_back({child->name(), child->xmlns(), std::move(xml)});
    }
    const std::string key = routing::account_key(iq.to);
    auto store = [d = iq.to.domain(), l = iq.to.local(), items = std::move(items)](pqxx::connection& c) {
        storage::private_store::set(c, d, l, items);
    };
    auto stored = co_await db.run<void>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("private_store_failed account={} error={}", iq.to.bare_string(), stored.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    // XEP-0411 / XEP-0402 #compat: XEP-0048 bookmarks also go to PEP.
    if (pep::Service* pep = ctx.pep()) {
        const protocol::Jid owner = iq.to.bare();
        for (const Element* child : children) {
            if (child->name() != "storage" || child->xmlns() != pep::legacy_bookmarks_node) continue;
            co_await pep->private_bookmarks_changed(owner, *child);
        }
    }
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> handle_get(storage::Database& db, const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const auto children = query_children(iq);
    if (children.empty()) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (has_reserved_child(children)) co_return protocol::stanza_error(StanzaErrorCondition::not_acceptable);
    std::vector<std::pair<std::string, std::string>> keys;
    for (const Element* child : children) keys.emplace_back(child->name(), child->xmlns());
    const std::string key = routing::account_key(iq.to);
    auto load = [d = iq.to.domain(), l = iq.to.local(), keys = std::move(keys)](pqxx::connection& c) {
        std::vector<std::optional<std::string>> out;
        for (const auto& [name, xmlns] : keys) out.push_back(storage::private_store::get(c, d, l, name, xmlns));
        return out;
    };
    auto loaded = co_await db.run<std::vector<std::optional<std::string>>>(key, std::move(load),
                                                                             boost::asio::use_awaitable);
    if (!loaded) {
        spdlog::error("private_load_failed account={} error={}", iq.to.bare_string(), loaded.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    Element query("query", std::string(private_ns));
    for (std::size_t i = 0; i < children.size(); ++i) {
        std::optional<Element> stored;
        if (const auto& xml = (*loaded)[i]) {
            stored = parse_stored_xml(*xml);
            if (!stored) spdlog::error("private_item_unreadable account={}", iq.to.bare_string());
        }
        // Nothing stored: the element comes back empty, as asked (XEP-0049 §2.3).
        query.add_child(stored ? std::move(*stored) : Element(children[i]->name(), children[i]->xmlns()));
    }
    co_return std::optional<Element>(std::move(query));
}

}  // namespace

bool is_reserved_private_namespace(std::string_view xmlns) {
    return xmlns.empty() || xmlns.starts_with("jabber:") || xmlns.starts_with("http://jabber.org/") ||
           xmlns == "vcard-temp";
}

void PrivateStorage::start(ModuleContext& ctx) {
    storage::Database* db = &ctx.db();
    ModuleContext* context = &ctx;
    const std::size_t max_bytes = ctx.config().limits.max_private_bytes;
    ctx.add_disco_feature(std::string(private_ns));  // what clients look for before using it
    ctx.on_iq(routing::IqType::set, std::string(private_ns), routing::IqScope::account,
              [context, max_bytes](const routing::Stanza& iq) { return handle_set(*context, max_bytes, iq); });
    ctx.on_iq(routing::IqType::get, std::string(private_ns), routing::IqScope::account,
              [db](const routing::Stanza& iq) { return handle_get(*db, iq); });
}

}  // namespace parley::server::modules
