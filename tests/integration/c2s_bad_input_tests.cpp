// What a client must not be able to do to the server (RFC 6120 §4.9 stream errors,
// §11 XML restrictions): each scene ends the offending stream with the right error,
// and then a fresh login on a new connection shows the server still serves.
#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"
#include "support/raw_login.hpp"
#include "support/server_process.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view header_start =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' ";

std::string good_header() { return std::string(header_start) + "to='localhost' version='1.0'>"; }

// Sends `bytes` on a new plain connection; the server must answer with `condition`
// (after its own stream header when ours was unusable) and close the connection.
void expect_stream_error(const ServerProcess& server, std::string_view bytes, std::string_view condition) {
    CAPTURE(bytes);
    RawClient mallory(server.port());
    mallory.send(bytes);
    auto error = mallory.wait_stream_error(5s);
    REQUIRE_MESSAGE(error, "no stream error; received: " << mallory.received());
    CHECK(*error == condition);
    CHECK_MESSAGE(mallory.wait_closed(5s), "the stream stayed open after the error");
}

void expect_server_still_serves(const ServerProcess& server) {
    auto alice = raw_login(server, "alice", "wonderland", "after-the-storm");
    alice->send("<iq type='get' to='localhost' id='still-1'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto pong = alice->wait_for(iq_reply_to("still-1"));
    REQUIRE_MESSAGE(pong, alice->received());
    CHECK(pong->attr("type") == "result");
}

}  // namespace

TEST_CASE("broken XML gets not-well-formed") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server, good_header() + "<message><body>hi</message>", "not-well-formed");
    expect_stream_error(server, good_header() + "<message to='bob@localhost' to='x'/>", "not-well-formed");
    expect_stream_error(server, good_header() + "<<<>>>", "not-well-formed");
    expect_server_still_serves(server);
}

TEST_CASE("DOCTYPE, comments and processing instructions get restricted-xml") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server,
                        "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY lol 'lol'>]>" +
                            good_header().substr(std::string_view("<?xml version='1.0'?>").size()),
                        "restricted-xml");
    expect_stream_error(server, good_header() + "<!-- a comment -->", "restricted-xml");
    expect_stream_error(server, good_header() + "<?evil instruction?>", "restricted-xml");
    expect_server_still_serves(server);
}

TEST_CASE("a wrong stream namespace gets invalid-namespace") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server,
                        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                        "xmlns:stream='http://example.com/not-streams' to='localhost' version='1.0'>",
                        "invalid-namespace");
    expect_stream_error(server,
                        "<?xml version='1.0'?><stream:stream xmlns='jabber:wrong' "
                        "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>",
                        "invalid-namespace");
    expect_server_still_serves(server);
}

TEST_CASE("a stream to a domain the server does not host gets host-unknown") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server, std::string(header_start) + "to='unknown.example' version='1.0'>",
                        "host-unknown");
    expect_server_still_serves(server);
}

TEST_CASE("a stream without version 1.0 gets unsupported-version") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server, std::string(header_start) + "to='localhost'>", "unsupported-version");
    expect_stream_error(server, std::string(header_start) + "to='localhost' version='0.9'>",
                        "unsupported-version");
    expect_stream_error(server, std::string(header_start) + "to='localhost' version='2.0'>",
                        "unsupported-version");
    expect_server_still_serves(server);
}

TEST_CASE("a stanza over max_stanza_bytes gets policy-violation") {
    ServerOptions options;
    options.max_stanza_bytes = 20000;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto alice = raw_login(server, "alice", "wonderland", "chatty");
    // Under the limit: it goes through (alice writes to herself).
    std::string fits(5000, 'a');
    alice->send("<message to='alice@localhost/chatty' type='chat'><body>" + fits + "</body></message>");
    auto echo = alice->wait_for(named("message"));
    REQUIRE_MESSAGE(echo, alice->received().substr(0, 2000));
    CHECK(echo->child_text("body") == fits);

    std::string huge(30000, 'x');
    alice->send("<message to='alice@localhost/chatty' type='chat'><body>" + huge + "</body></message>");
    auto error = alice->wait_stream_error(5s);
    REQUIRE(error);
    CHECK(*error == "policy-violation");
    CHECK(alice->wait_closed(5s));
    expect_server_still_serves(server);
}

TEST_CASE("nesting deeper than max_depth gets policy-violation") {
    ServerOptions options;
    options.max_depth = 8;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto alice = raw_login(server, "alice", "wonderland", "nested");
    // Three levels are fine.
    alice->send("<message to='alice@localhost/nested'><body>shallow</body><x xmlns='urn:example:x'><y/></x></message>");
    REQUIRE_MESSAGE(alice->wait_for(named("message")), alice->received());

    std::string deep;
    for (int i = 0; i < 50; ++i) deep += "<d>";
    for (int i = 0; i < 50; ++i) deep += "</d>";
    alice->send("<message to='alice@localhost/nested'><x xmlns='urn:example:x'>" + deep + "</x></message>");
    auto error = alice->wait_stream_error(5s);
    REQUIRE_MESSAGE(error, alice->received());
    CHECK(*error == "policy-violation");
    CHECK(alice->wait_closed(5s));
    expect_server_still_serves(server);
}

TEST_CASE("invalid UTF-8 gets not-well-formed") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    expect_stream_error(server, good_header() + "<message><body>\xC3\x28 \xFF\xFE</body></message>",
                        "not-well-formed");
    // Also once logged in, inside a stanza on the encrypted stream.
    auto alice = raw_login(server, "alice", "wonderland", "utf8");
    alice->send("<message to='alice@localhost/utf8'><body>\xED\xA0\x80</body></message>");
    auto error = alice->wait_stream_error(5s);
    REQUIRE_MESSAGE(error, alice->received());
    CHECK(*error == "not-well-formed");
    expect_server_still_serves(server);
}

TEST_CASE("a client that says nothing is closed after negotiation_timeout") {
    ServerOptions options;
    options.negotiation_timeout = 2;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto started = Clock::now();
    RawClient silent(server.port());
    auto error = silent.wait_stream_error(8s);
    auto waited = Clock::now() - started;
    REQUIRE_MESSAGE(error, "no stream error; received: " << silent.received());
    CHECK(*error == "connection-timeout");
    CHECK(silent.wait_closed(5s));
    CHECK(waited >= 1500ms);

    // One that opens the stream and then stalls before authenticating fares the same.
    RawClient stalled(server.port());
    REQUIRE(open_stream_and_read_features(stalled, server.domain()));
    auto error2 = stalled.wait_stream_error(8s);
    REQUIRE_MESSAGE(error2, stalled.received());
    CHECK(*error2 == "connection-timeout");

    expect_server_still_serves(server);
}

TEST_CASE("garbage instead of a TLS ClientHello on the direct TLS port closes that connection") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    RawClient garbage(server.direct_tls_port());
    garbage.send(std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\x99') + "GET / HTTP/1.0\r\n\r\n");
    CHECK(garbage.wait_closed(10s));

    RawClient plain_xml(server.direct_tls_port());
    plain_xml.send(good_header());
    CHECK(plain_xml.wait_closed(10s));

    expect_server_still_serves(server);
}

TEST_CASE("a stanza before authentication gets not-authorized") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");

    auto tls = open_tls_stream(server);
    tls.client->send("<message to='bob@localhost' type='chat'><body>let me in</body></message>");
    auto error = tls.client->wait_stream_error(5s);
    REQUIRE_MESSAGE(error, tls.client->received());
    CHECK(*error == "not-authorized");
    CHECK(tls.client->wait_closed(5s));

    expect_server_still_serves(server);
}
