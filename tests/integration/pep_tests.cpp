// XEP-0163 Personal Eventing Protocol over XEP-0060: publish (with publish-options and
// auto-create), items, retract, configure, delete, limits, access models, persistence,
// and notifications filtered by verified caps (XEP-0115).
#include <doctest/doctest.h>

#include <algorithm>

#include "support/caps_client.hpp"
#include "support/child_process.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view pubsub_ns = "http://jabber.org/protocol/pubsub";
constexpr std::string_view owner_ns = "http://jabber.org/protocol/pubsub#owner";
constexpr std::string_view event_ns = "http://jabber.org/protocol/pubsub#event";
constexpr std::string_view errors_ns = "http://jabber.org/protocol/pubsub#errors";
constexpr std::string_view devicelist = "eu.siacs.conversations.axolotl.devicelist";
constexpr std::string_view tune = "http://jabber.org/protocol/tune";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

Element ask(TestClient& client, std::string_view xml) {
    auto reply = client.request(stanza(xml));
    REQUIRE_MESSAGE(reply, "no answer to " << xml);
    return *reply;
}

void barrier(TestClient& client) { ask(client, "<iq type='get' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"); }

std::string options_form(const std::vector<std::pair<std::string, std::string>>& fields) {
    if (fields.empty()) return {};
    std::string x = "<publish-options><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
                    "<value>http://jabber.org/protocol/pubsub#publish-options</value></field>";
    for (const auto& [var, value] : fields) x += "<field var='" + var + "'><value>" + value + "</value></field>";
    return x + "</x></publish-options>";
}

Element publish(TestClient& client, std::string_view node, std::string_view id, std::string_view payload,
                const std::vector<std::pair<std::string, std::string>>& options = {}) {
    std::string item = id.empty() ? "<item>" : "<item id='" + std::string(id) + "'>";
    return ask(client, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                           std::string(node) + "'>" + item + std::string(payload) + "</item></publish>" +
                           options_form(options) + "</pubsub></iq>");
}

Element get_items(TestClient& client, std::string_view node, std::string_view to = {}, std::string_view extra = {}) {
    std::string iq = "<iq type='get'";
    if (!to.empty()) iq += " to='" + std::string(to) + "'";
    return ask(client, iq + "><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='" + std::string(node) +
                           "'" + std::string(extra) + "/></pubsub></iq>");
}

// The ids of the items of an items result, in order.
std::vector<std::string> item_ids(const Element& reply) {
    INFO(to_xml(reply));
    REQUIRE(reply.attr("type") == "result");
    const Element* ps = reply.find_child("pubsub", pubsub_ns);
    REQUIRE(ps);
    const Element* items = ps->find_child("items", pubsub_ns);
    REQUIRE(items);
    std::vector<std::string> out;
    for (const auto& c : items->children()) {
        if (!c.is_text() && c.name() == "item") out.emplace_back(c.attr("id"));
    }
    return out;
}

std::string app_condition(const Element& reply) {
    const Element* error = reply.find_child("error");
    if (!error) return {};
    for (const auto& c : error->children()) {
        if (!c.is_text() && c.xmlns() == errors_ns) return c.name();
    }
    return {};
}

void check_error(const Element& reply, std::string_view condition, std::string_view app = {}) {
    INFO(to_xml(reply));
    CHECK(reply.attr("type") == "error");
    CHECK(stanza_error_condition(reply) == condition);
    CHECK(app_condition(reply) == app);
}

// The value of a field of the configuration form of `node`.
std::string config_value(TestClient& client, std::string_view node, std::string_view var) {
    Element reply = ask(client, "<iq type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" +
                                    std::string(node) + "'/></pubsub></iq>");
    INFO(to_xml(reply));
    REQUIRE(reply.attr("type") == "result");
    const Element* x = reply.find_child("pubsub", owner_ns)->find_child("configure", owner_ns)->find_child("x", "jabber:x:data");
    REQUIRE(x);
    for (const auto& f : x->children()) {
        if (!f.is_text() && f.name() == "field" && f.attr("var") == var) return f.child_text("value");
    }
    return "<absent>";
}

// A headline event for `node` whose first child is `kind` (items, delete, purge).
Match pep_event(std::string node, std::string kind = "items") {
    return [node, kind](const Element& el) {
        if (el.name() != "message") return false;
        const Element* ev = el.find_child("event", event_ns);
        const Element* child = ev ? ev->first_child_element() : nullptr;
        return child && child->name() == kind && child->attr("node") == node;
    };
}

// Both directions 'both', as the subscription module would leave them.
void make_contacts(const ServerProcess& server, std::string_view a, std::string_view b) {
    const std::string sql = "INSERT INTO roster_items (domain, localpart, contact, subscription, version) VALUES "
                            "('localhost', '" + std::string(a) + "', '" + std::string(b) + "@localhost', 'both', 1), "
                            "('localhost', '" + std::string(b) + "', '" + std::string(a) + "@localhost', 'both', 1)";
    auto r = run_command({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", server.database(), "-c", sql});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

const std::string avatar = "<data xmlns='urn:xmpp:avatar:data'>AAAA</data>";

}  // namespace

TEST_CASE("pep: alice publishes, reads back, replaces and retracts items") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    Element first = publish(alice, "urn:xmpp:microblog:0", "one", "<entry xmlns='http://www.w3.org/2005/Atom'>1</entry>",
                            {{"pubsub#max_items", "10"}});
    INFO(to_xml(first));
    REQUIRE(first.attr("type") == "result");
    const Element* pub = first.find_child("pubsub", pubsub_ns)->find_child("publish", pubsub_ns);
    REQUIRE(pub);
    CHECK(pub->attr("node") == "urn:xmpp:microblog:0");
    CHECK(pub->find_child("item", pubsub_ns)->attr("id") == "one");

    // No id: the server makes one and says which.
    Element second = publish(alice, "urn:xmpp:microblog:0", "", "<entry xmlns='http://www.w3.org/2005/Atom'>2</entry>");
    REQUIRE(second.attr("type") == "result");
    const std::string generated(second.find_child("pubsub", pubsub_ns)->find_child("publish", pubsub_ns)
                                    ->find_child("item", pubsub_ns)->attr("id"));
    CHECK_FALSE(generated.empty());
    CHECK(item_ids(get_items(alice, "urn:xmpp:microblog:0")) == std::vector<std::string>{"one", generated});

    // The payload comes back as published; the bare JID as 'to' is the same account.
    Element got = get_items(alice, "urn:xmpp:microblog:0", "alice@localhost", " max_items='1'");
    CHECK(item_ids(got) == std::vector<std::string>{generated});
    const Element* entry = got.find_child("pubsub", pubsub_ns)->find_child("items", pubsub_ns)
                               ->find_child("item", pubsub_ns)->find_child("entry", "http://www.w3.org/2005/Atom");
    REQUIRE(entry);
    CHECK(entry->text() == "2");

    // Publishing an existing id replaces it and makes it the newest.
    REQUIRE(publish(alice, "urn:xmpp:microblog:0", "one", "<entry xmlns='http://www.w3.org/2005/Atom'>1b</entry>")
                .attr("type") == "result");
    CHECK(item_ids(get_items(alice, "urn:xmpp:microblog:0")) == std::vector<std::string>{generated, "one"});

    Element retracted = ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                                   "<retract node='urn:xmpp:microblog:0'><item id='one'/></retract></pubsub></iq>");
    CHECK(retracted.attr("type") == "result");
    CHECK(item_ids(get_items(alice, "urn:xmpp:microblog:0")) == std::vector<std::string>{generated});
    check_error(ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                           "<retract node='urn:xmpp:microblog:0'><item id='one'/></retract></pubsub></iq>"),
                "item-not-found");
    check_error(ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                           "<retract node='urn:xmpp:microblog:0'/></pubsub></iq>"),
                "bad-request", "item-required");
    check_error(get_items(alice, "no-such-node"), "item-not-found");
}

TEST_CASE("pep: publish-options create the node; a conflicting option is a precondition not met") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    const std::string list = "<list xmlns='eu.siacs.conversations.axolotl'><device id='42'/></list>";
    REQUIRE(publish(alice, devicelist, "current", list, {{"pubsub#access_model", "open"}}).attr("type") == "result");
    CHECK(config_value(alice, devicelist, "pubsub#access_model") == "open");
    // The same options again: fine.
    CHECK(publish(alice, devicelist, "current", list, {{"pubsub#access_model", "open"}}).attr("type") == "result");
    // A different one: §7.1.5, and nothing is published.
    Element conflict = publish(alice, devicelist, "other", list, {{"pubsub#access_model", "presence"}});
    check_error(conflict, "conflict", "precondition-not-met");
    CHECK(stanza_error_type(conflict) == "cancel");
    CHECK(item_ids(get_items(alice, devicelist)) == std::vector<std::string>{"current"});
    CHECK(config_value(alice, devicelist, "pubsub#access_model") == "open");

    // Options the service does not implement.
    check_error(publish(alice, "n2", "a", "<x xmlns='y'/>", {{"pubsub#access_model", "roster"}}),
                "feature-not-implemented", "unsupported");
    check_error(publish(alice, "n3", "a", "<x xmlns='y'/>", {{"pubsub#max_items", "ten"}}), "bad-request");
    check_error(get_items(alice, "n2"), "item-not-found");  // nothing was created
    // "max" is accepted and matches a node created with it.
    REQUIRE(publish(alice, "urn:xmpp:bookmarks:1", "tea@party.localhost", "<conference xmlns='urn:xmpp:bookmarks:1'/>",
                    {{"pubsub#persist_items", "true"}, {"pubsub#max_items", "max"},
                     {"pubsub#send_last_published_item", "never"}, {"pubsub#access_model", "whitelist"}})
                .attr("type") == "result");
    CHECK(publish(alice, "urn:xmpp:bookmarks:1", "cake@party.localhost", "<conference xmlns='urn:xmpp:bookmarks:1'/>",
                  {{"pubsub#max_items", "max"}, {"pubsub#access_model", "whitelist"}})
              .attr("type") == "result");
    CHECK(item_ids(get_items(alice, "urn:xmpp:bookmarks:1")).size() == 2);
}

TEST_CASE("pep: access models — open for anyone, presence and whitelist not for a stranger") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    make_contacts(server, "alice", "carol");
    TestClient alice(server, "alice"), bob(server, "bob"), carol(server, "carol");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    REQUIRE(carol.login("carol@localhost/desk", "singer"));

    const std::string list = "<list xmlns='eu.siacs.conversations.axolotl'><device id='42'/></list>";
    REQUIRE(publish(alice, devicelist, "current", list, {{"pubsub#access_model", "open"}}).attr("type") == "result");
    REQUIRE(publish(alice, tune, "current", "<tune xmlns='http://jabber.org/protocol/tune'/>").attr("type") == "result");
    REQUIRE(publish(alice, "secret", "s", "<x xmlns='y'/>", {{"pubsub#access_model", "whitelist"}}).attr("type") ==
            "result");
    CHECK(config_value(alice, tune, "pubsub#access_model") == "presence");  // the default

    // Bob is nobody to alice.
    CHECK(item_ids(get_items(bob, devicelist, "alice@localhost")) == std::vector<std::string>{"current"});
    Element presence_only = get_items(bob, tune, "alice@localhost");
    check_error(presence_only, "not-authorized", "presence-subscription-required");
    CHECK(stanza_error_type(presence_only) == "auth");
    check_error(get_items(bob, "secret", "alice@localhost"), "not-allowed", "closed-node");
    // Carol has a subscription: presence yes, whitelist still no.
    CHECK(item_ids(get_items(carol, tune, "alice@localhost")) == std::vector<std::string>{"current"});
    check_error(get_items(carol, "secret", "alice@localhost"), "not-allowed", "closed-node");

    // Only the owner publishes, retracts, configures and deletes.
    Element foreign = ask(bob, "<iq type='set' to='alice@localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                               "<publish node='urn:xmpp:avatar:data'><item>" + avatar + "</item></publish></pubsub></iq>");
    check_error(foreign, "forbidden");
    check_error(ask(bob, "<iq type='set' to='alice@localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                         "<retract node='urn:xmpp:avatar:data'><item id='current'/></retract></pubsub></iq>"),
                "forbidden");
    check_error(ask(bob, "<iq type='get' to='alice@localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                         "<configure node='" + std::string(tune) + "'/></pubsub></iq>"),
                "forbidden");
    check_error(ask(bob, "<iq type='set' to='alice@localhost'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                         "<delete node='" + std::string(tune) + "'/></pubsub></iq>"),
                "forbidden");
    CHECK(item_ids(get_items(alice, tune)) == std::vector<std::string>{"current"});
}

TEST_CASE("pep: configure get and set; a bad form changes nothing; delete") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(publish(alice, tune, "current", "<tune xmlns='http://jabber.org/protocol/tune'/>").attr("type") == "result");
    CHECK(config_value(alice, tune, "pubsub#max_items") == "1");

    auto configure = [&](std::string fields) {
        return ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><configure node='" +
                              std::string(tune) +
                              "'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>"
                              "<value>http://jabber.org/protocol/pubsub#node_config</value></field>" +
                              fields + "</x></configure></pubsub></iq>");
    };
    CHECK(configure("<field var='pubsub#access_model'><value>open</value></field>"
                    "<field var='pubsub#max_items'><value>5</value></field>")
              .attr("type") == "result");
    CHECK(config_value(alice, tune, "pubsub#access_model") == "open");
    CHECK(config_value(alice, tune, "pubsub#max_items") == "5");

    check_error(configure("<field var='pubsub#access_model'><value>presence</value></field>"
                          "<field var='pubsub#no_such_option'><value>1</value></field>"),
                "bad-request");
    check_error(configure("<field var='pubsub#max_items'><value>many</value></field>"), "bad-request");
    CHECK(config_value(alice, tune, "pubsub#access_model") == "open");  // unchanged
    CHECK(config_value(alice, tune, "pubsub#max_items") == "5");
    check_error(ask(alice, "<iq type='get'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'>"
                           "<configure node='nope'/></pubsub></iq>"),
                "item-not-found");

    CHECK(ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='" +
                         std::string(tune) + "'/></pubsub></iq>")
              .attr("type") == "result");
    check_error(get_items(alice, tune), "item-not-found");
    check_error(ask(alice, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='" +
                               std::string(tune) + "'/></pubsub></iq>"),
                "item-not-found");
}

TEST_CASE("pep: limits — payload size, one payload per item, max_items") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    // Over the default max_pep_item_bytes (65536), under the stanza limit.
    const std::string big = "<data xmlns='urn:xmpp:avatar:data'>" + std::string(70000, 'A') + "</data>";
    Element too_big = publish(alice, "urn:xmpp:avatar:data", "big", big);
    check_error(too_big, "not-acceptable", "payload-too-big");
    check_error(get_items(alice, "urn:xmpp:avatar:data"), "item-not-found");  // nothing stored, not even the node

    check_error(publish(alice, "n", "two", "<a xmlns='x'/><b xmlns='x'/>"), "bad-request", "invalid-payload");
    check_error(publish(alice, "n", "none", ""), "bad-request", "payload-required");

    for (int i = 1; i <= 5; ++i) {
        REQUIRE(publish(alice, "n", "i" + std::to_string(i), "<a xmlns='x'/>", {{"pubsub#max_items", "3"}})
                    .attr("type") == "result");
    }
    CHECK(item_ids(get_items(alice, "n")) == std::vector<std::string>{"i3", "i4", "i5"});
}

TEST_CASE("pep: nodes and items survive a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(publish(alice, devicelist, "current", "<list xmlns='eu.siacs.conversations.axolotl'/>",
                        {{"pubsub#access_model", "open"}})
                    .attr("type") == "result");
        REQUIRE(publish(alice, "volatile", "v", "<a xmlns='x'/>", {{"pubsub#persist_items", "false"}}).attr("type") ==
                "result");
        CHECK(item_ids(get_items(alice, "volatile")) == std::vector<std::string>{"v"});  // kept in memory
        alice.disconnect();
    }
    server.restart();
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    CHECK(item_ids(get_items(alice, devicelist)) == std::vector<std::string>{"current"});
    CHECK(config_value(alice, devicelist, "pubsub#access_model") == "open");
    CHECK(item_ids(get_items(alice, "volatile")).empty());  // the node stays, its item did not
}

TEST_CASE("pep: notifications go to +notify resources of the owner and of contacts; last items on presence") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    make_contacts(server, "alice", "bob");
    const std::vector<std::string> wants_tune{"http://jabber.org/protocol/disco#info",
                                              std::string(tune) + "+notify"};
    const std::vector<std::string> no_tune{"http://jabber.org/protocol/disco#info"};

    TestClient phone(server, "alice-phone"), laptop(server, "alice-laptop"), bob(server, "bob"), carol(server, "carol");
    REQUIRE(phone.login("alice@localhost/phone", "wonderland"));
    REQUIRE(laptop.login("alice@localhost/laptop", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    REQUIRE(carol.login("carol@localhost/desk", "singer"));
    advertise_caps(phone, wants_tune);
    advertise_caps(laptop, no_tune);
    advertise_caps(bob, wants_tune, false);  // the same ver as phone's: may be verified already
    advertise_caps(carol, wants_tune, false);
    for (TestClient* c : {&phone, &laptop, &bob, &carol}) barrier(*c);
    // Let verification finish (the server asks phone once for the shared ver).
    REQUIRE(server.wait_for_log("caps_verified"));

    const std::string song = "<tune xmlns='http://jabber.org/protocol/tune'><title>Yesterday</title></tune>";
    REQUIRE(publish(phone, tune, "current", song, {{"pubsub#access_model", "presence"}}).attr("type") == "result");
    for (TestClient* c : {&phone, &bob}) {
        auto ev = c->wait_for(pep_event(std::string(tune)));
        REQUIRE_MESSAGE(ev, c->name() << " got no notification");
        INFO(to_xml(*ev));
        CHECK(ev->attr("from") == "alice@localhost");
        CHECK(ev->attr("type") == "headline");
        const Element* item = ev->find_child("event", event_ns)->find_child("items", event_ns)->find_child("item", event_ns);
        REQUIRE(item);
        CHECK(item->attr("id") == "current");
        CHECK(item->find_child("tune", tune));
    }
    // laptop did not ask for tune, carol is no contact of alice's.
    for (TestClient* c : {&laptop, &carol}) {
        barrier(*c);
        CHECK(c->count(pep_event(std::string(tune))) == 0);
    }

    // A new resource of bob's: its presence reaches alice, so it gets her last tune.
    TestClient tablet(server, "bob-tablet");
    REQUIRE(tablet.login("bob@localhost/tablet", "builder"));
    advertise_caps(tablet, wants_tune, false);
    auto last = tablet.wait_for(pep_event(std::string(tune)));
    REQUIRE_MESSAGE(last, "bob's new resource got no last item");
    CHECK(last->find_child("event", event_ns)->find_child("items", event_ns)->find_child("item", event_ns)->attr("id") ==
          "current");
    // And a new resource of alice's own.
    TestClient desk(server, "alice-desk");
    REQUIRE(desk.login("alice@localhost/desk", "wonderland"));
    advertise_caps(desk, wants_tune, false);
    REQUIRE_MESSAGE(desk.wait_for(pep_event(std::string(tune))), "alice's new resource got no last item");

    // Retract and delete are notified too.
    REQUIRE(ask(phone, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract node='" +
                           std::string(tune) + "' notify='true'><item id='current'/></retract></pubsub></iq>")
                .attr("type") == "result");
    auto retract = bob.wait_for(pep_event(std::string(tune)));
    REQUIRE(retract);
    CHECK(retract->find_child("event", event_ns)->find_child("items", event_ns)->find_child("retract", event_ns));
    REQUIRE(ask(phone, "<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='" +
                           std::string(tune) + "'/></pubsub></iq>")
                .attr("type") == "result");
    CHECK(bob.wait_for(pep_event(std::string(tune), "delete")));
    CHECK(phone.wait_for(pep_event(std::string(tune), "delete")));
}

TEST_CASE("pep: the account advertises PEP in disco#info") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    Element info = ask(alice, "<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    INFO(to_xml(info));
    REQUIRE(info.attr("type") == "result");
    const Element* q = info.find_child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(q);
    std::vector<std::string> features;
    bool pep_identity = false;
    for (const auto& c : q->children()) {
        if (c.is_text()) continue;
        if (c.name() == "feature") features.emplace_back(c.attr("var"));
        if (c.name() == "identity" && c.attr("category") == "pubsub" && c.attr("type") == "pep") pep_identity = true;
    }
    for (std::string f : {"publish", "publish-options", "auto-create", "retrieve-items", "access-open",
                          "access-presence", "access-whitelist", "last-published", "filtered-notifications",
                          "config-node", "delete-nodes", "retract-items", "persistent-items", "item-ids"}) {
        CHECK_MESSAGE(std::find(features.begin(), features.end(), std::string(pubsub_ns) + "#" + f) != features.end(),
                      f);
    }
    CHECK(pep_identity);
}
