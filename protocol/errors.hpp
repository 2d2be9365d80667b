#pragma once
// Stream errors (RFC 6120 §4.9) and stanza errors (RFC 6120 §8.3) as values, with
// builders for the wire elements.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace parley::protocol {

enum class StreamErrorCondition {
    bad_format, bad_namespace_prefix, conflict, connection_timeout, host_gone,
    host_unknown, improper_addressing, internal_server_error, invalid_from,
    invalid_namespace, invalid_xml, not_authorized, not_well_formed, policy_violation,
    remote_connection_failed, reset, resource_constraint, restricted_xml, see_other_host,
    system_shutdown, undefined_condition, unsupported_encoding, unsupported_feature,
    unsupported_stanza_type, unsupported_version,
};

enum class StanzaErrorCondition {
    bad_request, conflict, feature_not_implemented, forbidden, gone,
    internal_server_error, item_not_found, jid_malformed, not_acceptable, not_allowed,
    not_authorized, policy_violation, recipient_unavailable, redirect,
    registration_required, remote_server_not_found, remote_server_timeout,
    resource_constraint, service_unavailable, subscription_required,
    undefined_condition, unexpected_request,
};

enum class StanzaErrorType { auth, cancel, continue_, modify, wait };

std::string_view to_string(StreamErrorCondition c);  // "not-well-formed"
std::string_view to_string(StanzaErrorCondition c);  // "service-unavailable"
std::string_view to_string(StanzaErrorType t);       // "cancel"
std::optional<StanzaErrorCondition> stanza_condition_from_string(std::string_view s);
// The type RFC 6120 §8.3.3 gives each condition in its examples.
StanzaErrorType default_type(StanzaErrorCondition c);

struct StanzaError {
    StanzaErrorCondition condition = StanzaErrorCondition::undefined_condition;
    std::string text;                     // optional human-readable text
    std::optional<StanzaErrorType> type;  // default_type(condition) when unset
    std::optional<xml::Element> app;      // application-specific condition element
};

// A StanzaError with just a condition (and text), its type the condition's default.
inline StanzaError stanza_error(StanzaErrorCondition condition, std::string text = {}) {
    return StanzaError{condition, std::move(text), std::nullopt, std::nullopt};
}
// With an explicit type, where a XEP names one other than the condition's default
// (XEP-0045: service-unavailable of type wait for a full room).
inline StanzaError stanza_error(StanzaErrorCondition condition, StanzaErrorType type) {
    return StanzaError{condition, {}, type, std::nullopt};
}

// <stream:error><cond xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>[<text/>]</stream:error>
xml::Element make_stream_error(StreamErrorCondition c, std::string_view text = {});

// The error reply to `stanza`: same name and id, to/from swapped, type='error',
// and an <error type='...'> child with the condition (and text, and app element).
// The original payload is not echoed.
xml::Element make_error_reply(const xml::Element& stanza, const StanzaError& error);

}  // namespace parley::protocol
