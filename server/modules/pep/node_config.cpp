#include "server/modules/pep/node_config.hpp"

#include <charconv>

namespace parley::server::modules::pep {

using protocol::xml::Element;

namespace {

constexpr std::string_view data_ns = "jabber:x:data";

// XEP-0004 §3.3 boolean: "0"/"false" or "1"/"true".
std::optional<bool> parse_bool(const std::string& v) {
    if (v == "1" || v == "true") return true;
    if (v == "0" || v == "false") return false;
    return std::nullopt;
}

std::optional<std::int64_t> parse_max_items(const std::string& v, std::int64_t limit) {
    if (v == "max") return limit;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || n < 1 || n > limit) return std::nullopt;
    return n;
}

bool one_of(const std::string& v, std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed) {
        if (v == a) return true;
    }
    return false;
}

FormCheck problem(FormProblem p, const std::string& field, std::string feature = {}) {
    return FormCheck{p, field, std::move(feature)};
}

FormCheck apply_field(NodeConfig& c, const std::string& var, const std::vector<std::string>& values,
                      std::int64_t limit) {
    // Every field we know is single-valued; no value means an empty one.
    if (values.size() > 1) return problem(FormProblem::invalid_value, var);
    const std::string v = values.empty() ? std::string() : values.front();
    auto set_bool = [&](bool& target) {
        auto b = parse_bool(v);
        if (!b) return problem(FormProblem::invalid_value, var);
        target = *b;
        return FormCheck{};
    };
    if (var == "pubsub#access_model") {
        if (one_of(v, {"open", "presence", "whitelist"})) {
            c.access_model = v;
            return {};
        }
        if (one_of(v, {"roster", "authorize"})) return problem(FormProblem::unsupported, var, "access-" + v);
        return problem(FormProblem::invalid_value, var);
    }
    if (var == "pubsub#max_items") {
        auto n = parse_max_items(v, limit);
        if (!n) return problem(FormProblem::invalid_value, var);
        c.max_items = *n;
        return {};
    }
    if (var == "pubsub#send_last_published_item") {
        if (!one_of(v, {"never", "on_sub", "on_sub_and_presence"})) return problem(FormProblem::invalid_value, var);
        c.send_last_published_item = v;
        return {};
    }
    if (var == "pubsub#persist_items") return set_bool(c.persist_items);
    if (var == "pubsub#deliver_notifications") return set_bool(c.deliver_notifications);
    if (var == "pubsub#deliver_payloads") return set_bool(c.deliver_payloads);
    if (var == "pubsub#notify_retract") return set_bool(c.notify_retract);
    if (var == "pubsub#notify_delete") return set_bool(c.notify_delete);
    if (var == "pubsub#title") {
        c.title = v;
        return {};
    }
    if (var == "pubsub#description") {
        c.description = v;
        return {};
    }
    return problem(FormProblem::unknown_field, var);
}

Element field(std::string var, std::string type, std::string label, std::vector<std::string> values) {
    Element f("field", std::string(data_ns));
    f.set_attr("var", std::move(var));
    f.set_attr("type", std::move(type));
    if (!label.empty()) f.set_attr("label", std::move(label));
    for (auto& v : values) f.add_child("value").add_text(std::move(v));
    return f;
}

std::string bool_value(bool b) { return b ? "1" : "0"; }

Element list_field(std::string var, std::string label, const std::string& value,
                   std::initializer_list<std::string_view> options) {
    Element f = field(std::move(var), "list-single", std::move(label), {value});
    for (auto o : options) f.add_child("option").add_child("value").add_text(std::string(o));
    return f;
}

}  // namespace

std::optional<SubmittedForm> read_form(const Element& x) {
    if (x.name() != "x" || x.xmlns() != data_ns) return std::nullopt;
    SubmittedForm form;
    form.type = std::string(x.attr("type"));
    for (const auto& child : x.children()) {
        if (child.is_text() || child.name() != "field" || child.xmlns() != data_ns) continue;
        std::vector<std::string> values;
        for (const auto& v : child.children()) {
            if (!v.is_text() && v.name() == "value") values.push_back(v.text());
        }
        std::string var(child.attr("var"));
        if (var == "FORM_TYPE") {
            form.form_type = values.empty() ? std::string() : values.front();
            continue;
        }
        form.fields.emplace_back(std::move(var), std::move(values));
    }
    return form;
}

FormCheck apply_form(NodeConfig& config, const SubmittedForm& form, std::int64_t max_items_limit) {
    for (const auto& [var, values] : form.fields) {
        FormCheck c = apply_field(config, var, values, max_items_limit);
        if (!c) return c;
    }
    return {};
}

std::pair<FormCheck, Precondition> check_preconditions(const NodeConfig& existing, const SubmittedForm& options,
                                                       std::int64_t max_items_limit) {
    NodeConfig wanted = existing;
    FormCheck c = apply_form(wanted, options, max_items_limit);
    if (!c) return {c, Precondition::not_met};
    return {c, wanted == existing ? Precondition::met : Precondition::not_met};
}

Access check_access(const NodeConfig& config, bool is_owner, std::string_view subscription) {
    if (is_owner || config.access_model == "open") return Access::allowed;
    if (config.access_model == "presence") {
        return subscription == "from" || subscription == "both" ? Access::allowed
                                                                 : Access::presence_subscription_required;
    }
    return Access::closed_node;  // whitelist: the owner only (no affiliations yet)
}

Element config_form(const NodeConfig& c) {
    Element x("x", std::string(data_ns));
    x.set_attr("type", "form");
    x.add_child(field("FORM_TYPE", "hidden", {}, {std::string(node_config_form_type)}));
    x.add_child(field("pubsub#title", "text-single", "A friendly name for the node", {c.title}));
    x.add_child(field("pubsub#description", "text-single", "A description of the node", {c.description}));
    x.add_child(list_field("pubsub#access_model", "Who may retrieve items and get notifications", c.access_model,
                           {"open", "presence", "whitelist"}));
    x.add_child(field("pubsub#persist_items", "boolean", "Persist items to storage", {bool_value(c.persist_items)}));
    x.add_child(field("pubsub#max_items", "text-single", "Max number of items to persist",
                      {std::to_string(c.max_items)}));
    x.add_child(list_field("pubsub#send_last_published_item", "When to send the last published item",
                           c.send_last_published_item, {"never", "on_sub", "on_sub_and_presence"}));
    x.add_child(field("pubsub#deliver_notifications", "boolean", "Deliver event notifications",
                      {bool_value(c.deliver_notifications)}));
    x.add_child(field("pubsub#deliver_payloads", "boolean", "Deliver payloads with event notifications",
                      {bool_value(c.deliver_payloads)}));
    x.add_child(field("pubsub#notify_retract", "boolean", "Notify subscribers when items are removed",
                      {bool_value(c.notify_retract)}));
    x.add_child(field("pubsub#notify_delete", "boolean", "Notify subscribers when the node is deleted",
                      {bool_value(c.notify_delete)}));
    return x;
}

}  // namespace parley::server::modules::pep
