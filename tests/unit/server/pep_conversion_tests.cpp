// The pure halves of the PEP conversions: XEP-0398 (vCard PHOTO ↔ XEP-0084 avatar)
// and XEP-0402 §5.3 (native bookmarks ↔ XEP-0048 storage).
#include <doctest/doctest.h>

#include "server/modules/pep/avatar_convert.hpp"
#include "server/modules/pep/bookmarks_convert.hpp"
#include "server/modules/private/stored_xml.hpp"

using parley::protocol::xml::Element;
using namespace parley::server::modules;
using namespace parley::server::modules::pep;

namespace {

Element xml(std::string_view text) {
    auto el = parse_stored_xml(text);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << text);
    return *el;
}

}  // namespace

TEST_CASE("avatar: SHA-1 hex and base64 as vCards fold it") {
    CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(decode_base64_text("aGVs\n  bG8=\r\n") == std::optional<std::string>("hello"));
    CHECK_FALSE(decode_base64_text("not base64!"));
    CHECK_FALSE(decode_base64_text("  \n"));
    const std::string bytes("\x89PNG\0\xff", 6);
    CHECK(decode_base64_text(encode_base64(bytes)) == std::optional<std::string>(bytes));
}

TEST_CASE("avatar: the vCard PHOTO is read, replaced and removed, other properties kept") {
    Element v = xml("<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/jpeg</TYPE>"
                    "<BINVAL>aGVs\nbG8=</BINVAL></PHOTO></vCard>");
    auto photo = vcard_photo(v);
    REQUIRE(photo);
    CHECK(photo->type == "image/jpeg");
    CHECK(photo->bytes == "hello");

    CHECK_FALSE(vcard_photo(xml("<vCard xmlns='vcard-temp'><FN>x</FN></vCard>")));
    CHECK_FALSE(vcard_photo(xml("<vCard xmlns='vcard-temp'><PHOTO><EXTVAL>https://e.org/a</EXTVAL></PHOTO></vCard>")));
    // No TYPE: PNG, what XEP-0084 requires every client to read.
    CHECK(vcard_photo(xml("<vCard xmlns='vcard-temp'><PHOTO><BINVAL>aGk=</BINVAL></PHOTO></vCard>"))->type == "image/png");

    Element replaced = with_photo(v, Photo{"image/png", "hi"});
    CHECK(replaced.child_text("FN", "vcard-temp") == "Alice");
    CHECK(vcard_photo(replaced) == std::optional<Photo>(Photo{"image/png", "hi"}));
    std::size_t photos = 0;
    for (const auto& c : replaced.children()) photos += !c.is_text() && c.name() == "PHOTO";
    CHECK(photos == 1);

    Element removed = with_photo(v, std::nullopt);
    CHECK(removed.find_child("PHOTO", "vcard-temp") == nullptr);
    CHECK(removed.child_text("FN", "vcard-temp") == "Alice");
}

TEST_CASE("avatar: data and metadata payloads, and the info that points into PEP") {
    const Photo p{"image/png", "hello"};
    Element data = avatar_data(p);
    CHECK(data.xmlns() == "urn:xmpp:avatar:data");
    CHECK(read_avatar_data(data) == std::optional<std::string>("hello"));

    Element meta = avatar_metadata(p);
    const Element* info = meta.find_child("info", "urn:xmpp:avatar:metadata");
    REQUIRE(info);
    CHECK(info->attr("id") == sha1_hex("hello"));
    CHECK(info->attr("bytes") == "5");
    CHECK(info->attr("type") == "image/png");
    auto read = read_metadata(meta);
    REQUIRE(read);
    CHECK_FALSE(read->disabled);
    REQUIRE(read->local);
    CHECK(read->local->id == sha1_hex("hello"));

    auto disabled = read_metadata(avatar_metadata(std::nullopt));
    REQUIRE(disabled);
    CHECK(disabled->disabled);
    CHECK_FALSE(disabled->local);

    // §3.1: the info without a url is the one stored in PEP.
    auto mixed = read_metadata(xml("<metadata xmlns='urn:xmpp:avatar:metadata'>"
                                   "<info id='aaa' url='https://e.org/a.png' type='image/png' bytes='1'/>"
                                   "<info id='bbb' type='image/gif' bytes='2'/></metadata>"));
    REQUIRE(mixed);
    REQUIRE(mixed->local);
    CHECK(mixed->local->id == "bbb");
    CHECK(mixed->local->type == "image/gif");
    auto url_only = read_metadata(xml("<metadata xmlns='urn:xmpp:avatar:metadata'><info id='a' url='https://e.org/'/></metadata>"));
    REQUIRE(url_only);
    CHECK_FALSE(url_only->disabled);
    CHECK_FALSE(url_only->local);
    CHECK_FALSE(read_metadata(xml("<data xmlns='urn:xmpp:avatar:data'/>")));
}

TEST_CASE("bookmarks: XEP-0048 storage to native items and back") {
    Element storage = xml(
        "<storage xmlns='storage:bookmarks'>"
        "<conference jid='room@muc.example' name='Room' autojoin='1'><nick>al</nick><password>pw</password>"
        "<pinned xmlns='urn:xmpp:bookmarks-pinning:0'/></conference>"
        "<conference jid='tea@muc.example'/>"
        "<conference jid='room@muc.example' name='duplicate'/>"
        "<conference name='no jid'/>"
        "<url name='Home' url='https://example.org/'/></storage>");
    auto bookmarks = from_legacy(storage);
    REQUIRE(bookmarks.size() == 2);
    CHECK(bookmarks[0].jid == "room@muc.example");
    CHECK(bookmarks[0].name == "Room");
    CHECK(bookmarks[0].autojoin);
    CHECK(bookmarks[0].nick == std::optional<std::string>("al"));
    CHECK(bookmarks[0].password == std::optional<std::string>("pw"));
    REQUIRE(bookmarks[0].extensions.size() == 1);
    CHECK_FALSE(bookmarks[1].autojoin);
    CHECK_FALSE(bookmarks[1].nick);

    Element native = to_native(bookmarks[0]);
    CHECK(native.name() == "conference");
    CHECK(native.xmlns() == "urn:xmpp:bookmarks:1");
    CHECK(native.attr("name") == "Room");
    CHECK(native.attr("autojoin") == "true");
    CHECK(native.child_text("nick", "urn:xmpp:bookmarks:1") == "al");
    const Element* ext = native.find_child("extensions", "urn:xmpp:bookmarks:1");
    REQUIRE(ext);
    CHECK(ext->find_child("pinned", "urn:xmpp:bookmarks-pinning:0"));
    CHECK_FALSE(native.has_attr("jid"));  // XEP-0402: the jid is the item id

    // Through the native form and back to XEP-0048: the same conferences, URLs kept.
    auto again = from_native("room@muc.example", xml(to_stored_xml(native)));
    REQUIRE(again);
    CHECK(to_stored_xml(to_native(*again)) == to_stored_xml(native));
    Element legacy = to_legacy({*again, bookmarks[1]}, legacy_extras(storage));
    CHECK(to_stored_xml(legacy) == to_stored_xml(to_legacy(from_legacy(legacy), legacy_extras(legacy))));
    const Element* room = legacy.find_child("conference", "storage:bookmarks");
    REQUIRE(room);
    CHECK(room->attr("jid") == "room@muc.example");
    CHECK(room->attr("autojoin") == "true");
    CHECK(room->child_text("password", "storage:bookmarks") == "pw");
    CHECK(room->find_child("pinned", "urn:xmpp:bookmarks-pinning:0"));
    CHECK(legacy.find_child("url", "storage:bookmarks"));

    CHECK_FALSE(from_native("", native));
    CHECK_FALSE(from_native("x@y", xml("<storage xmlns='storage:bookmarks'/>")));
}
