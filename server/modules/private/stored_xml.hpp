#pragma once
// Elements kept in the database as XML text (private storage, vCards) and read back.
// Stored text was written by serialize() from an element that arrived in a stanza, so
// it is well-formed and within the stanza limits; parsing it again is a safety net,
// not a trust boundary.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace parley::server::modules {

// The element serialized with its own namespace declared (no parent namespace).
std::string to_stored_xml(const protocol::xml::Element& el);
// The element back; nullopt when the text is not exactly one well-formed element.
std::optional<protocol::xml::Element> parse_stored_xml(std::string_view xml);

}  // namespace parley::server::modules
