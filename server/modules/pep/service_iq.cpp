// PEP iq handlers in the http://jabber.org/protocol/pubsub namespace: publish (with
// publish-options and auto-create), create, retract, items.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <random>

#include "protocol/namespaces.hpp"
#include "server/modules/pep/bookmarks_convert.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/routing/router.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace parley::server::modules::pep {

namespace ps = storage::pep_store;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace {

const StanzaError internal_error = protocol::stanza_error(StanzaErrorCondition::internal_server_error);

std::string new_item_id() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string id;
    for (int part = 0; part < 2; ++part) {
        std::uint64_t v = rng();
        for (int i = 0; i < 16; ++i, v >>= 4) id += hex[v & 15];
    }
    return id;
}

std::vector<const Element*> child_elements(const Element& el) {
    std::vector<const Element*> out;
    for (const auto& c : el.children()) {
        if (!c.is_text()) out.push_back(&c);
    }
    return out;
}

// The subscription `contact` has in the owner's roster ("none" when absent).
std::string subscription_of(pqxx::connection& c, const protocol::Jid& owner, const std::string& contact) {
    auto roster = storage::roster_store::get(c, owner.domain(), owner.local());
    for (const auto& item : roster.items) {
        if (item.jid == contact) return item.subscription;
    }
    return "none";
}

// A form problem as the error XEP-0060 gives it; publish-options treat unknown fields
// as a precondition that cannot be met (§7.1.5), configuration as a bad request.
StanzaError form_error(const FormCheck& check, bool publish_options) {
    switch (check.problem) {
        case FormProblem::unsupported:
            return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported", check.feature);
        case FormProblem::unknown_field:
            if (publish_options) return pubsub_error(StanzaErrorCondition::conflict, "precondition-not-met");
            return protocol::stanza_error(StanzaErrorCondition::bad_request, "unknown field " + check.field);
        default:
            return protocol::stanza_error(StanzaErrorCondition::bad_request, "invalid value of " + check.field);
    }
}

}  // namespace

StanzaError pubsub_error(StanzaErrorCondition condition, std::string_view app, std::string_view feature) {
    StanzaError e = protocol::stanza_error(condition);
    if (!app.empty()) {
        Element a{std::string(app), std::string(protocol::ns::pubsub_errors)};
        if (!feature.empty()) a.set_attr("feature", std::string(feature));
        e.app = std::move(a);
    }
    return e;
}

Service::Service(ModuleContext& ctx)
    : ctx_(ctx),
      db_(ctx.db()),
      router_(ctx.router()),
      sessions_(ctx.sessions()),
      caps_(ctx.caps()),
      max_item_bytes_(ctx.config().limits.max_pep_item_bytes),
      max_items_limit_(static_cast<std::int64_t>(ctx.config().limits.max_pep_items_per_node)) {}

boost::asio::awaitable<IqResult> Service::pubsub_set(const routing::Stanza& iq) {
    const Element* pubsub = iq.el.first_child_element();
    if (!pubsub || pubsub->name() != "pubsub") co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (const Element* p = pubsub->find_child("publish", protocol::ns::pubsub)) co_return co_await publish(iq, *pubsub, *p);
    if (const Element* r = pubsub->find_child("retract", protocol::ns::pubsub)) co_return co_await retract(iq, *r);
    if (const Element* c = pubsub->find_child("create", protocol::ns::pubsub)) co_return co_await create(iq, *pubsub, *c);
    if (pubsub->find_child("subscribe", protocol::ns::pubsub) || pubsub->find_child("unsubscribe", protocol::ns::pubsub)) {
        // PEP subscriptions come from presence (XEP-0163 §4.3.1), not from requests.
        co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported", "subscribe");
    }
    co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported");
}

boost::asio::awaitable<IqResult> Service::pubsub_get(const routing::Stanza& iq) {
    const Element* pubsub = iq.el.first_child_element();
    if (!pubsub || pubsub->name() != "pubsub") co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (const Element* i = pubsub->find_child("items", protocol::ns::pubsub)) co_return co_await items(iq, *i);
    if (pubsub->find_child("subscriptions", protocol::ns::pubsub)) {
        co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported", "retrieve-subscriptions");
    }
    if (pubsub->find_child("affiliations", protocol::ns::pubsub)) {
        co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported", "retrieve-affiliations");
    }
    co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported");
}

boost::asio::awaitable<IqResult> Service::publish(const routing::Stanza& iq, const Element& pubsub,
                                                  const Element& publish) {
    // XEP-0060 §7.1.3: the checks, in the order the section lists them.
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const std::string node(publish.attr("node"));
    if (node.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "nodeid-required");
    const auto item_els = child_elements(publish);
    if (item_els.empty() || item_els.front()->name() != "item") {
        co_return pubsub_error(StanzaErrorCondition::bad_request, "item-required");
    }
    if (item_els.size() > 1) co_return pubsub_error(StanzaErrorCondition::bad_request, "invalid-payload");
    const auto payloads = child_elements(*item_els.front());
    if (payloads.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "payload-required");
    if (payloads.size() > 1) co_return pubsub_error(StanzaErrorCondition::bad_request, "invalid-payload");
    Item item{std::string(item_els.front()->attr("id")), to_stored_xml(*payloads.front())};
    if (item.payload.size() > max_item_bytes_) {
        co_return pubsub_error(StanzaErrorCondition::not_acceptable, "payload-too-big");
    }
    if (item.id.empty()) item.id = new_item_id();

    // §7.1.5: publish-options are preconditions on an existing node and the
    // configuration of a node created now.
    std::optional<SubmittedForm> options;
    if (const Element* po = pubsub.find_child("publish-options", protocol::ns::pubsub)) {
        if (const Element* x = po->find_child("x", "jabber:x:data")) {
            options = read_form(*x);
            if (!options || options->form_type != publish_options_form_type) {
                co_return protocol::stanza_error(StanzaErrorCondition::bad_request, "publish-options need FORM_TYPE");
            }
            NodeConfig probe;
            if (FormCheck c = apply_form(probe, *options, max_items_limit_); !c) co_return form_error(c, true);
        }
    }

    struct Outcome {
        bool precondition_met = true;
        NodeConfig config;
    };
    const protocol::Jid owner = iq.to.bare();
    const std::int64_t limit = max_items_limit_;
    auto store = [owner, node, item, options, limit](pqxx::connection& c) {
        Outcome out;
        if (auto existing = ps::get_node(c, owner.domain(), owner.local(), node)) {
            out.config = *existing;
            if (options && check_preconditions(*existing, *options, limit).second != Precondition::met) {
                out.precondition_met = false;
                return out;
            }
        } else {
            if (options) apply_form(out.config, *options, limit);
            ps::create_node(c, owner.domain(), owner.local(), node, out.config);
        }
        if (out.config.persist_items) ps::put_item(c, owner.domain(), owner.local(), node, item, out.config.max_items);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto stored = co_await db_.run<Outcome>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("pep_publish_failed account={} node={} error={}", owner.bare_string(), node,
                      stored.error().message());
        co_return internal_error;
    }
    if (!stored->precondition_met) co_return pubsub_error(StanzaErrorCondition::conflict, "precondition-not-met");
    set_volatile_item(owner, node, stored->config.persist_items ? std::nullopt : std::optional<Item>(item));

    if (stored->config.deliver_notifications) {
        Element items_el("items", std::string(protocol::ns::pubsub_event));
        items_el.set_attr("node", node);
        Element& item_el = items_el.add_child("item");
        item_el.set_attr("id", item.id);
        if (stored->config.deliver_payloads) item_el.add_child(*payloads.front());
        const NodeConfig config = stored->config;
        co_await broadcast(owner, node, config, items_el);
    }
    // XEP-0398 / XEP-0402 #compat: the copies in the other formats, before the
    // result, so the client sees them once its publish is acknowledged.
    co_await after_change(owner, node, Origin::client);

    Element result("pubsub", std::string(protocol::ns::pubsub));
    Element& pub = result.add_child("publish");
    pub.set_attr("node", node);
    pub.add_child("item").set_attr("id", item.id);
    co_return std::optional<Element>(std::move(result));
}

boost::asio::awaitable<IqResult> Service::create(const routing::Stanza& iq, const Element& pubsub,
                                                 const Element& create) {
    // XEP-0060 §8.1: only the owner creates nodes on its account; no instant nodes.
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const std::string node(create.attr("node"));
    if (node.empty()) co_return pubsub_error(StanzaErrorCondition::not_acceptable, "nodeid-required");
    NodeConfig config;
    if (const Element* configure = pubsub.find_child("configure", protocol::ns::pubsub)) {
        if (const Element* x = configure->find_child("x", "jabber:x:data")) {
            auto form = read_form(*x);
            if (!form || (!form->form_type.empty() && form->form_type != node_config_form_type)) {
                co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
            }
            if (FormCheck c = apply_form(config, *form, max_items_limit_); !c) co_return form_error(c, false);
        }
    }
    const protocol::Jid owner = iq.to.bare();
    auto store = [owner, node, config](pqxx::connection& c) {
        return ps::create_node(c, owner.domain(), owner.local(), node, config);
    };
    const std::string key = routing::account_key(owner);
    auto created = co_await db_.run<bool>(key, std::move(store), boost::asio::use_awaitable);
    if (!created) co_return internal_error;
    if (!*created) co_return protocol::stanza_error(StanzaErrorCondition::conflict);  // §8.1.3: exists
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> Service::retract(const routing::Stanza& iq, const Element& retract) {
    // XEP-0060 §7.2.
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const std::string node(retract.attr("node"));
    if (node.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "nodeid-required");
    const Element* item_el = retract.find_child("item", protocol::ns::pubsub);
    const std::string id = item_el ? std::string(item_el->attr("id")) : std::string();
    if (id.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "item-required");
    const std::string_view notify_attr = retract.attr("notify");

    struct Outcome {
        std::optional<NodeConfig> config;
        bool removed = false;
    };
    const protocol::Jid owner = iq.to.bare();
    auto store = [owner, node, id](pqxx::connection& c) {
        Outcome out;
        out.config = ps::get_node(c, owner.domain(), owner.local(), node);
        if (out.config && out.config->persist_items) out.removed = ps::retract_item(c, owner.domain(), owner.local(), node, id);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto done = co_await db_.run<Outcome>(key, std::move(store), boost::asio::use_awaitable);
    if (!done) co_return internal_error;
    if (!done->config) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
    if (!done->config->persist_items) {
        auto current = volatile_item(owner, node);
        done->removed = current && current->id == id;
        if (done->removed) set_volatile_item(owner, node, std::nullopt);
    }
    if (!done->removed) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);

    // §7.2.2: notify when asked to, or when the node says so and the request did not
    // say otherwise.
    const bool notify = notify_attr.empty() ? done->config->notify_retract : (notify_attr == "true" || notify_attr == "1");
    if (notify && done->config->deliver_notifications) {
        Element items_el("items", std::string(protocol::ns::pubsub_event));
        items_el.set_attr("node", node);
        items_el.add_child("retract").set_attr("id", id);
        const NodeConfig config = *done->config;
        co_await broadcast(owner, node, config, items_el);
    }
    co_await after_change(owner, node, Origin::client);
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> Service::items(const routing::Stanza& iq, const Element& items_req) {
    // XEP-0060 §6.5.
    const std::string node(items_req.attr("node"));
    if (node.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "nodeid-required");
    if ((node == bookmarks_node || node == legacy_bookmarks_node) && routing::is_from_owner(iq)) {
        const protocol::Jid account = iq.to.bare();
        co_await migrate_private_bookmarks(account);
    }
    std::optional<std::int64_t> max;
    if (items_req.has_attr("max_items")) {
        const std::string text(items_req.attr("max_items"));
        char* end = nullptr;
        const long long n = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || n < 1) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
        max = n;
    }
    std::vector<std::string> ids;
    for (const Element* c : child_elements(items_req)) {
        if (c->name() == "item" && c->has_attr("id")) ids.emplace_back(c->attr("id"));
    }

    struct Outcome {
        std::optional<NodeConfig> config;
        Access access = Access::allowed;
        std::vector<Item> items;
    };
    const protocol::Jid owner = iq.to.bare();
    const bool is_owner = routing::is_from_owner(iq);
    const std::string requester = iq.from.bare_string();
    auto load = [owner, node, is_owner, requester, max, ids](pqxx::connection& c) {
        Outcome out;
        out.config = ps::get_node(c, owner.domain(), owner.local(), node);
        if (!out.config) return out;
        const bool needs_roster = !is_owner && out.config->access_model == "presence";
        out.access = check_access(*out.config, is_owner, needs_roster ? subscription_of(c, owner, requester) : "none");
        if (out.access != Access::allowed || !out.config->persist_items) return out;
        out.items = ids.empty() ? ps::items(c, owner.domain(), owner.local(), node, max)
                                : ps::items_by_id(c, owner.domain(), owner.local(), node, ids);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto loaded = co_await db_.run<Outcome>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) {
        spdlog::error("pep_items_failed account={} node={} error={}", owner.bare_string(), node,
                      loaded.error().message());
        co_return internal_error;
    }
    if (!loaded->config) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
    // §6.5.9.
    if (loaded->access == Access::presence_subscription_required) {
        co_return pubsub_error(StanzaErrorCondition::not_authorized, "presence-subscription-required");
    }
    if (loaded->access == Access::closed_node) co_return pubsub_error(StanzaErrorCondition::not_allowed, "closed-node");
    if (!loaded->config->persist_items) {
        auto last = volatile_item(owner, node);
        if (last && (ids.empty() || std::find(ids.begin(), ids.end(), last->id) != ids.end())) {
            loaded->items.push_back(std::move(*last));
        }
    }

    Element result("pubsub", std::string(protocol::ns::pubsub));
    Element& out = result.add_child("items");
    out.set_attr("node", node);
    for (auto& it : loaded->items) {
        Element& item_el = out.add_child("item");
        item_el.set_attr("id", it.id);
        auto payload = parse_stored_xml(it.payload);
        if (payload) {
            item_el.add_child(std::move(*payload));
        } else {
            spdlog::error("pep_item_unreadable account={} node={} item={}", owner.bare_string(), node, it.id);
        }
    }
    co_return std::optional<Element>(std::move(result));
}

std::optional<Item> Service::volatile_item(const protocol::Jid& owner, const std::string& node) const {
    std::lock_guard lock(mutex_);
    auto it = volatile_items_.find(owner.bare_string() + "\n" + node);
    if (it == volatile_items_.end()) return std::nullopt;
    return it->second;
}

void Service::set_volatile_item(const protocol::Jid& owner, const std::string& node, std::optional<Item> item) {
    std::string key = owner.bare_string() + "\n" + node;
    std::lock_guard lock(mutex_);
    if (item) {
        volatile_items_[std::move(key)] = std::move(*item);
    } else {
        volatile_items_.erase(key);
    }
}

}  // namespace parley::server::modules::pep
