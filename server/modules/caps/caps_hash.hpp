#pragma once
// XEP-0115 §5: the verification string ('ver') of a disco#info <query/>, and the
// well-formedness checks of §5.4. Pure: no I/O, usable from tests.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace parley::server::modules::caps {

enum class HashAlgorithm { sha1, sha256 };

// "sha-1", "sha-256" (the IANA names XEP-0115 uses); nullopt for any other.
std::optional<HashAlgorithm> hash_from_name(std::string_view name);

// How a data form's FORM_TYPE field without a 'type' attribute is taken. §5.4 says a
// form whose FORM_TYPE is not of type "hidden" is ignored; some generators omit the
// type in result forms and hash the form anyway.
enum class UntypedFormType { ignore_form, include_form };

// The string S of §5.1 (identities, features, then XEP-0128 forms, each sorted, every
// item followed by '<'); nullopt when the query is ill-formed per §5.4 (duplicate
// identity or feature, two forms with one FORM_TYPE, a FORM_TYPE with different values).
std::optional<std::string> verification_input(const protocol::xml::Element& query,
                                              UntypedFormType rule = UntypedFormType::ignore_form);

// base64(hash(S)); nullopt when the query is ill-formed.
std::optional<std::string> verification_string(const protocol::xml::Element& query, HashAlgorithm algorithm,
                                               UntypedFormType rule = UntypedFormType::ignore_form);

// Whether `query` hashes to `ver` (under either reading of an untyped FORM_TYPE).
bool matches(const protocol::xml::Element& query, HashAlgorithm algorithm, std::string_view ver);

}  // namespace parley::server::modules::caps
