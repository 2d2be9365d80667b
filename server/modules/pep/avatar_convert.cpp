// XEP-0398 pure conversions — see avatar_convert.hpp.
#include "server/modules/pep/avatar_convert.hpp"
#include "protocol/hex.hpp"

#include <openssl/evp.h>

#include <cctype>

#include "protocol/sasl/sasl.hpp"

namespace parley::server::modules::pep {

using protocol::xml::Element;

std::string sha1_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha1(), nullptr);
    return protocol::to_hex(digest, len);
}

std::optional<std::string> decode_base64_text(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (char c : text) {
        if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
    }
    if (compact.empty()) return std::nullopt;
    return protocol::sasl::base64_decode(compact);
}

std::string encode_base64(std::string_view bytes) { return protocol::sasl::base64_encode(bytes); }

std::optional<Photo> vcard_photo(const Element& vcard) {
    const Element* photo = vcard.find_child("PHOTO", vcard_ns);
    if (!photo) return std::nullopt;
    const Element* binval = photo->find_child("BINVAL", vcard_ns);
    if (!binval) return std::nullopt;
    auto bytes = decode_base64_text(binval->text());
    if (!bytes || bytes->empty()) return std::nullopt;
    std::string type = photo->child_text("TYPE", vcard_ns);
    // XEP-0153 §3.1 requires TYPE; PNG is what XEP-0084 says every client reads.
    if (type.empty()) type = "image/png";
    return Photo{std::move(type), std::move(*bytes)};
}

Element with_photo(const Element& vcard, const std::optional<Photo>& photo) {
    Element out = vcard;
    out.remove_children("PHOTO", vcard_ns);
    if (photo) {
        Element& p = out.add_child("PHOTO", std::string(vcard_ns));
        p.add_child("TYPE", std::string(vcard_ns)).add_text(photo->type);
        p.add_child("BINVAL", std::string(vcard_ns)).add_text(encode_base64(photo->bytes));
    }
    return out;
}

Element avatar_data(const Photo& photo) {
    Element data("data", std::string(avatar_data_node));
    data.add_text(encode_base64(photo.bytes));
    return data;
}

Element avatar_metadata(const std::optional<Photo>& photo) {
    Element metadata("metadata", std::string(avatar_metadata_node));
    if (photo) {
        Element& info = metadata.add_child("info");
        info.set_attr("bytes", std::to_string(photo->bytes.size()));
        info.set_attr("id", sha1_hex(photo->bytes));
        info.set_attr("type", photo->type);
    }
    return metadata;
}

std::optional<MetadataContent> read_metadata(const Element& metadata) {
    if (metadata.name() != "metadata" || metadata.xmlns() != avatar_metadata_node) return std::nullopt;
    MetadataContent out;
    out.disabled = metadata.find_child("info", avatar_metadata_node) == nullptr;
    for (const Element& c : metadata.children()) {
        if (c.is_text() || c.name() != "info" || c.xmlns() != avatar_metadata_node) continue;
        if (c.has_attr("url") || c.attr("id").empty()) continue;
        out.local = AvatarInfo{std::string(c.attr("id")), std::string(c.attr("type"))};
        break;
    }
    return out;
}

std::optional<std::string> read_avatar_data(const Element& data) {
    if (data.name() != "data" || data.xmlns() != avatar_data_node) return std::nullopt;
    return decode_base64_text(data.text());
}

}  // namespace parley::server::modules::pep
