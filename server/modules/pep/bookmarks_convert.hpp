#pragma once
// XEP-0402 §5.3 / XEP-0411: the pure half of keeping PEP native bookmarks
// (urn:xmpp:bookmarks:1, one item per room) and XEP-0048 bookmarks (one
// <storage xmlns='storage:bookmarks'/> with every room, in PEP or private XML
// storage) the same. No I/O.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/xml/element.hpp"

namespace parley::server::modules::pep {

inline constexpr std::string_view bookmarks_node = "urn:xmpp:bookmarks:1";         // XEP-0402
inline constexpr std::string_view legacy_bookmarks_node = "storage:bookmarks";     // XEP-0048
inline constexpr std::string_view legacy_bookmarks_item = "current";               // XEP-0048 §3.1 (PEP)
inline constexpr std::string_view bookmarks_compat_feature = "urn:xmpp:bookmarks:1#compat";
inline constexpr std::string_view bookmarks_compat_pep_feature = "urn:xmpp:bookmarks:1#compat-pep";
inline constexpr std::string_view bookmarks_conversion_feature = "urn:xmpp:bookmarks-conversion:0";

// One room, in the shape both formats share.
struct Bookmark {
    std::string jid;  // XEP-0402 item id, XEP-0048 'jid' attribute
    std::string name;
    bool autojoin = false;
    std::optional<std::string> nick, password;
    // XEP-0402 <extensions/> children; in XEP-0048 form they are the conference's
    // other children, which legacy clients keep as unknown elements.
    std::vector<protocol::xml::Element> extensions;
};

// The conferences of a <storage xmlns='storage:bookmarks'/> (those without a jid
// are dropped; for a jid given twice the first wins).
std::vector<Bookmark> from_legacy(const protocol::xml::Element& storage);
// The <storage/> with these conferences, then `extras` (its <url/> bookmarks, which
// XEP-0402 has no place for and which must survive a round trip).
protocol::xml::Element to_legacy(const std::vector<Bookmark>& bookmarks,
                                 const std::vector<protocol::xml::Element>& extras);
// The children of a <storage/> that are not conferences.
std::vector<protocol::xml::Element> legacy_extras(const protocol::xml::Element& storage);

// A native item (id + <conference xmlns='urn:xmpp:bookmarks:1'/>); nullopt when the
// payload is not a conference.
std::optional<Bookmark> from_native(std::string_view item_id, const protocol::xml::Element& conference);
protocol::xml::Element to_native(const Bookmark& bookmark);

}  // namespace parley::server::modules::pep
