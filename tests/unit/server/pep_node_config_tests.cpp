// PEP node configuration forms (XEP-0060 §7.1.5 publish-options, §8.2 node_config)
// and access models (§4.5).
#include <doctest/doctest.h>

#include "protocol/xml/element.hpp"
#include "server/modules/pep/node_config.hpp"

using namespace parley::server::modules::pep;
using parley::protocol::xml::Element;

namespace {

Element form(std::string_view form_type, std::vector<std::pair<std::string, std::vector<std::string>>> fields,
             std::string type = "submit") {
    Element x("x", "jabber:x:data");
    x.set_attr("type", std::move(type));
    if (!form_type.empty()) {
        Element& ft = x.add_child("field");
        ft.set_attr("var", "FORM_TYPE");
        ft.set_attr("type", "hidden");
        ft.add_child("value").add_text(std::string(form_type));
    }
    for (auto& [var, values] : fields) {
        Element& f = x.add_child("field");
        f.set_attr("var", var);
        for (auto& v : values) f.add_child("value").add_text(v);
    }
    return x;
}

SubmittedForm submitted(std::vector<std::pair<std::string, std::vector<std::string>>> fields) {
    auto f = read_form(form(publish_options_form_type, std::move(fields)));
    REQUIRE(f);
    return *f;
}

const Element* field_of(const Element& x, std::string_view var) {
    for (const auto& c : x.children()) {
        if (!c.is_text() && c.name() == "field" && c.attr("var") == var) return &c;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("pep node config: read_form finds FORM_TYPE, type and fields in order") {
    auto f = read_form(form(publish_options_form_type, {{"pubsub#access_model", {"open"}}, {"pubsub#max_items", {"5"}}}));
    REQUIRE(f);
    CHECK(f->type == "submit");
    CHECK(f->form_type == publish_options_form_type);
    REQUIRE(f->fields.size() == 2);
    CHECK(f->fields[0].first == "pubsub#access_model");
    CHECK(f->fields[1].second == std::vector<std::string>{"5"});
    CHECK_FALSE(read_form(Element("x", "urn:other")));
    CHECK_FALSE(read_form(Element("query", "jabber:x:data")));
}

TEST_CASE("pep node config: defaults and applying every known field") {
    NodeConfig c;
    CHECK(c.access_model == "presence");
    CHECK(c.persist_items);
    CHECK(c.max_items == 1);
    CHECK(c.send_last_published_item == "on_sub_and_presence");

    auto check = apply_form(c,
                            submitted({{"pubsub#access_model", {"open"}},
                                       {"pubsub#persist_items", {"false"}},
                                       {"pubsub#max_items", {"max"}},
                                       {"pubsub#send_last_published_item", {"never"}},
                                       {"pubsub#deliver_notifications", {"0"}},
                                       {"pubsub#deliver_payloads", {"false"}},
                                       {"pubsub#notify_retract", {"0"}},
                                       {"pubsub#notify_delete", {"0"}},
                                       {"pubsub#title", {"Devices"}},
                                       {"pubsub#description", {"OMEMO"}}}),
                            1000);
    CHECK(check);
    CHECK(c.access_model == "open");
    CHECK_FALSE(c.persist_items);
    CHECK(c.max_items == 1000);  // "max" is the server's limit
    CHECK(c.send_last_published_item == "never");
    CHECK_FALSE(c.deliver_notifications);
    CHECK_FALSE(c.deliver_payloads);
    CHECK_FALSE(c.notify_retract);
    CHECK_FALSE(c.notify_delete);
    CHECK(c.title == "Devices");
    CHECK(c.description == "OMEMO");
}

TEST_CASE("pep node config: unknown fields, invalid and unsupported values are reported") {
    NodeConfig c;
    auto unknown = apply_form(c, submitted({{"pubsub#body_xslt", {"x"}}}), 1000);
    CHECK(unknown.problem == FormProblem::unknown_field);
    CHECK(unknown.field == "pubsub#body_xslt");

    for (auto [var, value] : std::vector<std::pair<std::string, std::string>>{
             {"pubsub#max_items", "0"},
             {"pubsub#max_items", "1001"},
             {"pubsub#max_items", "ten"},
             {"pubsub#max_items", "-1"},
             {"pubsub#persist_items", "yes"},
             {"pubsub#access_model", "everyone"},
             {"pubsub#send_last_published_item", "always"}}) {
        NodeConfig fresh;
        auto r = apply_form(fresh, submitted({{var, {value}}}), 1000);
        INFO(var << "=" << value);
        CHECK(r.problem == FormProblem::invalid_value);
        CHECK(r.field == var);
    }
    NodeConfig fresh;
    auto two_values = apply_form(fresh, submitted({{"pubsub#access_model", {"open", "presence"}}}), 1000);
    CHECK(two_values.problem == FormProblem::invalid_value);

    for (std::string model : {"roster", "authorize"}) {
        NodeConfig n;
        auto r = apply_form(n, submitted({{"pubsub#access_model", {model}}}), 1000);
        CHECK(r.problem == FormProblem::unsupported);
        CHECK(r.feature == "access-" + model);
    }
}

TEST_CASE("pep node config: publish-options preconditions against an existing node") {
    NodeConfig existing;
    existing.access_model = "open";
    existing.max_items = 1000;

    CHECK(check_preconditions(existing, submitted({{"pubsub#access_model", {"open"}}}), 1000).second ==
          Precondition::met);
    // "max" equals the limit a node created with "max" got.
    CHECK(check_preconditions(existing, submitted({{"pubsub#max_items", {"max"}}}), 1000).second == Precondition::met);
    CHECK(check_preconditions(existing, submitted({{"pubsub#persist_items", {"1"}}}), 1000).second ==
          Precondition::met);
    CHECK(check_preconditions(existing, submitted({}), 1000).second == Precondition::met);

    auto [ok, differs] = check_preconditions(existing, submitted({{"pubsub#access_model", {"presence"}}}), 1000);
    CHECK(ok);
    CHECK(differs == Precondition::not_met);
    auto [bad, unknown] = check_preconditions(existing, submitted({{"pubsub#whatever", {"1"}}}), 1000);
    CHECK(bad.problem == FormProblem::unknown_field);
    CHECK(unknown == Precondition::not_met);
}

TEST_CASE("pep node config: the configuration form shows the current values") {
    NodeConfig c;
    c.access_model = "whitelist";
    c.max_items = 42;
    c.persist_items = false;
    Element x = config_form(c);
    CHECK(x.name() == "x");
    CHECK(x.xmlns() == "jabber:x:data");
    CHECK(x.attr("type") == "form");
    REQUIRE(field_of(x, "FORM_TYPE"));
    CHECK(field_of(x, "FORM_TYPE")->child_text("value") == node_config_form_type);
    CHECK(field_of(x, "pubsub#access_model")->child_text("value") == "whitelist");
    CHECK(field_of(x, "pubsub#max_items")->child_text("value") == "42");
    CHECK(field_of(x, "pubsub#persist_items")->child_text("value") == "0");
    CHECK(field_of(x, "pubsub#notify_retract")->child_text("value") == "1");

    // Round trip: the form read back as a submission changes nothing.
    auto again = read_form(x);
    REQUIRE(again);
    NodeConfig copy = c;
    CHECK(apply_form(copy, *again, 1000));
    CHECK(copy == c);
}

TEST_CASE("pep node config: access models") {
    NodeConfig open, presence, whitelist;
    open.access_model = "open";
    presence.access_model = "presence";
    whitelist.access_model = "whitelist";
    CHECK(check_access(open, false, "none") == Access::allowed);
    CHECK(check_access(presence, false, "from") == Access::allowed);
    CHECK(check_access(presence, false, "both") == Access::allowed);
    CHECK(check_access(presence, false, "to") == Access::presence_subscription_required);
    CHECK(check_access(presence, false, "none") == Access::presence_subscription_required);
    CHECK(check_access(whitelist, false, "both") == Access::closed_node);
    for (const NodeConfig* c : {&open, &presence, &whitelist}) CHECK(check_access(*c, true, "none") == Access::allowed);
}
