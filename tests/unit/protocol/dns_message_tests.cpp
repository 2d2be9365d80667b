#include <doctest/doctest.h>

#include <random>

#include "protocol/dns/dns_message.hpp"

using namespace parley::protocol::dns;
using Bytes = std::vector<std::uint8_t>;

namespace {

Message sample_response() {
    Message m;
    m.id = 0xbeef;
    m.is_response = true;
    m.authoritative = true;
    m.recursion_desired = true;
    m.recursion_available = true;
    m.questions.push_back({"_xmpp-server._tcp.example.org", RecordType::srv, class_in});
    m.answers.push_back({"_xmpp-server._tcp.example.org", RecordType::srv, class_in, 300,
                         SrvData{10, 60, 5269, "xmpp1.example.org"}});
    m.answers.push_back({"_xmpp-server._tcp.example.org", RecordType::srv, class_in, 300,
                         SrvData{20, 0, 5270, "."}});
    m.answers.push_back({"alias.example.org", RecordType::cname, class_in, 60, CnameData{"xmpp1.example.org"}});
    m.additional.push_back({"xmpp1.example.org", RecordType::a, class_in, 60, Ipv4{192, 0, 2, 1}});
    Ipv6 v6{};
    v6[0] = 0x20; v6[1] = 0x01; v6[2] = 0x0d; v6[3] = 0xb8; v6[15] = 1;
    m.additional.push_back({"xmpp1.example.org", RecordType::aaaa, class_in, 60, v6});
    m.additional.push_back({"example.org", RecordType::txt, class_in, 60, RawData{3, 'a', 'b', 'c'}});
    return m;
}

Bytes header(std::uint16_t id, std::uint8_t f1, std::uint8_t f2, std::uint16_t qd, std::uint16_t an) {
    return {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id), f1, f2, 0, static_cast<std::uint8_t>(qd),
            0, static_cast<std::uint8_t>(an), 0, 0, 0, 0};
}

void append(Bytes& b, std::initializer_list<int> values) {
    for (int v : values) b.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace

TEST_CASE("dns: a query has the RFC 1035 layout") {
    auto q = make_query(0x1234, "Example.org", RecordType::srv);
    REQUIRE(q);
    const Bytes expected{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                         7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 33, 0, 1};
    CHECK(*q == expected);
    auto back = decode(*q);
    REQUIRE(back.ok());
    CHECK_FALSE(back.message->is_response);
    CHECK(back.message->recursion_desired);
    REQUIRE(back.message->questions.size() == 1);
    CHECK(back.message->questions[0].name == "Example.org");
    CHECK(back.message->questions[0].type == RecordType::srv);
    // A trailing dot means the same name.
    CHECK(*make_query(0x1234, "Example.org.", RecordType::srv) == expected);
}

TEST_CASE("dns: a response round-trips, with names compressed") {
    Message m = sample_response();
    auto wire = encode(m);
    REQUIRE(wire);
    auto back = decode(*wire);
    REQUIRE(back.ok());
    const Message& d = *back.message;
    CHECK(d.id == 0xbeef);
    CHECK(d.is_response);
    CHECK(d.authoritative);
    CHECK(d.recursion_desired);
    CHECK(d.recursion_available);
    CHECK_FALSE(d.truncated);
    CHECK(d.rcode == Rcode::no_error);
    REQUIRE(d.answers.size() == 3);
    REQUIRE(d.additional.size() == 3);
    CHECK(d.answers[0].name == "_xmpp-server._tcp.example.org");
    CHECK(d.answers[0].ttl == 300);
    auto srv = std::get<SrvData>(d.answers[0].data);
    CHECK(srv.priority == 10);
    CHECK(srv.weight == 60);
    CHECK(srv.port == 5269);
    CHECK(srv.target == "xmpp1.example.org");
    CHECK(std::get<SrvData>(d.answers[1].data).target == ".");
    CHECK(std::get<CnameData>(d.answers[2].data).target == "xmpp1.example.org");
    CHECK(std::get<Ipv4>(d.additional[0].data) == Ipv4{192, 0, 2, 1});
    CHECK(std::get<Ipv6>(d.additional[1].data) == std::get<Ipv6>(m.additional[1].data));
    CHECK(d.additional[2].type == RecordType::txt);
    CHECK(std::get<RawData>(d.additional[2].data) == RawData{3, 'a', 'b', 'c'});

    // Owner names repeat the question: each repetition is a two-octet pointer to offset 12.
    std::size_t pointers_to_question = 0;
    for (std::size_t i = 0; i + 1 < wire->size(); ++i)
        if ((*wire)[i] == 0xc0 && (*wire)[i + 1] == 12) ++pointers_to_question;
    CHECK(pointers_to_question >= 2);
    CHECK(wire->size() < 200);  // uncompressed it would be well over 250
}

TEST_CASE("dns: header flags and rcode") {
    Message m;
    m.id = 7;
    m.is_response = true;
    m.truncated = true;
    m.rcode = Rcode::name_error;
    m.opcode = 0;
    auto back = decode(*encode(m));
    REQUIRE(back.ok());
    CHECK(back.message->truncated);
    CHECK(back.message->rcode == Rcode::name_error);
    CHECK_FALSE(back.message->authoritative);
    CHECK_FALSE(back.message->recursion_available);
}

TEST_CASE("dns: compression pointers inside rdata are followed") {
    Bytes p = header(1, 0x84, 0x00, 1, 2);
    append(p, {3, 'f', 'o', 'o', 3, 'c', 'o', 'm', 0, 0, 33, 0, 1});  // question at 12
    // SRV whose target is "x" + pointer to "foo.com" (offset 12)
    append(p, {0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 10, 0, 10, 0, 5, 0, 0, 0x14, 0x95, 1, 'x', 0xc0, 12});
    // CNAME "bar.com" → pointer to "com" at offset 16
    append(p, {3, 'b', 'a', 'r', 0xc0, 16, 0, 5, 0, 1, 0, 0, 0, 10, 0, 2, 0xc0, 16});
    auto r = decode(p);
    REQUIRE(r.ok());
    REQUIRE(r.message->answers.size() == 2);
    auto srv = std::get<SrvData>(r.message->answers[0].data);
    CHECK(srv.target == "x.foo.com");
    CHECK(srv.port == 5269);
    CHECK(srv.priority == 5);
    CHECK(srv.weight == 0);
    CHECK(r.message->answers[1].name == "bar.com");
    CHECK(std::get<CnameData>(r.message->answers[1].data).target == "com");
}

TEST_CASE("dns: pointer loops and forward pointers are rejected") {
    SUBCASE("a pointer to itself") {
        Bytes p = header(1, 0x80, 0, 1, 0);
        append(p, {0xc0, 12, 0, 1, 0, 1});
        CHECK(decode(p).error == DecodeError::bad_pointer);
    }
    SUBCASE("two names pointing at each other") {
        Bytes p = header(1, 0x80, 0, 1, 0);
        append(p, {1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12, 0, 1, 0, 1});
        CHECK(decode(p).error == DecodeError::bad_pointer);
    }
    SUBCASE("a pointer past the end") {
        Bytes p = header(1, 0x80, 0, 1, 0);
        append(p, {0xff, 0xff, 0, 1, 0, 1});
        CHECK(decode(p).error == DecodeError::bad_pointer);
    }
    SUBCASE("reserved label types") {
        Bytes p = header(1, 0x80, 0, 1, 0);
        append(p, {0x41, 'a', 0, 0, 1, 0, 1});
        CHECK(decode(p).error == DecodeError::bad_label);
        p[12] = 0x81;
        CHECK(decode(p).error == DecodeError::bad_label);
    }
    SUBCASE("a chain of backward pointers longer than 255 octets") {
        Bytes p = header(1, 0x80, 0, 2, 0);
        Bytes label(64, 'a');
        label[0] = 63;
        // first question: 63a.63a.63a.com then the root
        for (int i = 0; i < 3; ++i) p.insert(p.end(), label.begin(), label.end());
        append(p, {3, 'c', 'o', 'm', 0, 0, 1, 0, 1});
        // second question: 63a + pointer to the first (64 + 3*64 + 5 > 255)
        p.insert(p.end(), label.begin(), label.end());
        append(p, {0xc0, 12, 0, 1, 0, 1});
        CHECK(decode(p).error == DecodeError::name_too_long);
    }
}

TEST_CASE("dns: malformed rdata is an error, not a crash") {
    SUBCASE("an A record of five octets") {
        Bytes p = header(1, 0x80, 0, 0, 1);
        append(p, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5});
        CHECK(decode(p).error == DecodeError::bad_rdata);
    }
    SUBCASE("an SRV target running past its rdata") {
        Bytes p = header(1, 0x80, 0, 0, 1);
        append(p, {0, 0, 33, 0, 1, 0, 0, 0, 1, 0, 8, 0, 1, 0, 1, 0, 1, 3, 'a', 'b', 'c', 0});
        CHECK(decode(p).error == DecodeError::bad_rdata);
    }
    SUBCASE("rdlength beyond the packet") {
        Bytes p = header(1, 0x80, 0, 0, 1);
        append(p, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 40, 1, 2, 3, 4});
        CHECK(decode(p).error == DecodeError::truncated);
    }
}

TEST_CASE("dns: every truncation of a response is handled") {
    auto wire = *encode(sample_response());
    for (std::size_t n = 0; n < wire.size(); ++n) {
        CAPTURE(n);
        auto r = decode(std::span(wire.data(), n));
        CHECK_FALSE(r.ok());
        CHECK_FALSE(r.message.has_value());  // TC is not set: no partial message
    }
    // With TC set, the complete records before the cut are reported.
    Message m = sample_response();
    m.truncated = true;
    auto tc = *encode(m);
    auto cut = decode(std::span(tc.data(), tc.size() - 3));
    CHECK(cut.error == DecodeError::truncated);
    REQUIRE(cut.message.has_value());
    CHECK(cut.message->truncated);
    CHECK(cut.message->answers.size() == 3);
    CHECK(cut.message->additional.size() == 2);
}

TEST_CASE("dns: random corruption never crashes the decoder") {
    auto wire = *encode(sample_response());
    std::mt19937 rng(12345);
    std::size_t decoded = 0;
    for (int round = 0; round < 20000; ++round) {
        Bytes b = wire;
        int flips = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < flips; ++i) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
        if (rng() % 4 == 0) b.resize(rng() % b.size());
        auto r = decode(b);
        if (r.ok()) {
            ++decoded;
            // What decodes must encode again (names stay representable).
            CHECK(encode(*r.message).has_value());
        }
    }
    CHECK(decoded > 0);
}

TEST_CASE("dns: names") {
    CHECK(is_valid_name("example.org"));
    CHECK(is_valid_name("example.org."));
    CHECK(is_valid_name("."));
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name("a..b"));
    CHECK_FALSE(is_valid_name(".a"));
    CHECK_FALSE(is_valid_name(std::string(64, 'a') + ".org"));
    CHECK(is_valid_name(std::string(63, 'a') + ".org"));
    const std::string l63(63, 'x');
    CHECK(is_valid_name(l63 + "." + l63 + "." + l63 + "." + std::string(61, 'y')));   // 255 octets
    CHECK_FALSE(is_valid_name(l63 + "." + l63 + "." + l63 + "." + std::string(62, 'y')));
    CHECK_FALSE(make_query(1, "a..b", RecordType::a).has_value());

    CHECK(names_equal("Example.ORG", "example.org."));
    CHECK_FALSE(names_equal("example.org", "example.com"));
    CHECK_FALSE(names_equal("a.example.org", "example.org"));

    // Octets outside letters, digits and hyphen survive a round trip as escapes.
    Message m;
    m.questions.push_back({"we\\.ird\\032x.example", RecordType::a, class_in});
    auto wire = *encode(m);
    CHECK(wire[12] == 8);  // one label, "we.ird x"
    auto back = decode(wire);
    REQUIRE(back.ok());
    CHECK(back.message->questions[0].name == "we\\.ird\\032x.example");
    CHECK_FALSE(is_valid_name("bad\\25"));
    CHECK_FALSE(is_valid_name("bad\\256x"));
}
