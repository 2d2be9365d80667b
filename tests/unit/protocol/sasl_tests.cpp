// SASL basics: RFC 6120 failure names, strict base64, PLAIN (RFC 4616), SASLprep as
// OpaqueString.
#include <doctest/doctest.h>

#include <string>

#include "protocol/sasl/sasl.hpp"

using namespace parley::protocol::sasl;
using namespace std::string_literals;

TEST_CASE("sasl: failure names follow RFC 6120 §6.5") {
    CHECK(to_string(Failure::aborted) == "aborted");
    CHECK(to_string(Failure::account_disabled) == "account-disabled");
    CHECK(to_string(Failure::credentials_expired) == "credentials-expired");
    CHECK(to_string(Failure::encryption_required) == "encryption-required");
    CHECK(to_string(Failure::incorrect_encoding) == "incorrect-encoding");
    CHECK(to_string(Failure::invalid_authzid) == "invalid-authzid");
    CHECK(to_string(Failure::invalid_mechanism) == "invalid-mechanism");
    CHECK(to_string(Failure::malformed_request) == "malformed-request");
    CHECK(to_string(Failure::mechanism_too_weak) == "mechanism-too-weak");
    CHECK(to_string(Failure::not_authorized) == "not-authorized");
    CHECK(to_string(Failure::temporary_auth_failure) == "temporary-auth-failure");
}

TEST_CASE("sasl: base64 RFC 4648 vectors and round trips") {
    const std::pair<std::string, std::string> vectors[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, enc] : vectors) {
        CHECK(base64_encode(raw) == enc);
        CHECK(base64_decode(enc) == raw);
    }
    CHECK(base64_decode("=") == "");  // RFC 6120 §6.4.2: empty response
    CHECK(base64_encode("\xff\xfe\x00"s) == "//4A");

    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 7) {
        const std::string raw = all.substr(0, n);
        CHECK(base64_decode(base64_encode(raw)) == raw);
    }
}

TEST_CASE("sasl: base64 rejects what is not strict") {
    const char* bad[] = {
        "Zg=",       // length not a multiple of 4
        "Zg",        // missing padding
        "Z===",      // too much padding
        "====",
        "==",
        "Zm9v!A==",  // bad character
        "Zm 9",      // whitespace
        "Zm9v\n",
        "Zg==Zg==",  // padding in the middle
        "Zm=v",
        "Zh==",      // non-zero padding bits
        "Zm9=",
        "Zm9vYg=A",
        "Zm9v-_==",  // URL-safe alphabet
    };
    for (auto s : bad) {
        CAPTURE(s);
        CHECK_FALSE(base64_decode(s).has_value());
    }
}

TEST_CASE("sasl: PLAIN parsing") {
    SUBCASE("no authzid") {
        auto r = parse_plain("\0juliet\0pencil"s);
        REQUIRE(std::holds_alternative<PlainRequest>(r));
        const auto& p = std::get<PlainRequest>(r);
        CHECK(p.authzid.empty());
        CHECK(p.authcid == "juliet");
        CHECK(p.password == "pencil");
    }
    SUBCASE("authzid kept, username prepared like a localpart, password as is") {
        auto r = parse_plain("juliet@example.com\0Juliet\0PeNcil"s);
        REQUIRE(std::holds_alternative<PlainRequest>(r));
        const auto& p = std::get<PlainRequest>(r);
        CHECK(p.authzid == "juliet@example.com");
        CHECK(p.authcid == "juliet");
        CHECK(p.password == "PeNcil");
    }
    SUBCASE("password is OpaqueString: non-ASCII spaces mapped, NFC") {
        auto r = parse_plain("\0ｊｕｌｉｅｔ\0a\u00A0be\u0301"s);
        REQUIRE(std::holds_alternative<PlainRequest>(r));
        CHECK(std::get<PlainRequest>(r).authcid == "juliet");
        CHECK(std::get<PlainRequest>(r).password == "a bé");
    }
    SUBCASE("syntax errors are malformed-request") {
        const std::string bad[] = {
            "", "juliet", "juliet\0pencil"s, "\0\0pencil"s, "\0juliet\0"s, "\0\0"s,
            "a\0b\0c\0d"s, "\0ju\xffliet\0pencil"s, "\0juliet\0pen\xc0\xaf" "cil"s,
        };
        for (const auto& s : bad) {
            CAPTURE(s);
            auto r = parse_plain(s);
            REQUIRE(std::holds_alternative<Failure>(r));
            CHECK(std::get<Failure>(r) == Failure::malformed_request);
        }
    }
    SUBCASE("names or passwords PRECIS refuses are not-authorized") {
        const std::string bad[] = {
            "\0foo bar\0pencil"s, "\0jul/iet\0pencil"s, "\0♚\0pencil"s, "\0juliet\0pen\x01" "cil"s,
            "\0juliet\0pen\u200Bcil"s,
        };
        for (const auto& s : bad) {
            CAPTURE(s);
            auto r = parse_plain(s);
            REQUIRE(std::holds_alternative<Failure>(r));
            CHECK(std::get<Failure>(r) == Failure::not_authorized);
        }
    }
}

TEST_CASE("sasl: saslprep is PRECIS OpaqueString") {
    CHECK(saslprep("user") == "user");
    CHECK(saslprep("USER") == "USER");            // no case mapping
    CHECK(saslprep("correct horse") == "correct horse");
    CHECK(saslprep("\u00AA") == "\u00AA");        // compatibility characters stay
    CHECK(saslprep("\u2168") == "\u2168");
    CHECK(saslprep("ｐａｓｓ") == "ｐａｓｓ");      // no width mapping
    CHECK(saslprep("a\u2003b") == "a b");         // EM SPACE → SPACE
    CHECK(saslprep("A\u030A") == "\u00C5");       // NFC
    CHECK_FALSE(saslprep("").has_value());
    CHECK_FALSE(saslprep("\x07").has_value());
    CHECK_FALSE(saslprep("a\x7f").has_value());
    CHECK_FALSE(saslprep("I\u00ADX").has_value());  // soft hyphen is default-ignorable
    CHECK_FALSE(saslprep("\xff").has_value());
    CHECK_FALSE(saslprep("a\uFDD0").has_value());   // noncharacter
}
