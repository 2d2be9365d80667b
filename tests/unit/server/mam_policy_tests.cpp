// XEP-0313 archiving rules, XEP-0082 DateTimes and archive id text (mam_policy).
#include <doctest/doctest.h>

#include "protocol/xml/stream_parser.hpp"
#include "server/modules/mam/mam.hpp"
#include "server/modules/mam/mam_policy.hpp"

using namespace parley::server::modules;
using parley::protocol::xml::Element;

namespace {

Element msg(std::string type, std::vector<Element> children) {
    Element m("message", "jabber:client");
    if (!type.empty()) m.set_attr("type", type);
    for (auto& c : children) m.add_child(std::move(c));
    return m;
}

Element body(std::string text) {
    Element b("body", "jabber:client");
    b.add_text(std::move(text));
    return b;
}

}  // namespace

TEST_CASE("mam policy: what is archived") {
    CHECK(mam::should_archive(msg("chat", {body("hi")})));
    CHECK(mam::should_archive(msg("", {body("hi")})));
    CHECK_FALSE(mam::should_archive(msg("groupchat", {body("hi")})));
    CHECK_FALSE(mam::should_archive(msg("headline", {body("hi")})));
    CHECK_FALSE(mam::should_archive(msg("error", {body("hi")})));
    CHECK_FALSE(mam::should_archive(msg("chat", {Element("composing", "http://jabber.org/protocol/chatstates")})));
    CHECK_FALSE(mam::should_archive(msg("chat", {body("hi"), Element("no-permanent-store", "urn:xmpp:hints")})));
    CHECK_FALSE(mam::should_archive(msg("chat", {body("hi"), Element("no-store", "urn:xmpp:hints")})));
    CHECK_FALSE(mam::should_archive(msg("chat", {Element("received", "urn:xmpp:carbons:2")})));
    CHECK_FALSE(mam::should_archive(msg("", {Element("result", "urn:xmpp:mam:2")})));
    CHECK(mam::should_archive(msg("chat", {Element("encrypted", "eu.siacs.conversations.axolotl")})));
}

TEST_CASE("mam policy: XEP-0082 DateTimes") {
    CHECK(mam::parse_datetime("1970-01-01T00:00:00Z") == 0);
    CHECK(mam::parse_datetime("1970-01-01T00:00:01.5Z") == 1'500'000);
    CHECK(mam::parse_datetime("1970-01-01T02:00:00+02:00") == 0);
    CHECK(mam::parse_datetime("1969-12-31T23:00:00-01:00") == 0);
    CHECK(mam::parse_datetime("2024-02-29T12:00:00Z"));
    CHECK(mam::parse_datetime("2026-11-28T06:28:22.123456789Z") == mam::parse_datetime("2026-11-28T06:28:22.123456Z"));
    CHECK_FALSE(mam::parse_datetime("2023-02-29T12:00:00Z"));
    CHECK_FALSE(mam::parse_datetime("2026-11-28T06:28:22"));  // no zone
    CHECK_FALSE(mam::parse_datetime("2026-11-28 06:28:22Z"));
    CHECK_FALSE(mam::parse_datetime("2026-13-01T00:00:00Z"));
    CHECK_FALSE(mam::parse_datetime("2026-11-28T24:00:00Z"));
    CHECK_FALSE(mam::parse_datetime("2026-11-28T06:28:22.Z"));
    CHECK_FALSE(mam::parse_datetime("2026-11-28T06:28:22Zjunk"));
    CHECK_FALSE(mam::parse_datetime(""));
    const std::int64_t t = *mam::parse_datetime("2026-11-28T06:28:22.123456Z");
    CHECK(mam::format_datetime(t) == "2026-11-28T06:28:22.123456Z");
    CHECK(mam::parse_datetime(mam::format_datetime(-1)) == -1);
}

TEST_CASE("mam policy: ids sort as text as they do as numbers") {
    CHECK(mam::id_text(1) == "0000000000000001");
    CHECK(mam::id_text(1) < mam::id_text(16));
    CHECK(mam::parse_id(mam::id_text(1764311302123456)) == 1764311302123456);
    CHECK_FALSE(mam::parse_id("xyz"));
    CHECK_FALSE(mam::parse_id("000000000000000G"));
    CHECK_FALSE(mam::parse_id("ffffffffffffffff"));  // above int64
    Element m = msg("chat", {body("x")});
    Element forged("stanza-id", "urn:xmpp:sid:0");
    forged.set_attr("by", "bob@example.org").set_attr("id", "forged");
    m.add_child(forged);
    Element other("stanza-id", "urn:xmpp:sid:0");
    other.set_attr("by", "room@muc.example.org").set_attr("id", "kept");
    m.add_child(other);
    mam::stamp_stanza_id(m, 42, "bob@example.org");
    int ours = 0, kept = 0;
    for (const auto& c : m.children()) {
        if (c.name() != "stanza-id") continue;
        if (c.attr("by") == "bob@example.org") {
            ++ours;
            CHECK(c.attr("id") == mam::id_text(42));
        } else {
            ++kept;
        }
    }
    CHECK(ours == 1);
    CHECK(kept == 1);
}

TEST_CASE("mam policy: preferences") {
    mam::Prefs p;
    p.default_mode = "always";
    p.never = {"troll@example.org"};
    p.always = {"troll@example.org", "friend@example.org"};
    CHECK(mam::decide(p, "troll@example.org") == mam::Decision::skip);  // never wins
    CHECK(mam::decide(p, "anyone@example.org") == mam::Decision::archive);
    p.default_mode = "never";
    CHECK(mam::decide(p, "friend@example.org") == mam::Decision::archive);
    CHECK(mam::decide(p, "anyone@example.org") == mam::Decision::skip);
    p.default_mode = "roster";
    CHECK(mam::decide(p, "anyone@example.org") == mam::Decision::ask_roster);
}
