#pragma once
// XEP-0060 node configuration as data forms (XEP-0004): reading a submitted
// pubsub#node_config or pubsub#publish-options form into a NodeConfig, checking
// publish-options as preconditions (§7.1.5), and writing the configuration form
// (§8.2). Pure functions, no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/xml/element.hpp"
#include "storage/pep_store.hpp"

namespace parley::server::modules::pep {

using storage::pep_store::NodeConfig;

inline constexpr std::string_view node_config_form_type = "http://jabber.org/protocol/pubsub#node_config";
inline constexpr std::string_view publish_options_form_type = "http://jabber.org/protocol/pubsub#publish-options";

// A submitted data form: its type attribute, FORM_TYPE, and every other field with its
// values, in document order.
struct SubmittedForm {
    std::string type;       // "submit", "cancel", ...
    std::string form_type;  // the FORM_TYPE value, "" when absent
    std::vector<std::pair<std::string, std::vector<std::string>>> fields;
};

// nullopt when `x` is not a jabber:x:data form.
std::optional<SubmittedForm> read_form(const protocol::xml::Element& x);

enum class FormProblem {
    none,
    unknown_field,  // a field this service does not know
    invalid_value,  // a known field with a value it cannot take
    unsupported,    // a valid value this service does not implement (access_model roster/authorize)
};

struct FormCheck {
    FormProblem problem = FormProblem::none;
    std::string field;    // the field at fault
    std::string feature;  // for unsupported: the XEP-0060 feature name ("access-roster")
    explicit operator bool() const { return problem == FormProblem::none; }
};

// Applies every field of `form` to `config`; on a problem `config` is left partly
// changed, so apply to a copy. `max_items_limit` is the highest pubsub#max_items
// accepted, and what "max" means.
FormCheck apply_form(NodeConfig& config, const SubmittedForm& form, std::int64_t max_items_limit);

// Publish-options against an existing node (XEP-0060 §7.1.5): whether every option
// equals the node's value. A problem in the form itself is reported as it is.
enum class Precondition { met, not_met };
std::pair<FormCheck, Precondition> check_preconditions(const NodeConfig& existing, const SubmittedForm& options,
                                                       std::int64_t max_items_limit);

// Who may retrieve items and get notifications (XEP-0060 §4.5): the owner always;
// others per access model, given the subscription ("none", "to", "from", "both") the
// owner's roster gives them.
enum class Access { allowed, presence_subscription_required, closed_node };
Access check_access(const NodeConfig& config, bool is_owner, std::string_view subscription);

// The <x xmlns='jabber:x:data' type='form'/> with the node's current values.
protocol::xml::Element config_form(const NodeConfig& config);

}  // namespace parley::server::modules::pep
