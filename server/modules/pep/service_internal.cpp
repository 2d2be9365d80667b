// Publishing, retracting and reading PEP items on an account's behalf: what the
// conversions of XEP-0398 and XEP-0402/XEP-0411 need (conversions.cpp).
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "protocol/namespaces.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "storage/database.hpp"

namespace parley::server::modules::pep {

namespace ps = storage::pep_store;
using protocol::Jid;
using protocol::xml::Element;

boost::asio::awaitable<bool> Service::publish_internal(const Jid& owner_jid, const std::string& node,
                                                       const Item& item, const NodeConfig& new_node, Origin origin) {
    auto payload = parse_stored_xml(item.payload);
    if (!payload) {
        spdlog::error("pep_internal_payload_bad account={} node={}", owner_jid.bare_string(), node);
        co_return false;
    }
    const Jid owner = owner_jid.bare();
    auto store = [owner, node, item, new_node](pqxx::connection& c) {
        NodeConfig config = new_node;
        if (auto existing = ps::get_node(c, owner.domain(), owner.local(), node)) {
            config = *existing;
        } else {
            ps::create_node(c, owner.domain(), owner.local(), node, config);
        }
        if (config.persist_items) ps::put_item(c, owner.domain(), owner.local(), node, item, config.max_items);
        return config;
    };
    const std::string key = routing::account_key(owner);
    auto stored = co_await db_.run<NodeConfig>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("pep_internal_publish_failed account={} node={} error={}", owner.bare_string(), node,
                      stored.error().message());
        co_return false;
    }
    set_volatile_item(owner, node, stored->persist_items ? std::nullopt : std::optional<Item>(item));
    spdlog::debug("pep_converted_publish account={} node={} item={}", owner.bare_string(), node, item.id);
    if (stored->deliver_notifications) {
        Element items_el("items", std::string(protocol::ns::pubsub_event));
        items_el.set_attr("node", node);
        Element& item_el = items_el.add_child("item");
        item_el.set_attr("id", item.id);
        if (stored->deliver_payloads) item_el.add_child(std::move(*payload));
        const NodeConfig config = *stored;
        co_await broadcast(owner, node, config, items_el);
    }
    co_await after_change(owner, node, origin);
    co_return true;
}

boost::asio::awaitable<bool> Service::retract_internal(const Jid& owner_jid, const std::string& node,
                                                       const std::string& id, Origin origin) {
    struct Outcome {
        std::optional<NodeConfig> config;
        bool removed = false;
    };
    const Jid owner = owner_jid.bare();
    auto store = [owner, node, id](pqxx::connection& c) {
        Outcome out;
        out.config = ps::get_node(c, owner.domain(), owner.local(), node);
        if (out.config && out.config->persist_items) out.removed = ps::retract_item(c, owner.domain(), owner.local(), node, id);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto done = co_await db_.run<Outcome>(key, std::move(store), boost::asio::use_awaitable);
    if (!done || !done->config) co_return false;
    if (!done->config->persist_items) {
        auto current = volatile_item(owner, node);
        done->removed = current && current->id == id;
        if (done->removed) set_volatile_item(owner, node, std::nullopt);
    }
    if (!done->removed) co_return false;
    if (done->config->notify_retract && done->config->deliver_notifications) {
        Element items_el("items", std::string(protocol::ns::pubsub_event));
        items_el.set_attr("node", node);
        items_el.add_child("retract").set_attr("id", id);
        const NodeConfig config = *done->config;
        co_await broadcast(owner, node, config, items_el);
    }
    co_await after_change(owner, node, origin);
    co_return true;
}

boost::asio::awaitable<std::vector<Item>> Service::all_items(const Jid& owner_jid, const std::string& node) {
    struct Outcome {
        std::optional<NodeConfig> config;
        std::vector<Item> items;
    };
    const Jid owner = owner_jid.bare();
    auto load = [owner, node](pqxx::connection& c) {
        Outcome out;
        out.config = ps::get_node(c, owner.domain(), owner.local(), node);
        if (out.config && out.config->persist_items) out.items = ps::items(c, owner.domain(), owner.local(), node);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto loaded = co_await db_.run<Outcome>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) {
        spdlog::error("pep_internal_items_failed account={} node={} error={}", owner.bare_string(), node,
                      loaded.error().message());
        co_return std::vector<Item>{};
    }
    if (loaded->config && !loaded->config->persist_items) {
        if (auto last = volatile_item(owner, node)) loaded->items.push_back(std::move(*last));
    }
    co_return std::move(loaded->items);
}

boost::asio::awaitable<std::optional<Item>> Service::last_item(const Jid& owner, const std::string& node) {
    auto items = co_await all_items(owner, node);
    if (items.empty()) co_return std::nullopt;
    co_return std::move(items.back());
}

boost::asio::awaitable<std::optional<Item>> Service::item_by_id(const Jid& owner, const std::string& node,
                                                               const std::string& id) {
    auto items = co_await all_items(owner, node);
    for (auto& it : items) {
        if (it.id == id) co_return std::move(it);
    }
    co_return std::nullopt;
}

}  // namespace parley::server::modules::pep
