// PEP iq handlers in the http://jabber.org/protocol/pubsub#owner namespace (XEP-0060
// §8): configure (get and set), default, delete, purge. The owner only.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "protocol/namespaces.hpp"
#include "server/modules/pep/service.hpp"
#include "storage/database.hpp"

namespace parley::server::modules::pep {

namespace ps = storage::pep_store;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace {

// The one owner request element of a <pubsub xmlns='...#owner'/> payload.
const Element* owner_request(const routing::Stanza& iq) {
    const Element* pubsub = iq.el.first_child_element();
    if (!pubsub || pubsub->name() != "pubsub") return nullptr;
    return pubsub->first_child_element();
}

Element owner_payload(Element child) {
    Element pubsub("pubsub", std::string(protocol::ns::pubsub_owner));
    pubsub.add_child(std::move(child));
    return pubsub;
}

}  // namespace

boost::asio::awaitable<IqResult> Service::owner_get(const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* req = owner_request(iq);
    if (!req) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (req->name() == "configure") {
        const std::string node(req->attr("node"));
        if (node.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "nodeid-required");
        co_return co_await configure_get(iq, node);
    }
    if (req->name() == "default") {  // §8.3: the configuration a new node gets
        Element def("default", std::string(protocol::ns::pubsub_owner));
        def.add_child(config_form(NodeConfig{}));
        co_return std::optional<Element>(owner_payload(std::move(def)));
    }
    co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported");
}

boost::asio::awaitable<IqResult> Service::owner_set(const routing::Stanza& iq) {
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* req = owner_request(iq);
    if (!req) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    const std::string node(req->attr("node"));
    if (req->name() == "configure" || req->name() == "delete" || req->name() == "purge") {
        if (node.empty()) co_return pubsub_error(StanzaErrorCondition::bad_request, "nodeid-required");
    }
    if (req->name() == "configure") co_return co_await configure_set(iq, node, *req);
    if (req->name() == "delete") co_return co_await delete_or_purge(iq, node, false);
    if (req->name() == "purge") co_return co_await delete_or_purge(iq, node, true);
    co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported");
}

boost::asio::awaitable<IqResult> Service::configure_get(const routing::Stanza& iq, const std::string& node) {
    const protocol::Jid owner = iq.to.bare();
    auto load = [owner, node](pqxx::connection& c) { return ps::get_node(c, owner.domain(), owner.local(), node); };
    const std::string key = routing::account_key(owner);
    auto loaded = co_await db_.run<std::optional<NodeConfig>>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    if (!*loaded) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
    Element configure("configure", std::string(protocol::ns::pubsub_owner));
    configure.set_attr("node", node);
    configure.add_child(config_form(**loaded));
    co_return std::optional<Element>(owner_payload(std::move(configure)));
}

boost::asio::awaitable<IqResult> Service::configure_set(const routing::Stanza& iq, const std::string& node,
                                                        const Element& configure) {
    // §8.2.4/§8.2.5: a submitted form replaces the fields it names; a cancelled one
    // changes nothing; a bad one is refused as a whole.
    const Element* x = configure.find_child("x", "jabber:x:data");
    if (!x) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    auto form = read_form(*x);
    if (!form) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (form->type != "submit" && form->type != "cancel") co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    if (!form->form_type.empty() && form->form_type != node_config_form_type) {
        co_return protocol::stanza_error(StanzaErrorCondition::bad_request, "FORM_TYPE is not pubsub#node_config");
    }

    struct Outcome {
        bool found = false;
        FormCheck check;
        NodeConfig before, after;
    };
    const protocol::Jid owner = iq.to.bare();
    const std::int64_t limit = max_items_limit_;
    const bool cancel = form->type == "cancel";
    auto store = [owner, node, form = *form, limit, cancel](pqxx::connection& c) {
        Outcome out;
        auto existing = ps::get_node(c, owner.domain(), owner.local(), node);
        if (!existing) return out;
        out.found = true;
        out.before = out.after = *existing;
        if (cancel) return out;
        out.check = apply_form(out.after, form, limit);
        if (out.check && !(out.after == out.before)) ps::configure_node(c, owner.domain(), owner.local(), node, out.after);
        return out;
    };
    const std::string key = routing::account_key(owner);
    auto done = co_await db_.run<Outcome>(key, std::move(store), boost::asio::use_awaitable);
    if (!done) {
        spdlog::error("pep_configure_failed account={} node={} error={}", owner.bare_string(), node,
                      done.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    if (!done->found) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
    if (!done->check) {
        if (done->check.problem == FormProblem::unsupported) {
            co_return pubsub_error(StanzaErrorCondition::feature_not_implemented, "unsupported", done->check.feature);
        }
        co_return protocol::stanza_error(StanzaErrorCondition::bad_request,
                                         (done->check.problem == FormProblem::unknown_field ? "unknown field "
                                                                                            : "invalid value of ") +
                                             done->check.field);
    }
    // Items that are no longer persisted: only the last one stays, in memory.
    if (done->before.persist_items && !done->after.persist_items) set_volatile_item(owner, node, std::nullopt);
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> Service::delete_or_purge(const routing::Stanza& iq, const std::string& node,
                                                          bool purge) {
    // §8.4 delete, §8.5 purge: both notify with the node's configuration as it was.
    const protocol::Jid owner = iq.to.bare();
    auto store = [owner, node, purge](pqxx::connection& c) {
        auto config = ps::get_node(c, owner.domain(), owner.local(), node);
        if (config) {
            if (purge) {
                ps::purge_node(c, owner.domain(), owner.local(), node);
            } else {
                ps::delete_node(c, owner.domain(), owner.local(), node);
            }
        }
        return config;
    };
    const std::string key = routing::account_key(owner);
    auto done = co_await db_.run<std::optional<NodeConfig>>(key, std::move(store), boost::asio::use_awaitable);
    if (!done) {
        spdlog::error("pep_delete_failed account={} node={} error={}", owner.bare_string(), node,
                      done.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    if (!*done) co_return protocol::stanza_error(StanzaErrorCondition::item_not_found);
    set_volatile_item(owner, node, std::nullopt);
    const NodeConfig config = **done;
    // Purge notifications follow notify_retract (§8.5.2 ties them to item removal).
    const bool notify = config.deliver_notifications && (purge ? config.notify_retract : config.notify_delete);
    if (notify) {
        Element event_child(purge ? "purge" : "delete", std::string(protocol::ns::pubsub_event));
        event_child.set_attr("node", node);
        co_await broadcast(owner, node, config, event_child);
    }
    co_await after_change(owner, node, Origin::client);
    co_return std::optional<Element>{};
}

}  // namespace parley::server::modules::pep
