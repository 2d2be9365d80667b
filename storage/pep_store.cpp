#include "storage/pep_store.hpp"

#include "storage/roster_store.hpp"

namespace parley::storage::pep_store {

namespace {

constexpr const char* config_columns =
    "access_model, persist_items, max_items, send_last_published_item, deliver_notifications,"
    " deliver_payloads, notify_retract, notify_delete, title, description";

// Reads the ten config columns starting at `first`.
NodeConfig config_from(const pqxx::row& r, int first) {
    NodeConfig cfg;
    cfg.access_model = r[first].as<std::string>();
    cfg.persist_items = r[first + 1].as<bool>();
    cfg.max_items = r[first + 2].as<std::int64_t>();
    cfg.send_last_published_item = r[first + 3].as<std::string>();
    cfg.deliver_notifications = r[first + 4].as<bool>();
    cfg.deliver_payloads = r[first + 5].as<bool>();
    cfg.notify_retract = r[first + 6].as<bool>();
    cfg.notify_delete = r[first + 7].as<bool>();
    cfg.title = r[first + 8].as<std::string>();
    cfg.description = r[first + 9].as<std::string>();
    return cfg;
}

// Keeps the newest `keep` items of the node.
void trim(pqxx::work& w, const std::string& domain, const std::string& localpart, const std::string& node,
          std::int64_t keep) {
    w.exec_params0(
        "DELETE FROM pep_items WHERE domain = $1 AND localpart = $2 AND node = $3 AND seq NOT IN"
        " (SELECT seq FROM pep_items WHERE domain = $1 AND localpart = $2 AND node = $3"
        "  ORDER BY seq DESC LIMIT $4)",
        domain, localpart, node, keep);
}

bool node_exists(pqxx::work& w, const std::string& domain, const std::string& localpart, const std::string& node) {
    return !w.exec_params("SELECT 1 FROM pep_nodes WHERE domain = $1 AND localpart = $2 AND node = $3 FOR UPDATE",
                          domain, localpart, node)
                .empty();
}

std::vector<Item> to_items(const pqxx::result& rows) {
    std::vector<Item> out;
    out.reserve(rows.size());
    for (const auto& r : rows) out.push_back({r[0].as<std::string>(), r[1].as<std::string>()});
    return out;
}

}  // namespace

std::optional<NodeConfig> get_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                                   const std::string& node) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(std::string("SELECT ") + config_columns +
                                  " FROM pep_nodes WHERE domain = $1 AND localpart = $2 AND node = $3",
                              domain, localpart, node);
    if (rows.empty()) return std::nullopt;
    return config_from(rows[0], 0);
}

std::vector<NodeState> nodes(pqxx::connection& c, const std::string& domain, const std::string& localpart) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        std::string("SELECT n.node, i.item_id, i.payload, ") + config_columns +
            " FROM pep_nodes n LEFT JOIN LATERAL"
            " (SELECT item_id, payload FROM pep_items p WHERE p.domain = n.domain AND p.localpart = n.localpart"
            "  AND p.node = n.node ORDER BY seq DESC LIMIT 1) i ON true"
            " WHERE n.domain = $1 AND n.localpart = $2 ORDER BY n.node",
        domain, localpart);
    std::vector<NodeState> out;
    out.reserve(rows.size());
    for (const auto& r : rows) {
        NodeState s{r[0].as<std::string>(), config_from(r, 3), std::nullopt};
        if (!r[1].is_null()) s.last = Item{r[1].as<std::string>(), r[2].as<std::string>()};
        out.push_back(std::move(s));
    }
    return out;
}

bool create_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                 const std::string& node, const NodeConfig& cfg) {
    pqxx::work w(c);
    auto r = w.exec_params(std::string("INSERT INTO pep_nodes (domain, localpart, node, ") + config_columns +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                               " ON CONFLICT DO NOTHING",
                           domain, localpart, node, cfg.access_model, cfg.persist_items, cfg.max_items,
                           cfg.send_last_published_item, cfg.deliver_notifications, cfg.deliver_payloads,
                           cfg.notify_retract, cfg.notify_delete, cfg.title, cfg.description);
    w.commit();
    return r.affected_rows() == 1;
}

bool configure_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                    const std::string& node, const NodeConfig& cfg) {
    pqxx::work w(c);
    auto r = w.exec_params(
        "UPDATE pep_nodes SET access_model = $4, persist_items = $5, max_items = $6,"
        " send_last_published_item = $7, deliver_notifications = $8, deliver_payloads = $9,"
        " notify_retract = $10, notify_delete = $11, title = $12, description = $13"
        " WHERE domain = $1 AND localpart = $2 AND node = $3",
        domain, localpart, node, cfg.access_model, cfg.persist_items, cfg.max_items, cfg.send_last_published_item,
        cfg.deliver_notifications, cfg.deliver_payloads, cfg.notify_retract, cfg.notify_delete, cfg.title,
        cfg.description);
    if (r.affected_rows() == 0) return false;
    trim(w, domain, localpart, node, cfg.persist_items ? cfg.max_items : 0);
    w.commit();
    return true;
}

bool delete_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                 const std::string& node) {
    pqxx::work w(c);
    auto r = w.exec_params("DELETE FROM pep_nodes WHERE domain = $1 AND localpart = $2 AND node = $3", domain,
                           localpart, node);
    w.commit();
    return r.affected_rows() == 1;
}

bool purge_node(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                const std::string& node) {
    pqxx::work w(c);
    if (!node_exists(w, domain, localpart, node)) return false;
    w.exec_params0("DELETE FROM pep_items WHERE domain = $1 AND localpart = $2 AND node = $3", domain, localpart,
                   node);
    w.commit();
    return true;
}

void put_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
              const std::string& node, const Item& item, std::int64_t max_items) {
    pqxx::work w(c);
    w.exec_params0(
        "INSERT INTO pep_items (domain, localpart, node, item_id, payload) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (domain, localpart, node, item_id) DO UPDATE SET payload = EXCLUDED.payload,"
        " published_at = now(), seq = nextval('pep_item_seq')",
        domain, localpart, node, item.id, item.payload);
    trim(w, domain, localpart, node, max_items);
    w.commit();
}

std::vector<Item> items(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                        const std::string& node, std::optional<std::int64_t> max) {
    pqxx::read_transaction t(c);
    // LIMIT NULL is no limit.
    auto rows = t.exec_params(
        "SELECT item_id, payload FROM (SELECT item_id, payload, seq FROM pep_items"
        " WHERE domain = $1 AND localpart = $2 AND node = $3 ORDER BY seq DESC"
        " LIMIT CASE WHEN $4::bigint < 0 THEN NULL ELSE $4::bigint END) newest ORDER BY seq",
        domain, localpart, node, max.value_or(-1));
    return to_items(rows);
}

std::vector<Item> items_by_id(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                              const std::string& node, const std::vector<std::string>& ids) {
    pqxx::read_transaction t(c);
    auto rows = t.exec_params(
        "SELECT item_id, payload FROM pep_items WHERE domain = $1 AND localpart = $2 AND node = $3"
        " AND item_id = ANY($4::text[]) ORDER BY seq",
        domain, localpart, node, roster_store::to_array_literal(ids));
    return to_items(rows);
}

bool retract_item(pqxx::connection& c, const std::string& domain, const std::string& localpart,
                  const std::string& node, const std::string& id) {
    pqxx::work w(c);
    auto r = w.exec_params(
        "DELETE FROM pep_items WHERE domain = $1 AND localpart = $2 AND node = $3 AND item_id = $4", domain,
        localpart, node, id);
    w.commit();
    return r.affected_rows() == 1;
}

}  // namespace parley::storage::pep_store
