#pragma once
// PEP (XEP-0163) nodes and items of one account. Functions run on a database thread,
// given its connection: call them inside Database::run keyed by routing::account_key
// of the owner, so one account's publications stay in order.
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace parley::storage::pep_store {

// The XEP-0060 node_config options a PEP node keeps (defaults: XEP-0163 §4.1 and the
// usual PEP service defaults).
struct NodeConfig {
    std::string access_model = "presence";  // open | presence | whitelist
    bool persist_items = true;
    std::int64_t max_items = 1;
    std::string send_last_published_item = "on_sub_and_presence";  // never | on_sub | on_sub_and_presence
    bool deliver_notifications = true;
    bool deliver_payloads = true;
    bool notify_retract = true;
    bool notify_delete = true;
    std::string title;
    std::string description;

    friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

struct Item {
    std::string id;
    std::string payload;  // serialized payload element
    friend bool operator==(const Item&, const Item&) = default;
};

struct NodeState {
    std::string node;
    NodeConfig config;
    std::optional<Item> last;  // the newest stored item
};

std::optional<NodeConfig> get_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                                   const std::string& node);
// Every node of the account with its newest item, ordered by name.
std::vector<NodeState> nodes(pqxx::connection& c, const std::string& domain, const std::string& localpart);
// False when the node exists already (nothing changes then).
bool create_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                 const std::string& node, const NodeConfig& config);
// Replaces the configuration and trims the items to it (all of them when
// persist_items is false); false when the node does not exist.
bool configure_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                    const std::string& node, const NodeConfig& config);
// Deletes the node and its items; false when it did not exist.
bool delete_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                 const std::string& node);
// Deletes every item of the node; false when the node does not exist.
bool purge_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                const std::string& node);

// Stores the item as the newest of an existing node (an item with that id is
// replaced), then drops the oldest items beyond max_items.
void put_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const std::string& node, const Item& item, std::int64_t max_items);
// The newest `max` items (all when nullopt), oldest first.
std::vector<Item> items(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                        const std::string& node, std::optional<std::int64_t> max = std::nullopt);
// The items with these ids that exist, oldest first.
std::vector<Item> items_by_id(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                              const std::string& node, const std::vector<std::string>& ids);
// False when there was no such item.
bool retract_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                  const std::string& node, const std::string& id);

}  // namespace parley::storage::pep_store
