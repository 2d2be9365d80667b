#include "protocol/errors.hpp"

#include <array>

#include "protocol/namespaces.hpp"

namespace parley::protocol {

namespace {

// Indexed by the enums' values, so the order must follow the declarations.
constexpr std::array<std::string_view, 25> stream_names = {
    "bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone",
    "host-unknown", "improper-addressing", "internal-server-error", "invalid-from",
    "invalid-namespace", "invalid-xml", "not-authorized", "not-well-formed", "policy-violation",
    "remote-connection-failed", "reset", "resource-constraint", "restricted-xml", "see-other-host",
    "system-shutdown", "undefined-condition", "unsupported-encoding", "unsupported-feature",
    "unsupported-stanza-type", "unsupported-version",
};
static_assert(static_cast<std::size_t>(StreamErrorCondition::unsupported_version) + 1 == stream_names.size());

struct StanzaConditionInfo {
    std::string_view name;
    StanzaErrorType type;  // the "SHOULD" type of RFC 6120 §8.3.3
};

constexpr std::array<StanzaConditionInfo, 22> stanza_conditions = {{
    {"bad-request", StanzaErrorType::modify},
    {"conflict", StanzaErrorType::cancel},
    {"feature-not-implemented", StanzaErrorType::cancel},
    {"forbidden", StanzaErrorType::auth},
    {"gone", StanzaErrorType::cancel},
    {"internal-server-error", StanzaErrorType::cancel},
    {"item-not-found", StanzaErrorType::cancel},
    {"jid-malformed", StanzaErrorType::modify},
    {"not-acceptable", StanzaErrorType::modify},
    {"not-allowed", StanzaErrorType::cancel},
    {"not-authorized", StanzaErrorType::auth},
    {"policy-violation", StanzaErrorType::modify},
    {"recipient-unavailable", StanzaErrorType::wait},
    {"redirect", StanzaErrorType::modify},
    {"registration-required", StanzaErrorType::auth},
    {"remote-server-not-found", StanzaErrorType::cancel},
    {"remote-server-timeout", StanzaErrorType::wait},
    {"resource-constraint", StanzaErrorType::wait},
    {"service-unavailable", StanzaErrorType::cancel},
    {"subscription-required", StanzaErrorType::auth},
    {"undefined-condition", StanzaErrorType::cancel},
    {"unexpected-request", StanzaErrorType::wait},
}};
static_assert(static_cast<std::size_t>(StanzaErrorCondition::unexpected_request) + 1 == stanza_conditions.size());

}  // namespace

std::string_view to_string(StreamErrorCondition c) {
    return stream_names.at(static_cast<std::size_t>(c));
}

std::string_view to_string(StanzaErrorCondition c) {
    return stanza_conditions.at(static_cast<std::size_t>(c)).name;
}

std::string_view to_string(StanzaErrorType t) {
    switch (t) {
    case StanzaErrorType::auth: return "auth";
    case StanzaErrorType::cancel: return "cancel";
    case StanzaErrorType::continue_: return "continue";
    case StanzaErrorType::modify: return "modify";
    case StanzaErrorType::wait: return "wait";
    }
    return "cancel";
}

std::optional<StanzaErrorCondition> stanza_condition_from_string(std::string_view s) {
    for (std::size_t i = 0; i < stanza_conditions.size(); ++i) {
        if (stanza_conditions[i].name == s) return static_cast<StanzaErrorCondition>(i);
    }
    return std::nullopt;
}

StanzaErrorType default_type(StanzaErrorCondition c) {
    return stanza_conditions.at(static_cast<std::size_t>(c)).type;
}

xml::Element make_stream_error(StreamErrorCondition c, std::string_view text) {
    xml::Element error("error", std::string(ns::stream));
    error.add_child(std::string(to_string(c)), std::string(ns::streams_errors));
    if (!text.empty()) {
        error.add_child("text", std::string(ns::streams_errors)).add_text(std::string(text));
    }
    return error;
}

xml::Element make_error_reply(const xml::Element& stanza, const StanzaError& error) {
    xml::Element reply(stanza.name(), stanza.xmlns());
    if (const std::string* id = stanza.find_attr("id")) reply.set_attr("id", *id);
    reply.set_attr("type", "error");
    if (const std::string* from = stanza.find_attr("from")) reply.set_attr("to", *from);
    if (const std::string* to = stanza.find_attr("to")) reply.set_attr("from", *to);

    xml::Element& err = reply.add_child("error");
    err.set_attr("type", std::string(to_string(error.type.value_or(default_type(error.condition)))));
    err.add_child(std::string(to_string(error.condition)), std::string(ns::stanzas_errors));
    if (!error.text.empty()) {
        err.add_child("text", std::string(ns::stanzas_errors)).add_text(error.text);
    }
    if (error.app) err.add_child(*error.app);
    return reply;
}

}  // namespace parley::protocol
