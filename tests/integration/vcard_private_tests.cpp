// XEP-0054 vcard-temp and XEP-0049 Private XML Storage: scenes with alice and bob,
// both kept in PostgreSQL across restarts.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view vcard_ns = "vcard-temp";
constexpr std::string_view private_ns = "jabber:iq:private";

Element iq(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE(el);
    return *el;
}

// The reply to `xml`, which must arrive.
Element ask(TestClient& who, std::string_view xml) {
    auto reply = who.request(iq(xml));
    REQUIRE(reply);
    return *reply;
}

std::string fn_of(const Element& reply) {
    const Element* vcard = reply.find_child("vCard", vcard_ns);
    return vcard ? vcard->child_text("FN") : "<no vCard>";
}

std::string vcard_with(std::string_view fn, std::string_view extra = {}) {
    return "<iq type='set'><vCard xmlns='vcard-temp'><FN>" + std::string(fn) + "</FN>" + std::string(extra) +
           "</vCard></iq>";
}

// The stored element (name, xmlns) inside a jabber:iq:private result.
const Element* private_item(const Element& reply, std::string_view name, std::string_view xmlns) {
    const Element* query = reply.find_child("query", private_ns);
    return query ? query->find_child(name, xmlns) : nullptr;
}

const std::string get_bookmarks =
    "<iq type='get'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>";

std::string conference_jid(const Element& reply) {
    const Element* storage = private_item(reply, "storage", "storage:bookmarks");
    if (!storage) return "<no storage>";
    const Element* conf = storage->find_child("conference");
    return conf ? std::string(conf->attr("jid")) : "<empty>";
}

}  // namespace

TEST_CASE("alice sets and reads her vCard; bob reads it but cannot change it") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    TestClient alice(server, "alice");
    TestClient bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    // Nothing published yet: alice gets an empty vCard (XEP-0054 §3.1).
    auto empty = ask(alice, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>");
    INFO(to_xml(empty));
    REQUIRE(empty.attr("type") == "result");
    const Element* blank = empty.find_child("vCard", vcard_ns);
    REQUIRE(blank);
    CHECK(blank->child_element_count() == 0);

    auto set = ask(alice, vcard_with("Alice Liddell", "<NICKNAME>al</NICKNAME>"));
    REQUIRE(set.attr("type") == "result");

    auto mine = ask(alice, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>");
    CHECK(mine.attr("type") == "result");
    CHECK(fn_of(mine) == "Alice Liddell");
    CHECK(mine.find_child("vCard", vcard_ns)->child_text("NICKNAME") == "al");

    // Bob asks alice's bare JID: the server answers for her.
    auto hers = ask(bob, "<iq type='get' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>");
    INFO(to_xml(hers));
    CHECK(hers.attr("type") == "result");
    CHECK(hers.attr("from") == "alice@localhost");
    CHECK(fn_of(hers) == "Alice Liddell");
    // Never forwarded to her resource: she saw only answers to her own requests.
    CHECK(alice.count([](const Element& el) { return el.name() == "iq" && el.attr("type") == "get"; }) == 0);

    auto forged = ask(bob, "<iq type='set' to='alice@localhost'><vCard xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>");
    CHECK(forged.attr("type") == "error");
    CHECK(stanza_error_condition(forged) == "forbidden");
    CHECK(fn_of(ask(bob, "<iq type='get' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>")) == "Alice Liddell");

    // Carol never published one: someone else gets an error (XEP-0054 §3.3).
    auto none = ask(bob, "<iq type='get' to='carol@localhost'><vCard xmlns='vcard-temp'/></iq>");
    CHECK(none.attr("type") == "error");
    CHECK(stanza_error_condition(none) == "service-unavailable");

    // Both the server and the account advertise it.
    auto info = ask(alice, "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    bool advertised = false;
    if (const Element* q = info.find_child("query", "http://jabber.org/protocol/disco#info")) {
        for (const auto& f : q->children()) advertised = advertised || f.attr("var") == "vcard-temp";
    }
    CHECK(advertised);
}

TEST_CASE("an oversized vCard is refused and the old one stays") {
    ServerOptions options;
    options.max_vcard_bytes = 1024;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    REQUIRE(ask(alice, vcard_with("Alice")).attr("type") == "result");
    const std::string desc = "<DESC>" + std::string(1200, 'x') + "</DESC>";
    auto big = ask(alice, vcard_with("Big Alice", desc));
    CHECK(big.attr("type") == "error");
    CHECK(stanza_error_condition(big) == "not-acceptable");
    CHECK(fn_of(ask(alice, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>")) == "Alice");

    // Just under the limit is fine.
    const std::string fits = "<DESC>" + std::string(800, 'y') + "</DESC>";
    CHECK(ask(alice, vcard_with("Alice again", fits)).attr("type") == "result");
    CHECK(fn_of(ask(alice, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>")) == "Alice again");
}

TEST_CASE("alice keeps bookmarks in private storage, apart from other namespaces") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    TestClient bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));

    // Nothing stored yet: the element comes back empty, as asked.
    auto before = ask(alice, get_bookmarks);
    INFO(to_xml(before));
    REQUIRE(before.attr("type") == "result");
    const Element* empty = private_item(before, "storage", "storage:bookmarks");
    REQUIRE(empty);
    CHECK(empty->child_element_count() == 0);

    auto set = ask(alice,
                   "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                   "<conference jid='tea@party.localhost' autojoin='true' name='Tea'><nick>al</nick></conference>"
                   "</storage></query></iq>");
    REQUIRE(set.attr("type") == "result");
    auto got = ask(alice, get_bookmarks);
    CHECK(conference_jid(got) == "tea@party.localhost");
    CHECK(private_item(got, "storage", "storage:bookmarks")->find_child("conference")->child_text("nick") == "al");

    // Another namespace (and another name in it) is a different item.
    REQUIRE(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'>"
                       "<defaultnick>Hamlet</defaultnick></exodus></query></iq>")
                .attr("type") == "result");
    CHECK(conference_jid(ask(alice, get_bookmarks)) == "tea@party.localhost");
    auto prefs = ask(alice, "<iq type='get'><query xmlns='jabber:iq:private'><exodus xmlns='exodus:prefs'/></query></iq>");
    const Element* exodus = private_item(prefs, "exodus", "exodus:prefs");
    REQUIRE(exodus);
    CHECK(exodus->child_text("defaultnick") == "Hamlet");
    auto other_name = ask(alice, "<iq type='get'><query xmlns='jabber:iq:private'><other xmlns='exodus:prefs'/></query></iq>");
    const Element* other = private_item(other_name, "other", "exodus:prefs");
    REQUIRE(other);
    CHECK(other->child_element_count() == 0);

    // Reserved namespaces are refused (XEP-0049 §2.3).
    for (std::string_view reserved : {"<query xmlns='jabber:iq:roster'/>", "<vCard xmlns='vcard-temp'><FN>x</FN></vCard>",
                                      "<x xmlns='http://jabber.org/protocol/muc'/>"}) {
        auto refused = ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'>" + std::string(reserved) +
                                      "</query></iq>");
        INFO(reserved);
        CHECK(stanza_error_condition(refused) == "not-acceptable");
    }
    CHECK(stanza_error_condition(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'/></iq>")) ==
          "not-acceptable");
    CHECK(stanza_error_condition(ask(alice, "<iq type='get'><query xmlns='jabber:iq:private'/></iq>")) ==
          "bad-request");

    // Bob can neither read nor write alice's private data.
    auto peek = ask(bob, "<iq type='get' to='alice@localhost'><query xmlns='jabber:iq:private'>"
                         "<storage xmlns='storage:bookmarks'/></query></iq>");
    CHECK(peek.attr("type") == "error");
    CHECK(stanza_error_condition(peek) == "forbidden");
    CHECK(private_item(peek, "storage", "storage:bookmarks") == nullptr);
    auto write = ask(bob, "<iq type='set' to='alice@localhost'><query xmlns='jabber:iq:private'>"
                          "<storage xmlns='storage:bookmarks'/></query></iq>");
    CHECK(stanza_error_condition(write) == "forbidden");
    CHECK(conference_jid(ask(alice, get_bookmarks)) == "tea@party.localhost");

    // Bob's own storage is his alone.
    auto bobs = ask(bob, get_bookmarks);
    REQUIRE(private_item(bobs, "storage", "storage:bookmarks"));
    CHECK(private_item(bobs, "storage", "storage:bookmarks")->child_element_count() == 0);
}

TEST_CASE("an oversized private item is refused and nothing of that set is stored") {
    ServerOptions options;
    options.max_private_bytes = 1024;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    REQUIRE(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                       "<conference jid='old@party.localhost'/></storage></query></iq>")
                .attr("type") == "result");
    // One small item and one too large in the same set: all or nothing.
    const std::string big = "<notes xmlns='storage:rosternotes'><note jid='bob@localhost'>" + std::string(1100, 'n') +
                            "</note></notes>";
    auto refused = ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                              "<conference jid='new@party.localhost'/></storage>" +
                                  big + "</query></iq>");
    CHECK(refused.attr("type") == "error");
    CHECK(stanza_error_condition(refused) == "not-acceptable");
    CHECK(conference_jid(ask(alice, get_bookmarks)) == "old@party.localhost");
    auto notes = ask(alice, "<iq type='get'><query xmlns='jabber:iq:private'><notes xmlns='storage:rosternotes'/></query></iq>");
    REQUIRE(private_item(notes, "notes", "storage:rosternotes"));
    CHECK(private_item(notes, "notes", "storage:rosternotes")->child_element_count() == 0);
}

TEST_CASE("vCards and private data survive a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(ask(alice, vcard_with("Alice &amp; \"friends\" &lt;3")).attr("type") == "result");
        REQUIRE(ask(alice, "<iq type='set'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                           "<conference jid='tea@party.localhost'/></storage></query></iq>")
                    .attr("type") == "result");
        alice.disconnect();
    }
    server.restart();

    TestClient alice(server, "alice");
    TestClient bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/desk", "builder"));
    CHECK(fn_of(ask(alice, "<iq type='get'><vCard xmlns='vcard-temp'/></iq>")) == "Alice & \"friends\" <3");
    CHECK(fn_of(ask(bob, "<iq type='get' to='alice@localhost'><vCard xmlns='vcard-temp'/></iq>")) ==
          "Alice & \"friends\" <3");
    CHECK(conference_jid(ask(alice, get_bookmarks)) == "tea@party.localhost");
}
