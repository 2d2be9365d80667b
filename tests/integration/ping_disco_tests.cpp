// XEP-0199 XMPP Ping and XEP-0030 Service Discovery, as the server itself answers them.
#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;

TEST_CASE("alice pings the server") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto pong = alice.request(*parse_fragment("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(pong);
    CHECK(pong->attr("type") == "result");
    CHECK(pong->attr("from") == "localhost");
    CHECK(pong->attr("to") == "alice@localhost/phone");
}

TEST_CASE("alice discovers what the server is and does") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto info = alice.request(*parse_fragment(
        "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    INFO(to_xml(*info));
    REQUIRE(info->attr("type") == "result");
    const Element* query = info->find_child("query", ns::disco_info);
    REQUIRE(query);

    bool server_identity = false;
    std::vector<std::string> features;
    for (const auto& child : query->children()) {
        if (child.name() == "identity" && child.attr("category") == "server" && child.attr("type") == "im") {
            server_identity = true;
        }
        if (child.name() == "feature") features.emplace_back(child.attr("var"));
    }
    CHECK(server_identity);
    auto has = [&](std::string_view var) {
        return std::find(features.begin(), features.end(), var) != features.end();
    };
    CHECK(has(ns::ping));
    CHECK(has(ns::disco_info));
}
