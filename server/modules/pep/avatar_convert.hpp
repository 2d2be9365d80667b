#pragma once
// XEP-0398: the pure half of converting between XEP-0084 avatars (PEP) and the
// vCard PHOTO of XEP-0054/XEP-0153. No I/O.
#include <optional>
#include <string>
#include <string_view>

#include "protocol/xml/element.hpp"

namespace parley::server::modules::pep {

inline constexpr std::string_view avatar_data_node = "urn:xmpp:avatar:data";          // XEP-0084
inline constexpr std::string_view avatar_metadata_node = "urn:xmpp:avatar:metadata";  // XEP-0084
inline constexpr std::string_view vcard_ns = "vcard-temp";                            // XEP-0054
inline constexpr std::string_view pep_vcard_conversion_feature = "urn:xmpp:pep-vcard-conversion:0";

// An image: its MIME type and raw bytes.
struct Photo {
    std::string type;
    std::string bytes;
    friend bool operator==(const Photo&, const Photo&) = default;
};

// Lower-case hex SHA-1 of the bytes: the XEP-0084 item id and XEP-0153 hash.
std::string sha1_hex(std::string_view bytes);
// Base64 as vCards and avatar data carry it: whitespace (line folding) ignored.
std::optional<std::string> decode_base64_text(std::string_view text);
std::string encode_base64(std::string_view bytes);

// The vCard's embedded PHOTO (TYPE + BINVAL); nullopt when it has none or only an
// EXTVAL, or when BINVAL is not base64.
std::optional<Photo> vcard_photo(const protocol::xml::Element& vcard);
// The vCard with its PHOTO replaced by `photo`, or removed when nullopt; other
// properties stay as they are.
protocol::xml::Element with_photo(const protocol::xml::Element& vcard, const std::optional<Photo>& photo);

// <data xmlns='urn:xmpp:avatar:data'>base64</data>
protocol::xml::Element avatar_data(const Photo& photo);
// <metadata xmlns='urn:xmpp:avatar:metadata'><info bytes id type/></metadata>; an
// empty <metadata/> ("avatar disabled", XEP-0084 §4.2) when nullopt.
protocol::xml::Element avatar_metadata(const std::optional<Photo>& photo);

// The avatar a metadata payload points at: the id and type of the first <info/>
// without a url (XEP-0398 §3.1: the image stored in the data node).
struct AvatarInfo {
    std::string id;
    std::string type;
};
struct MetadataContent {
    bool disabled = false;            // empty <metadata/>
    std::optional<AvatarInfo> local;  // the info stored in PEP, if any
};
std::optional<MetadataContent> read_metadata(const protocol::xml::Element& metadata);
// The image bytes of a <data/> payload.
std::optional<std::string> read_avatar_data(const protocol::xml::Element& data);

}  // namespace parley::server::modules::pep
