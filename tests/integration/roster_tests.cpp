// RFC 6121 §2: the roster — get, set, remove, pushes to interested resources, roster
// versioning (§2.6), the errors of §2.1.5/§2.3.3/§2.5.3, and persistence.
#include <doctest/doctest.h>

#include <map>

#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view roster_ns = "jabber:iq:roster";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

void barrier(TestClient& client) {
    REQUIRE(client.request(stanza("<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>")));
}

// A push: an iq set carrying a roster query (optionally about `jid`).
Match roster_push(std::string jid = {}) {
    return [jid](const Element& el) {
        if (el.name() != "iq" || el.attr("type") != "set") return false;
        const Element* q = el.find_child("query", roster_ns);
        if (!q) return false;
        if (jid.empty()) return true;
        const Element* item = q->find_child("item", roster_ns);
        return item && item->attr("jid") == jid;
    };
}

std::optional<Element> roster_get(TestClient& client, std::string_view ver_attr = {}) {
    std::string xml = "<iq type='get'><query xmlns='jabber:iq:roster'";
    if (!ver_attr.empty()) xml += " " + std::string(ver_attr);
    xml += "/></iq>";
    return client.request(stanza(xml));
}

// The result of a roster get as jid → item.
std::map<std::string, Element> items_of(const Element& result) {
    std::map<std::string, Element> out;
    const Element* q = result.find_child("query", roster_ns);
    REQUIRE_MESSAGE(q, to_xml(result));
    for (const auto& c : q->children()) {
        if (!c.is_text() && c.name() == "item") out.emplace(std::string(c.attr("jid")), c);
    }
    return out;
}

std::vector<std::string> groups_of(const Element& item) {
    std::vector<std::string> out;
    for (const auto& c : item.children()) {
        if (!c.is_text() && c.name() == "group") out.push_back(c.text());
    }
    return out;
}

std::string set_error(TestClient& client, std::string_view query_body, std::string_view to = {}) {
    std::string xml = "<iq type='set'";
    if (!to.empty()) xml += " to='" + std::string(to) + "'";
    xml += "><query xmlns='jabber:iq:roster'>" + std::string(query_body) + "</query></iq>";
    auto reply = client.request(stanza(xml));
    REQUIRE(reply);
    INFO(to_xml(*reply));
    CHECK(reply->attr("type") == "error");
    return stanza_error_condition(*reply);
}

void roster_set_ok(TestClient& client, std::string_view query_body) {
    auto reply = client.request(stanza("<iq type='set'><query xmlns='jabber:iq:roster'>" + std::string(query_body) +
                                       "</query></iq>"));
    REQUIRE(reply);
    INFO(to_xml(*reply));
    REQUIRE(reply->attr("type") == "result");
    CHECK(reply->child_element_count() == 0);
}

}  // namespace

TEST_CASE("alice adds, renames and removes bob; only her interested resource gets pushes") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient phone(server, "alice-phone"), laptop(server, "alice-laptop");
    REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
    REQUIRE(laptop.login("alice@localhost/laptop", "wonderland"));

    auto first = roster_get(phone);  // phone is now interested, laptop never asks
    REQUIRE(first);
    REQUIRE(first->attr("type") == "result");
    CHECK(items_of(*first).empty());

    roster_set_ok(phone, "<item jid='Bob@LocalHost' name='Bob'><group>Friends</group><group>Work</group></item>");
    auto push = phone.wait_for(roster_push("bob@localhost"));
    REQUIRE(push);
    INFO(to_xml(*push));
    CHECK(push->attr("to") == "alice@localhost/phone");
    CHECK((!push->has_attr("from") || push->attr("from") == "alice@localhost"));
    const Element* item = push->find_child("query", roster_ns)->find_child("item", roster_ns);
    CHECK(item->attr("name") == "Bob");
    CHECK(item->attr("subscription") == "none");
    CHECK(groups_of(*item) == std::vector<std::string>{"Friends", "Work"});

    // A subscription value other than "remove" is ignored (§2.1.5).
    roster_set_ok(phone, "<item jid='bob@localhost' name='Robert' subscription='both' ask='subscribe'>"
                         "<group>Work</group></item>");
    auto update = phone.wait_for(roster_push("bob@localhost"));
    REQUIRE(update);
    const Element* updated = update->find_child("query", roster_ns)->find_child("item", roster_ns);
    CHECK(updated->attr("name") == "Robert");
    CHECK(updated->attr("subscription") == "none");
    CHECK_FALSE(updated->has_attr("ask"));
    CHECK(groups_of(*updated) == std::vector<std::string>{"Work"});

    auto got = laptop.request(stanza("<iq type='get'><query xmlns='jabber:iq:roster'/></iq>"));
    REQUIRE(got);
    auto items = items_of(*got);
    REQUIRE(items.size() == 1);
    CHECK(items.at("bob@localhost").attr("name") == "Robert");
    CHECK(groups_of(items.at("bob@localhost")) == std::vector<std::string>{"Work"});
    // laptop asked only now: the two pushes before went to phone alone.
    CHECK(laptop.count(roster_push()) == 0);

    roster_set_ok(phone, "<item jid='bob@localhost' subscription='remove'/>");
    for (TestClient* c : {&phone, &laptop}) {
        auto removal = c->wait_for(roster_push("bob@localhost"));
        REQUIRE(removal);
        CHECK(removal->find_child("query", roster_ns)->find_child("item", roster_ns)->attr("subscription") == "remove");
    }
    auto after = roster_get(phone);
    REQUIRE(after);
    CHECK(items_of(*after).empty());
    // §2.5.3: removing what is not there.
    CHECK(set_error(phone, "<item jid='bob@localhost' subscription='remove'/>") == "item-not-found");
}

TEST_CASE("a resource that never asked for the roster gets no pushes") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient phone(server, "alice-phone"), laptop(server, "alice-laptop");
    REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
    REQUIRE(laptop.login("alice@localhost/laptop", "wonderland"));
    REQUIRE(roster_get(phone));

    roster_set_ok(phone, "<item jid='carol@localhost'/>");
    REQUIRE(phone.wait_for(roster_push("carol@localhost")));
    barrier(laptop);  // anything pushed to laptop would have arrived before this
    CHECK(laptop.count(roster_push()) == 0);
}

TEST_CASE("roster versioning: advertised, empty result when current, the roster when stale") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    // §2.6.1: the stream feature after authentication.
    auto tls = open_tls_stream(server);
    ScramClientOptions opts;
    opts.username = "alice";
    opts.password = "wonderland";
    REQUIRE(sasl_scram(*tls.client, opts).success);
    auto features = restart_stream(*tls.client, "localhost");
    REQUIRE(features);
    CHECK(features->find_child("ver", "urn:xmpp:features:rosterver"));

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    auto initial = roster_get(alice, "ver=''");
    REQUIRE(initial);
    const Element* q0 = initial->find_child("query", roster_ns);
    REQUIRE(q0);
    const std::string v0(q0->attr("ver"));
    CHECK_FALSE(v0.empty());

    auto same = roster_get(alice, "ver='" + v0 + "'");
    REQUIRE(same);
    CHECK(same->attr("type") == "result");
    CHECK(same->child_element_count() == 0);

    roster_set_ok(alice, "<item jid='bob@localhost' name='Bob'/>");
    auto push = alice.wait_for(roster_push("bob@localhost"));
    REQUIRE(push);
    const std::string v1(push->find_child("query", roster_ns)->attr("ver"));
    CHECK(v1 != v0);
    CHECK_FALSE(v1.empty());

    auto stale = roster_get(alice, "ver='" + v0 + "'");
    REQUIRE(stale);
    REQUIRE(stale->find_child("query", roster_ns));
    CHECK(stale->find_child("query", roster_ns)->attr("ver") == v1);
    CHECK(items_of(*stale).count("bob@localhost") == 1);

    auto current = roster_get(alice, "ver='" + v1 + "'");
    REQUIRE(current);
    CHECK(current->child_element_count() == 0);
    // A version we never gave out: the whole roster.
    auto junk = roster_get(alice, "ver='not-a-version'");
    REQUIRE(junk);
    CHECK(items_of(*junk).size() == 1);
}

TEST_CASE("bad roster sets get their error and change nothing") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    roster_set_ok(alice, "<item jid='dave@localhost' name='Dave'><group>Old</group></item>");
    auto before = roster_get(alice);
    REQUIRE(before);
    const std::string ver(before->find_child("query", roster_ns)->attr("ver"));

    CHECK(set_error(alice, "<item jid='bob@localhost'/><item jid='carol@localhost'/>") == "bad-request");
    CHECK(set_error(alice, "") == "bad-request");
    CHECK(set_error(alice, "<item name='nobody'/>") == "bad-request");
    CHECK(set_error(alice, "<item jid='@localhost'/>") == "jid-malformed");
    CHECK(set_error(alice, "<item jid='dave@localhost'><group>A</group><group>A</group></item>") == "bad-request");
    CHECK(set_error(alice, "<item jid='dave@localhost'><group/></item>") == "not-acceptable");
    CHECK(set_error(alice, "<item jid='dave@localhost' name='" + std::string(2000, 'n') + "'/>") == "not-acceptable");
    CHECK(set_error(alice, "<item jid='alice@localhost'/>") == "not-allowed");
    // Bob may neither change nor read alice's roster (§2.1.5, §2.3.3).
    CHECK(set_error(bob, "<item jid='mallory@localhost'/>", "alice@localhost") == "forbidden");
    auto peek = bob.request(stanza("<iq type='get' to='alice@localhost'><query xmlns='jabber:iq:roster'/></iq>"));
    REQUIRE(peek);
    CHECK(stanza_error_condition(*peek) == "forbidden");

    auto after = roster_get(alice, "ver='" + ver + "'");
    REQUIRE(after);
    CHECK(after->attr("type") == "result");
    CHECK(after->child_element_count() == 0);  // the version did not move
    auto full = roster_get(alice);
    REQUIRE(full);
    auto items = items_of(*full);
    REQUIRE(items.size() == 1);
    CHECK(items.at("dave@localhost").attr("name") == "Dave");
    CHECK(groups_of(items.at("dave@localhost")) == std::vector<std::string>{"Old"});
    auto bobs = roster_get(bob);
    REQUIRE(bobs);
    CHECK(items_of(*bobs).empty());
}

TEST_CASE("alice's roster survives a server restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    std::string ver;
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        roster_set_ok(alice, "<item jid='bob@localhost' name='Bob'><group>Friends</group></item>");
        roster_set_ok(alice, "<item jid='carol@localhost'/>");
        auto got = roster_get(alice);
        REQUIRE(got);
        ver = std::string(got->find_child("query", roster_ns)->attr("ver"));
        alice.disconnect();
    }
    server.restart();

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/laptop", "wonderland"));
    auto same = roster_get(alice, "ver='" + ver + "'");
    REQUIRE(same);
    CHECK(same->child_element_count() == 0);
    auto got = roster_get(alice);
    REQUIRE(got);
    auto items = items_of(*got);
    REQUIRE(items.size() == 2);
    CHECK(items.at("bob@localhost").attr("name") == "Bob");
    CHECK(groups_of(items.at("bob@localhost")) == std::vector<std::string>{"Friends"});
    CHECK_FALSE(items.at("carol@localhost").has_attr("name"));
}
