// JIDs per RFC 7622: the §3.5 examples, PRECIS mapping, IDNA domains, IP literals and
// the 1023-octet limits.
#include <doctest/doctest.h>

#include <string>
#include <unordered_set>

#include "protocol/jid.hpp"

using parley::protocol::Jid;

namespace {

Jid must_parse(std::string_view s) {
    auto j = Jid::parse(s);
    REQUIRE_MESSAGE(j.has_value(), "should be valid: ", std::string(s));
    return *j;
}

}  // namespace

TEST_CASE("jid: RFC 7622 §3.5 valid examples") {
    struct Case {
        const char* text;
        const char* local;
        const char* domain;
        const char* resource;
    };
    const Case cases[] = {
        {"juliet@example.com", "juliet", "example.com", ""},
        {"juliet@example.com/foo", "juliet", "example.com", "foo"},
        {"juliet@example.com/foo bar", "juliet", "example.com", "foo bar"},
        {"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar"},
        {"foo\\20bar@example.com", "foo\\20bar", "example.com", ""},
        {"fussball@example.com", "fussball", "example.com", ""},
        {"fußball@example.com", "fußball", "example.com", ""},
        {"π@example.com", "π", "example.com", ""},
        {"Σ@example.com/foo", "σ", "example.com", "foo"},
        {"σ@example.com/foo", "σ", "example.com", "foo"},
        {"ς@example.com/foo", "ς", "example.com", "foo"},
        {"king@example.com/♚", "king", "example.com", "♚"},
        {"example.com", "", "example.com", ""},
        {"example.com/foobar", "", "example.com", "foobar"},
        {"a.example.com/b@example.net", "", "a.example.com", "b@example.net"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.text);
        const Jid j = must_parse(c.text);
        CHECK(j.local() == c.local);
        CHECK(j.domain() == c.domain);
        CHECK(j.resource() == c.resource);
    }
    // toLowerCase, not case folding: ß and ς keep their identity.
    CHECK(must_parse("fußball@example.com") != must_parse("fussball@example.com"));
    CHECK(must_parse("ς@example.com") != must_parse("σ@example.com"));
    CHECK(must_parse("Σ@example.com") == must_parse("σ@example.com"));
}

TEST_CASE("jid: RFC 7622 §3.5 invalid examples and other malformed input") {
    const std::string_view bad[] = {
        "\"juliet\"@example.com",  // '"' excluded from localparts
        "foo bar@example.com",     // space in a localpart
        "juliet@example.com/",     // empty resource
        "@example.com/",
        "henryⅣ@example.com",      // compatibility-decomposable code point
        "♚@example.com",           // symbol in a localpart
        "juliet@",
        "/foobar",
        "",
        "@example.com",
        "example.com/",
        "a@b@example.com",
        "a&b@example.com", "a'b@example.com", "a:b@example.com", "a<b@example.com",
        "a>b@example.com",
        "user@conference..example.org",
        "user@.example.org",
        "user@-domain.com",
        "user@domain-.com",
        "user@do_main.com",
        "user@exa mple.com",
        "jul\x01iet@example.com",
        "juliet@example.com/a\tb",
        "[127.0.0.1]",
        "[::1",
        "user@[::1%eth0]",
        "user@[example.com]",
        "juliet@example.com..",
        "juliet@.",
        "ju\xffliet@example.com",
        "juliet@example.com/\xc0\xaf",  // overlong '/'
        "juliet@example.com/\xed\xa0\x80",  // encoded surrogate
    };
    for (auto s : bad) {
        CAPTURE(s);
        CHECK_FALSE(Jid::parse(s).has_value());
    }
    CHECK_FALSE(Jid::parse(std::string_view("foo\0bar@example.org", 19)).has_value());
    CHECK_FALSE(Jid::parse(std::string_view("foo@example.org/a\0b", 19)).has_value());
}

TEST_CASE("jid: case mapping and comparison") {
    CHECK(must_parse("Juliet@Example.COM") == must_parse("juliet@example.com"));
    CHECK(must_parse("Juliet@Example.COM").to_string() == "juliet@example.com");
    // Resources are case-sensitive (OpaqueString).
    CHECK(must_parse("juliet@example.com/Foo") != must_parse("juliet@example.com/foo"));
    CHECK(must_parse("juliet@example.com/Foo").resource() == "Foo");
    CHECK(must_parse("ÉLODIE@example.com").local() == "élodie");
    CHECK(must_parse("ΑΒΓ@example.com").local() == "αβγ");
}

TEST_CASE("jid: width mapping, normalization and spaces") {
    // Fullwidth letters in a localpart become ASCII...
    CHECK(must_parse("ｊｕｌｉｅｔ@example.com").local() == "juliet");
    CHECK(must_parse("ＪＵＬＩＥＴ@example.com") == must_parse("juliet@example.com"));
    // ...so a fullwidth '@' becomes an excluded '@'.
    CHECK_FALSE(Jid::parse("a＠b@example.com").has_value());
    // Halfwidth katakana maps to the ordinary form.
    CHECK(must_parse("ｶ@example.com").local() == "カ");
    // Resources are not width-mapped.
    CHECK(must_parse("juliet@example.com/ｆｏｏ").resource() == "ｆｏｏ");
    // NFC everywhere: a decomposed é equals the precomposed one.
    CHECK(must_parse("e\u0301@example.com") == must_parse("é@example.com"));
    CHECK(must_parse("x@example.com/Re\u0301s").resource() == "Rés");
    // Non-ASCII spaces in a resource become U+0020; controls and ignorables are refused.
    CHECK(must_parse("x@example.com/a\u00A0b\u3000c").resource() == "a b c");
    CHECK_FALSE(Jid::parse("x@example.com/a\u0085b").has_value());
    CHECK_FALSE(Jid::parse("x@example.com/a\u200Bb").has_value());
    CHECK_FALSE(Jid::parse("a\u00A0b@example.com").has_value());
    CHECK(must_parse("x@example.com/ foo ").resource() == " foo ");
    CHECK(must_parse("x@example.com/a/b").resource() == "a/b");
    CHECK(must_parse("x@example.com/♚ ½ Ⅳ").resource() == "♚ ½ Ⅳ");
}

TEST_CASE("jid: contextual rules in localparts") {
    CHECK(must_parse("col·lecció@example.com").local() == "col·lecció");  // l·l
    CHECK_FALSE(Jid::parse("a·b@example.com").has_value());
    CHECK_FALSE(Jid::parse("a\u200Db@example.com").has_value());  // ZWJ without virama
    CHECK(Jid::parse("क\u094D\u200Dष@example.com").has_value());    // ZWJ after virama
    CHECK(Jid::parse("١٢@example.com").has_value());  // Arabic-Indic digits alone
    CHECK_FALSE(Jid::parse("١۲@example.com").has_value());  // mixed with extended ones
    CHECK(Jid::parse("ア・イ@example.com").has_value());   // katakana middle dot
    CHECK_FALSE(Jid::parse("\u0378@example.com").has_value());  // unassigned
}

TEST_CASE("jid: internationalized domains") {
    CHECK(must_parse("juliet@Bücher.Example").domain() == "bücher.example");
    CHECK(must_parse("juliet@xn--bcher-kva.example").domain() == "bücher.example");
    CHECK(must_parse("juliet@XN--BCHER-KVA.example") == must_parse("juliet@bücher.example"));
    CHECK(must_parse("juliet@ｅｘａｍｐｌｅ.com").domain() == "example.com");
    CHECK(must_parse("juliet@例え。テスト").domain() == "例え.テスト");
    CHECK_FALSE(Jid::parse("juliet@xn--zz--.example").has_value());
    CHECK_FALSE(Jid::parse("juliet@♚.example").has_value());
    CHECK_FALSE(Jid::parse("juliet@bü cher.example").has_value());
    CHECK_FALSE(Jid::parse("juliet@bü_cher.example").has_value());
    CHECK_FALSE(Jid::parse("juliet@bü:cher.example").has_value());
}

TEST_CASE("jid: trailing dot and IP literals") {
    CHECK(must_parse("juliet@example.com.") == must_parse("juliet@example.com"));
    CHECK(must_parse("example.com./r").domain() == "example.com");
    CHECK(must_parse("juliet@192.168.1.1").domain() == "192.168.1.1");
    CHECK(must_parse("juliet@[::1]/r").domain() == "[::1]");
    CHECK(must_parse("juliet@[2001:DB8:0::0:1]").domain() == "[2001:db8::1]");
    CHECK(must_parse("[2001:db8::1]") == must_parse("[2001:0db8:0:0::1]"));
}

TEST_CASE("jid: 1023-octet limits") {
    const std::string a1023(1023, 'a'), a1024(1024, 'a');
    CHECK(Jid::parse(a1023 + "@example.com").has_value());
    CHECK_FALSE(Jid::parse(a1024 + "@example.com").has_value());
    CHECK(Jid::parse("x@example.com/" + a1023).has_value());
    CHECK_FALSE(Jid::parse("x@example.com/" + a1024).has_value());
    CHECK_FALSE(Jid::parse(std::string(20000, 'a') + "@example.com").has_value());

    // Multi-byte parts count octets, not characters.
    std::string e511;
    for (int i = 0; i < 511; ++i) e511 += "é";
    CHECK(Jid::parse(e511 + "a@example.com").has_value());       // 1023 octets
    CHECK_FALSE(Jid::parse(e511 + "é@example.com").has_value());  // 1024 octets
    CHECK(Jid::parse("x@example.com/" + e511 + "a").has_value());
    CHECK_FALSE(Jid::parse("x@example.com/" + e511 + "é").has_value());
    // Fullwidth input three times longer than its result is still fine.
    std::string wide;
    for (int i = 0; i < 1000; ++i) wide += "ａ";
    CHECK(Jid::parse(wide + "@example.com").has_value());

    std::string d1023, d1024;
    for (int i = 0; i < 16; ++i) d1023 += (i ? "." : "") + std::string(63, 'd');
    for (int i = 0; i < 16; ++i) d1024 += std::string(62, 'd') + ".";
    d1024 += std::string(16, 'd');
    REQUIRE(d1023.size() == 1023);
    REQUIRE(d1024.size() == 1024);
    CHECK(Jid::parse("x@" + d1023).has_value());
    CHECK_FALSE(Jid::parse("x@" + d1024).has_value());
    CHECK(Jid::parse("x@" + std::string(63, 'd') + ".com").has_value());
    CHECK_FALSE(Jid::parse("x@" + std::string(64, 'd') + ".com").has_value());
}

TEST_CASE("jid: parts, accessors and hashing") {
    auto j = Jid::from_parts("Juliet", "Example.com", "balcony");
    REQUIRE(j);
    CHECK(j->to_string() == "juliet@example.com/balcony");
    CHECK(j->bare_string() == "juliet@example.com");
    CHECK(j->bare() == must_parse("juliet@example.com"));
    CHECK(j->bare().is_bare());
    CHECK_FALSE(j->is_bare());
    CHECK(j->has_local());
    CHECK(j->with_resource("garden").to_string() == "juliet@example.com/garden");
    CHECK_FALSE(Jid::from_parts("a@b", "example.com").has_value());
    CHECK_FALSE(Jid::from_parts("a", "").has_value());
    auto d = Jid::from_parts("", "example.com");
    REQUIRE(d);
    CHECK_FALSE(d->has_local());
    CHECK(d->to_string() == "example.com");
    CHECK(Jid().empty());

    CHECK(Jid::prep_localpart("Romeo") == "romeo");
    CHECK_FALSE(Jid::prep_localpart("").has_value());
    CHECK_FALSE(Jid::prep_resource("").has_value());
    CHECK(Jid::prep_domain("EXAMPLE.org.") == "example.org");

    std::unordered_set<Jid> set{must_parse("a@example.com/r"), must_parse("A@EXAMPLE.com/r")};
    CHECK(set.size() == 1);
}
