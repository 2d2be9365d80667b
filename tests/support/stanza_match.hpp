#pragma once
// Small vocabulary for what tests wait for and assert about received XML.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace parley::test {

using protocol::xml::Element;
using Match = std::function<bool(const Element&)>;

// Parses one element written as XML text (with or without xmlns on the root; the
// default is jabber:client), nullopt when it is not well-formed.
std::optional<Element> parse_fragment(std::string_view xml);
std::string to_xml(const Element& el);

bool is_stream_error(const Element& el);
// "conflict" for <stream:error><conflict xmlns='...xmpp-streams'/></stream:error>; "" otherwise.
std::string stream_error_condition(const Element& el);
// The condition of a stanza's <error/> child ("service-unavailable"), "" when none.
std::string stanza_error_condition(const Element& el);
std::string stanza_error_type(const Element& el);
// The condition of a SASL <failure/> ("not-authorized"), "" when it is not one.
std::string sasl_failure_condition(const Element& el);

Match any_stanza();
Match named(std::string name, std::string xmlns = {});
Match iq_reply_to(std::string id);  // type result or error with this id
Match message_with_body(std::string body);
Match message_from(std::string from);
Match presence();
Match both(Match a, Match b);

}  // namespace parley::test
