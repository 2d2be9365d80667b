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

namespace {

bool has_identity(const Element& query, std::string_view category, std::string_view type) {
    for (const auto& child : query.children()) {
        if (child.name() == "identity" && child.attr("category") == category && child.attr("type") == type) return true;
    }
    return false;
}

bool has_feature(const Element& query, std::string_view var) {
    for (const auto& child : query.children()) {
        if (child.name() == "feature" && child.attr("var") == var) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("the server answers for alice's account: to alice, and to nobody who does not see her presence") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));

    // Alice asks about her own account (XEP-0030 §3.1: account/registered).
    auto info = alice.request(*parse_fragment(
        "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    INFO(to_xml(*info));
    REQUIRE(info->attr("type") == "result");
    CHECK(info->attr("from") == "alice@localhost");
    const Element* query = info->find_child("query", ns::disco_info);
    REQUIRE(query);
    CHECK(has_identity(*query, "account", "registered"));
    CHECK(has_feature(*query, ns::disco_info));
    CHECK(has_feature(*query, ns::disco_items));
    CHECK(has_feature(*query, "vcard-temp"));

    auto items = alice.request(*parse_fragment(
        "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
    REQUIRE(items);
    REQUIRE(items->attr("type") == "result");
    const Element* list = items->find_child("query", ns::disco_items);
    REQUIRE(list);
    CHECK(list->child_element_count() == 0);

    auto node = alice.request(*parse_fragment(
        "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='x'/></iq>"));
    REQUIRE(node);
    CHECK(stanza_error_condition(*node) == "item-not-found");

    // Bob has no presence subscription from alice (XEP-0030 §8): service-unavailable,
    // the same as for an account that does not exist.
    auto stranger = bob.request(*parse_fragment(
        "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(stranger);
    CHECK(stranger->attr("type") == "error");
    CHECK(stanza_error_condition(*stranger) == "service-unavailable");
    auto stranger_items = bob.request(*parse_fragment(
        "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
    REQUIRE(stranger_items);
    CHECK(stanza_error_condition(*stranger_items) == "service-unavailable");
    auto nobody = bob.request(*parse_fragment(
        "<iq type='get' to='nobody@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(nobody);
    CHECK(stanza_error_condition(*nobody) == "service-unavailable");
}

TEST_CASE("every client-facing feature shows in disco: the server's and the account's") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    auto features_of = [&](const std::string& to) {
        auto info = alice.request(*parse_fragment("<iq type='get' to='" + to +
                                                  "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
        REQUIRE(info);
        REQUIRE(info->attr("type") == "result");
        const Element* q = info->find_child("query", ns::disco_info);
        REQUIRE(q);
        return *q;
    };
    const Element server_info = features_of("localhost");
    for (const char* f : {"urn:xmpp:ping", "http://jabber.org/protocol/disco#info", "msgoffline", "urn:xmpp:blocking",
                          "urn:xmpp:carbons:2", "jabber:iq:version", "urn:xmpp:time", "jabber:iq:last", "vcard-temp",
                          "jabber:iq:private", "http://jabber.org/protocol/caps"}) {
        CAPTURE(f);
        CHECK(has_feature(server_info, f));
    }
    const Element account_info = features_of("alice@localhost");
    CHECK(has_identity(account_info, "pubsub", "pep"));
    for (const char* f : {"http://jabber.org/protocol/pubsub#publish", "http://jabber.org/protocol/pubsub#publish-options",
                          "urn:xmpp:pep-vcard-conversion:0", "urn:xmpp:bookmarks:1#compat",
                          "urn:xmpp:bookmarks-conversion:0", "jabber:iq:last", "vcard-temp"}) {
        CAPTURE(f);
        CHECK(has_feature(account_info, f));
    }
}
