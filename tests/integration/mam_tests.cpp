// XEP-0313 message archive: stanza-ids stamped before delivery, both parties' archives,
// queries with the form and RSM paging both ways through 1000 messages, preferences,
// bad queries, a restart, and a PostgreSQL outage during which nothing is lost.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "support/server_process.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_client.hpp"

using namespace parley::test;

namespace {

constexpr std::string_view mam_ns = "urn:xmpp:mam:2";
constexpr std::string_view sid_ns = "urn:xmpp:sid:0";
constexpr std::string_view rsm_ns = "http://jabber.org/protocol/rsm";

Element stanza(std::string_view xml) {
    auto el = parse_fragment(xml);
    REQUIRE_MESSAGE(el, "test bug: not XML: " << xml);
    return *el;
}

struct Field {
    std::string var, value;
};

struct Answer {
    Element iq;                       // the result or error
    std::vector<Element> results;     // the <message><result/></message>s, in order
    const Element* fin() const { return iq.find_child("fin", mam_ns); }
    std::string rsm(std::string_view name) const {
        const Element* f = fin();
        const Element* set = f ? f->find_child("set", rsm_ns) : nullptr;
        return set ? set->child_text(name, rsm_ns) : std::string();
    }
    bool complete() const { return fin() && fin()->attr("complete") == "true"; }
    std::vector<std::string> bodies() const {
        std::vector<std::string> out;
        for (const auto& m : results) {
            const Element* fwd = m.find_child("result", mam_ns)->find_child("forwarded", "urn:xmpp:forward:0");
            const Element* inner = fwd ? fwd->find_child("message") : nullptr;
            out.push_back(inner ? inner->child_text("body") : "<missing>");
        }
        return out;
    }
    std::string result_id(std::size_t i) const { return std::string(results.at(i).find_child("result", mam_ns)->attr("id")); }
};

int query_counter = 0;

// Sends a MAM query (form fields, then RSM lines such as "<max>10</max>") to `to`
// (empty: the own archive) and collects what came back for it.
Answer query(TestClient& who, std::vector<Field> fields, std::string rsm = {}, std::string to = {}) {
    const std::string qid = "q" + std::to_string(++query_counter);
    std::string xml = "<iq type='set' id='" + qid + "'" + (to.empty() ? "" : " to='" + to + "'") +
                      "><query xmlns='urn:xmpp:mam:2' queryid='" + qid + "'>";
    if (!fields.empty()) {
        xml += "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>";
        for (const auto& f : fields) xml += "<field var='" + f.var + "'><value>" + f.value + "</value></field>";
        xml += "</x>";
    }
    if (!rsm.empty()) xml += "<set xmlns='http://jabber.org/protocol/rsm'>" + rsm + "</set>";
    xml += "</query></iq>";
    auto reply = who.request(stanza(xml), std::chrono::seconds(20));
    REQUIRE_MESSAGE(reply, "no answer to " << xml);
    Answer a{*reply, {}};
    for (const auto& r : who.received()) {
        if (!r.element || r.element->name() != "message") continue;
        const Element* res = r.element->find_child("result", mam_ns);
        if (res && res->attr("queryid") == qid) a.results.push_back(*r.element);
    }
    return a;
}

// Everything sent before has been routed and archived once this returns: the server
// answers in order, and a query waits for the archive's queue.
void barrier(TestClient& who) { (void)query(who, {{"with", "nobody@localhost"}}); }

std::string stanza_id(const Element& message, std::string_view by) {
    for (const auto& c : message.children()) {
        if (!c.is_text() && c.name() == "stanza-id" && c.xmlns() == sid_ns && c.attr("by") == by) return std::string(c.attr("id"));
    }
    return {};
}

void chat(TestClient& from, const std::string& to, const std::string& body) {
    from.send("<message type='chat' to='" + to + "'><body>" + body + "</body></message>");
}

}  // namespace

TEST_CASE("mam: both archives keep a chat, and the delivered stanza-id is the archive id") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    alice.send("<message type='chat' to='bob@localhost' id='m1'><body>one</body>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='bob@localhost' id='forged'/></message>");
    chat(alice, "bob@localhost", "two");
    auto first = bob.wait_for(message_with_body("one"));
    auto second = bob.wait_for(message_with_body("two"));
    REQUIRE(first);
    REQUIRE(second);
    const std::string id1 = stanza_id(*first, "bob@localhost"), id2 = stanza_id(*second, "bob@localhost");
    CHECK(id1.size() == 16);
    CHECK(id1 != "forged");  // XEP-0359 §3.1: the sender's forgery is replaced
    CHECK(id1 < id2);

    Answer bobs = query(bob, {});
    REQUIRE(bobs.iq.attr("type") == "result");
    CHECK(bobs.bodies() == std::vector<std::string>{"one", "two"});
    CHECK(bobs.result_id(0) == id1);
    CHECK(bobs.result_id(1) == id2);
    CHECK(bobs.complete());
    CHECK(bobs.rsm("count") == "2");
    CHECK(bobs.rsm("first") == id1);
    CHECK(bobs.rsm("last") == id2);
    const Element* fwd = bobs.results[0].find_child("result", mam_ns)->find_child("forwarded", "urn:xmpp:forward:0");
    REQUIRE(fwd);
    CHECK(fwd->find_child("delay", "urn:xmpp:delay"));
    CHECK(fwd->find_child("message")->attr("from") == "alice@localhost/phone");
    CHECK(bobs.results[0].attr("from") == "bob@localhost");

    Answer alices = query(alice, {{"with", "bob@localhost"}});
    CHECK(alices.bodies() == std::vector<std::string>{"one", "two"});
    CHECK(query(alice, {{"with", "carol@localhost"}}).results.empty());
    // A full JID matches only that resource (alice wrote to bob's bare JID).
    CHECK(query(bob, {{"with", "alice@localhost/phone"}}).bodies() == std::vector<std::string>{"one", "two"});
    CHECK(query(bob, {{"with", "alice@localhost/desk"}}).results.empty());
    CHECK(query(alice, {{"start", "2999-01-01T00:00:00Z"}}).results.empty());
    CHECK(query(alice, {{"end", "2000-01-01T00:00:00Z"}}).results.empty());
    CHECK(query(bob, {{"after-id", id1}}).bodies() == std::vector<std::string>{"two"});
    CHECK(query(bob, {{"before-id", id2}}).bodies() == std::vector<std::string>{"one"});
}

TEST_CASE("mam: paging through 1000 messages forwards and backwards") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    for (int i = 0; i < 1000; ++i) chat(alice, "bob@localhost", "m" + std::to_string(i));
    REQUIRE(bob.wait_count(message_with_body("m999"), 1, std::chrono::seconds(30)));
    barrier(bob);

    std::vector<std::string> forward;
    std::string after;
    for (int page = 0; page < 20; ++page) {
        Answer a = query(bob, {}, "<max>100</max>" + (after.empty() ? "" : "<after>" + after + "</after>"));
        REQUIRE(a.iq.attr("type") == "result");
        for (auto& b : a.bodies()) forward.push_back(b);
        CHECK(a.rsm("count") == "1000");
        if (a.complete()) break;
        after = a.rsm("last");
        REQUIRE(!after.empty());
    }
    REQUIRE(forward.size() == 1000);
    for (int i = 0; i < 1000; ++i) CHECK(forward[i] == "m" + std::to_string(i));

    std::vector<std::string> backward;
    std::string before;
    for (int page = 0; page < 20; ++page) {
        Answer a = query(bob, {}, "<max>70</max><before>" + before + "</before>");
        REQUIRE(a.iq.attr("type") == "result");
        auto bodies = a.bodies();
        backward.insert(backward.begin(), bodies.begin(), bodies.end());
        if (a.complete()) break;
        before = a.rsm("first");
    }
    REQUIRE(backward.size() == 1000);
    CHECK(backward == forward);
    CHECK(std::set<std::string>(forward.begin(), forward.end()).size() == 1000);
    // A page nearest the end: the last 10, oldest first.
    Answer last = query(bob, {}, "<max>10</max><before/>");
    CHECK(last.bodies().front() == "m990");
    CHECK(last.bodies().back() == "m999");
    CHECK_FALSE(last.complete());
}

TEST_CASE("mam: the form, and bad queries") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    auto form = alice.request(stanza("<iq type='get'><query xmlns='urn:xmpp:mam:2'/></iq>"));
    REQUIRE(form);
    REQUIRE(form->attr("type") == "result");
    const Element* x = form->find_child("query", mam_ns)->find_child("x", "jabber:x:data");
    REQUIRE(x);
    std::set<std::string> vars;
    for (const auto& f : x->children()) {
        if (!f.is_text()) vars.insert(std::string(f.attr("var")));
    }
    CHECK(vars == std::set<std::string>{"FORM_TYPE", "with", "start", "end", "before-id", "after-id"});

    CHECK(stanza_error_condition(query(alice, {{"color", "blue"}}).iq) == "bad-request");
    CHECK(stanza_error_condition(query(alice, {{"start", "yesterday"}}).iq) == "bad-request");
    CHECK(stanza_error_condition(query(alice, {{"end", "2026-02-30T00:00:00Z"}}).iq) == "bad-request");
    CHECK(stanza_error_condition(query(alice, {{"with", "@@"}}).iq) == "bad-request");
    CHECK(stanza_error_condition(query(alice, {}, "<after>0000000000000001</after>").iq) == "item-not-found");
    // Someone else's archive.
    CHECK(stanza_error_condition(query(alice, {}, {}, "bob@localhost").iq) == "forbidden");
    CHECK(query(alice, {{"start", "2026-01-01T10:00:00.5+02:00"}}).iq.attr("type") == "result");

    // Disco says so.
    auto info = alice.request(stanza("<iq type='get' to='alice@localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    bool has_mam = false;
    for (const auto& f : info->find_child("query")->children()) {
        if (!f.is_text() && f.name() == "feature" && f.attr("var") == mam_ns) has_mam = true;
    }
    CHECK(has_mam);
}

TEST_CASE("mam: preferences choose what is archived") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    TestClient alice(server, "alice"), bob(server, "bob"), carol(server, "carol");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    REQUIRE(carol.login("carol@localhost/desk", "singer"));
    bob.send_presence();

    auto current = bob.request(stanza("<iq type='get'><prefs xmlns='urn:xmpp:mam:2'/></iq>"));
    REQUIRE(current);
    CHECK(current->find_child("prefs", mam_ns)->attr("default") == "always");
    auto set = bob.request(stanza("<iq type='set'><prefs xmlns='urn:xmpp:mam:2' default='always'>"
                                  "<always/><never><jid>carol@localhost</jid></never></prefs></iq>"));
    REQUIRE(set);
    REQUIRE(set->attr("type") == "result");
    auto bad = bob.request(stanza("<iq type='set'><prefs xmlns='urn:xmpp:mam:2' default='sometimes'/></iq>"));
    REQUIRE(bad);
    CHECK(stanza_error_condition(*bad) == "bad-request");

    chat(alice, "bob@localhost", "from alice");
    chat(carol, "bob@localhost", "from carol");
    REQUIRE(bob.wait_for(message_with_body("from carol")));
    auto from_alice = bob.wait_for(message_with_body("from alice"));
    REQUIRE(from_alice);
    CHECK_FALSE(stanza_id(*from_alice, "bob@localhost").empty());
    barrier(bob);
    CHECK(query(bob, {}).bodies() == std::vector<std::string>{"from alice"});
    // Carol's own archive still has what she sent: her preferences are hers.
    CHECK(query(carol, {}).bodies() == std::vector<std::string>{"from carol"});

    // Preferences survive a restart.
    bob.disconnect();
    alice.disconnect();
    carol.disconnect();
    server.restart();
    TestClient bob2(server, "bob2");
    REQUIRE(bob2.login("bob@localhost/laptop", "builder"));
    auto after = bob2.request(stanza("<iq type='get'><prefs xmlns='urn:xmpp:mam:2'/></iq>"));
    REQUIRE(after);
    CHECK(after->find_child("prefs", mam_ns)->find_child("never")->child_text("jid") == "carol@localhost");
}

TEST_CASE("mam: a message for an offline account is archived with the id it is delivered with, and survives a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        chat(alice, "bob@localhost", "while you were out");
        chat(alice, "nobody@localhost", "to a stranger");
        REQUIRE(server.wait_for_log("offline_stored to=bob@localhost"));
        barrier(alice);
    }
    server.restart();  // SIGTERM drains the queue; the rows are in PostgreSQL
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    auto got = bob.wait_for(message_with_body("while you were out"));
    REQUIRE(got);
    Answer a = query(bob, {});
    REQUIRE(a.bodies() == std::vector<std::string>{"while you were out"});
    CHECK(a.result_id(0) == stanza_id(*got, "bob@localhost"));
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    CHECK(query(alice, {}).bodies() == std::vector<std::string>{"while you were out", "to a stranger"});
}

TEST_CASE("mam: retention deletes what is older than the configured period") {
    ServerOptions options;
    options.extra_toml = "[archive]\nretention = 2\n";
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    chat(alice, "bob@localhost", "soon gone");
    barrier(alice);
    CHECK(query(alice, {}).results.size() == 1);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        gone = query(alice, {}).results.empty();
    }
    CHECK(gone);
}

TEST_CASE("mam: a PostgreSQL outage loses nothing: every message is archived exactly once") {
    TcpProxy proxy(postgres_socket_path());
    ServerOptions options;
    options.postgres_port = proxy.port();
    ServerProcess server(options);
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send_presence();
    chat(alice, "bob@localhost", "before");
    REQUIRE(bob.wait_for(message_with_body("before")));
    barrier(bob);

    proxy.cut();  // the database is gone for the server
    for (int i = 0; i < 50; ++i) chat(alice, "bob@localhost", "during " + std::to_string(i));
    // Routing does not wait for the database: everything is delivered meanwhile.
    REQUIRE(bob.wait_count(message_with_body("during 49"), 1, std::chrono::seconds(10)));
    CHECK(alice.count(named("message")) == 0);  // no error came back
    // The writers notice, keep the rows and retry; the operator is told.
    REQUIRE(server.wait_for_log("archive_write_failed", std::chrono::seconds(15)));
    proxy.restore();
    REQUIRE(server.wait_for_log("archive_caught_up", std::chrono::seconds(30)));

    chat(alice, "bob@localhost", "after");
    REQUIRE(bob.wait_for(message_with_body("after")));
    Answer a = query(bob, {}, "<max>100</max>");
    REQUIRE(a.iq.attr("type") == "result");
    auto bodies = a.bodies();
    REQUIRE(bodies.size() == 52);
    CHECK(bodies.front() == "before");
    CHECK(bodies.back() == "after");
    CHECK(std::set<std::string>(bodies.begin(), bodies.end()).size() == 52);
    CHECK(query(alice, {}, "<max>100</max>").results.size() == 52);
}

TEST_CASE("mam: SIGTERM right after a burst writes every queued row before the server exits") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    {
        TestClient alice(server, "alice"), bob(server, "bob");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(bob.login("bob@localhost/laptop", "builder"));
        bob.send_presence();
        for (int i = 0; i < 3000; ++i) chat(alice, "bob@localhost", "burst " + std::to_string(i));
        REQUIRE(bob.wait_count(message_with_body("burst 2999"), 1, std::chrono::seconds(30)));
        server.stop();  // no barrier: rows may still be queued
    }
    CHECK(server.log().find("archive_drain_incomplete") == std::string::npos);
    server.start();
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    Answer a = query(bob, {}, "<max>1</max>");
    CHECK(a.rsm("count") == "3000");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    CHECK(query(alice, {}, "<max>1</max>").rsm("count") == "3000");
}
