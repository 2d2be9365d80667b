// XEP-0045 Multi-User Chat: entering, talking, leaving, nicks, history, private
// messages, self-ping and disco, as clients see them. Administration is in
// muc_admin_tests.cpp.
#include <doctest/doctest.h>

#include "muc_scene.hpp"

using namespace parley::test;
using namespace parley::test::muc;

TEST_CASE("muc: alice creates a room, bob enters once it is configured, they talk and bob leaves") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));

    auto created = join(alice, "coven@conference.localhost/alice");
    REQUIRE(created);
    INFO(to_xml(*created));
    CHECK(has_status(*created, 201));
    CHECK(has_status(*created, 110));
    CHECK(item_of(*created).attr("affiliation") == "owner");
    CHECK(item_of(*created).attr("role") == "moderator");
    CHECK(created->find_child("occupant-id", "urn:xmpp:occupant-id:0"));

    // Locked until the owner accepts the default configuration.
    auto locked = join_error(bob, "coven@conference.localhost/bob");
    REQUIRE(locked);
    CHECK(stanza_error_condition(*locked) == "item-not-found");
    REQUIRE(make_instant(alice, "coven@conference.localhost"));

    auto joined = join(bob, "coven@conference.localhost/bob");
    REQUIRE(joined);
    CHECK(has_status(*joined, 110));
    CHECK(has_status(*joined, 170));   // archived
    CHECK_FALSE(has_status(*joined, 100));  // semi-anonymous by default
    CHECK(item_of(*joined).attr("role") == "participant");
    // Bob saw Alice before himself (no real JID for him: semi-anonymous), then the subject.
    auto alice_seen = bob.wait_for(presence_from("coven@conference.localhost/alice"));
    REQUIRE(alice_seen);
    CHECK(item_of(*alice_seen).attr("jid").empty());
    CHECK(bob.wait_for(subject_message()));
    // Alice, a moderator, sees Bob's real JID.
    auto bob_seen = alice.wait_for(presence_from("coven@conference.localhost/bob"));
    REQUIRE(bob_seen);
    CHECK(item_of(*bob_seen).attr("jid") == "bob@localhost/laptop");
    const std::string bob_occupant_id(bob_seen->find_child("occupant-id", "urn:xmpp:occupant-id:0")->attr("id"));

    bob.send("<message to='coven@conference.localhost' type='groupchat' id='m1'><body>Thrice the brinded cat hath mew'd.</body>"
             "<occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></message>");
    for (TestClient* c : {&alice, &bob}) {
        auto m = c->wait_for(message_with_body("Thrice the brinded cat hath mew'd."));
        REQUIRE(m);
        INFO(to_xml(*m));
        CHECK(m->attr("from") == "coven@conference.localhost/bob");
        CHECK(m->attr("type") == "groupchat");
        CHECK(m->attr("id") == "m1");
        const Element* sid = m->find_child("stanza-id", "urn:xmpp:sid:0");
        REQUIRE(sid);
        CHECK(sid->attr("by") == "coven@conference.localhost");
        const Element* oid = m->find_child("occupant-id", "urn:xmpp:occupant-id:0");
        REQUIRE(oid);
        CHECK(oid->attr("id") == bob_occupant_id);
    }

    bob.send("<presence to='coven@conference.localhost/bob' type='unavailable'/>");
    auto self_gone = bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(self_gone);
    CHECK(has_status(*self_gone, 110));
    CHECK(alice.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable())));

    // No longer an occupant: messages are refused.
    bob.send("<message to='coven@conference.localhost' type='groupchat' id='late'><body>late</body></message>");
    auto refused = bob.wait_for(error_reply("late"));
    REQUIRE(refused);
    CHECK(stanza_error_condition(*refused) == "not-acceptable");
}

TEST_CASE("muc: nicks: conflict, malformed, change with 303") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "coven@conference.localhost"));

    auto conflict = join_error(bob, "coven@conference.localhost/alice");
    REQUIRE(conflict);
    CHECK(stanza_error_condition(*conflict) == "conflict");
    auto no_nick = join_error(bob, "coven@conference.localhost");
    REQUIRE(no_nick);
    CHECK(stanza_error_condition(*no_nick) == "jid-malformed");

    REQUIRE(join(bob, "coven@conference.localhost/bob"));
    REQUIRE(alice.wait_for(presence_from("coven@conference.localhost/bob")));
    bob.send("<presence to='coven@conference.localhost/robert'/>");
    for (TestClient* c : {&alice, &bob}) {
        auto gone = c->wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
        REQUIRE(gone);
        CHECK(has_status(*gone, 303));
        CHECK(item_of(*gone).attr("nick") == "robert");
        CHECK(c->wait_for(presence_from("coven@conference.localhost/robert")));
    }
    // Taking a nick in use is a conflict too.
    bob.send("<presence id='taken' to='coven@conference.localhost/alice'/>");
    auto taken = bob.wait_for(error_reply("taken"));
    REQUIRE(taken);
    CHECK(stanza_error_condition(*taken) == "conflict");
}

TEST_CASE("muc: history on entering, with maxstanzas and delays; private messages") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "coven@conference.localhost"));
    for (int i = 1; i <= 4; ++i) {
        alice.send("<message to='coven@conference.localhost' type='groupchat'><body>line " + std::to_string(i) +
                   "</body></message>");
        REQUIRE(alice.wait_for(message_with_body("line " + std::to_string(i))));
    }
    alice.send("<message to='coven@conference.localhost' type='groupchat'><subject>Spells</subject></message>");
    REQUIRE(alice.wait_for(subject_message()));

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    REQUIRE(join(bob, "coven@conference.localhost/bob", "<history maxstanzas='2'/>"));
    auto subject = bob.wait_for(subject_message());
    REQUIRE(subject);
    CHECK(subject->child_text("subject") == "Spells");
    CHECK(subject->attr("from") == "coven@conference.localhost/alice");
    CHECK(bob.count(message_with_body("line 1")) == 0);
    CHECK(bob.count(message_with_body("line 2")) == 0);
    auto three = bob.wait_for(message_with_body("line 3"), 1s);
    REQUIRE(three);
    const Element* delay = three->find_child("delay", "urn:xmpp:delay");
    REQUIRE(delay);
    CHECK(delay->attr("from") == "coven@conference.localhost");
    CHECK_FALSE(delay->attr("stamp").empty());
    CHECK(bob.wait_for(message_with_body("line 4"), 1s));

    TestClient carol(server, "carol");
    REQUIRE(carol.login("carol@localhost/tablet", "singer"));
    REQUIRE(join(carol, "coven@conference.localhost/carol", "<history maxchars='0'/>"));
    REQUIRE(carol.wait_for(subject_message()));
    CHECK(carol.count(message_with_body("line 4")) == 0);

    // Private message: from the sender's room JID, to every session of the nick.
    bob.send("<message to='coven@conference.localhost/carol' type='chat'><body>psst</body></message>");
    auto pm = carol.wait_for(message_with_body("psst"));
    REQUIRE(pm);
    CHECK(pm->attr("from") == "coven@conference.localhost/bob");
    CHECK(pm->find_child("x", "http://jabber.org/protocol/muc#user"));
    CHECK(alice.count(message_with_body("psst")) == 0);
    bob.send("<message id='pm2' to='coven@conference.localhost/nobody' type='chat'><body>hello?</body></message>");
    auto missing = bob.wait_for(error_reply("pm2"));
    REQUIRE(missing);
    CHECK(stanza_error_condition(*missing) == "item-not-found");
    bob.send("<message id='gc2' to='coven@conference.localhost/carol' type='groupchat'><body>x</body></message>");
    auto wrong_type = bob.wait_for(error_reply("gc2"));
    REQUIRE(wrong_type);
    CHECK(stanza_error_condition(*wrong_type) == "bad-request");
}

TEST_CASE("muc: self-ping answers occupants and refuses others") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "coven@conference.localhost"));

    auto pong = alice.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost/alice'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(pong);
    CHECK(pong->attr("type") == "result");
    CHECK(pong->attr("from") == "coven@conference.localhost/alice");
    auto stranger = bob.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost/alice'><ping xmlns='urn:xmpp:ping'/></iq>"));
    REQUIRE(stranger);
    CHECK(stanza_error_condition(*stranger) == "not-acceptable");

    // Other iqs between occupants are relayed, and so is the answer.
    REQUIRE(join(bob, "coven@conference.localhost/bob"));
    bob.send("<iq type='get' id='v1' to='coven@conference.localhost/alice'><query xmlns='jabber:iq:version'/></iq>");
    auto relayed = alice.wait_for([](const Element& el) {
        return el.name() == "iq" && el.attr("from") == "coven@conference.localhost/bob" &&
               el.find_child("query", "jabber:iq:version");
    });
    REQUIRE(relayed);
    alice.send("<iq type='result' id='" + std::string(relayed->attr("id")) +
               "' to='coven@conference.localhost/bob'><query xmlns='jabber:iq:version'><name>broom</name></query></iq>");
    auto answer = bob.wait_for([](const Element& el) { return el.name() == "iq" && el.attr("id") == "v1"; });
    REQUIRE(answer);
    CHECK(answer->attr("type") == "result");
    CHECK(answer->attr("from") == "coven@conference.localhost/alice");
    CHECK(to_xml(*answer).find("broom") != std::string::npos);
}

TEST_CASE("muc: disco of the server, the service, the directory and a room") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));

    auto items = alice.request(*parse_fragment(
        "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
    REQUIRE(items);
    CHECK(to_xml(*items).find("conference.localhost") != std::string::npos);

    auto info = alice.request(*parse_fragment(
        "<iq type='get' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    const Element* q = info->find_child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(q);
    CHECK(has_feature(*q, "http://jabber.org/protocol/muc"));
    const Element* identity = q->find_child("identity");
    REQUIRE(identity);
    CHECK(identity->attr("category") == "conference");
    CHECK(identity->attr("type") == "text");

    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "coven@conference.localhost"));
    REQUIRE(join(alice, "hidden@conference.localhost/alice"));
    REQUIRE(configure(alice, "hidden@conference.localhost", {{"muc#roomconfig_publicroom", "0"}}));

    auto directory = alice.request(*parse_fragment(
        "<iq type='get' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>"));
    REQUIRE(directory);
    const std::string listed = to_xml(*directory);
    CHECK(listed.find("coven@conference.localhost") != std::string::npos);
    CHECK(listed.find("hidden@conference.localhost") == std::string::npos);

    auto room = alice.request(*parse_fragment(
        "<iq type='get' to='hidden@conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(room);
    const Element* rq = room->find_child("query", "http://jabber.org/protocol/disco#info");
    REQUIRE(rq);
    for (const char* f : {"http://jabber.org/protocol/muc", "muc_hidden", "muc_temporary", "muc_open",
                          "muc_unmoderated", "muc_unsecured", "muc_semianonymous", "urn:xmpp:occupant-id:0",
                          "urn:xmpp:mam:2"}) {
        CHECK_MESSAGE(has_feature(*rq, f), f);
    }
    CHECK(to_xml(*rq).find("http://jabber.org/protocol/muc#roominfo") != std::string::npos);

    auto none = alice.request(*parse_fragment(
        "<iq type='get' to='nosuchroom@conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(none);
    CHECK(stanza_error_condition(*none) == "item-not-found");
}

TEST_CASE("muc: a dropped connection leaves the room; two sessions share one nick") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "coven@conference.localhost"));

    TestClient laptop(server, "bob-laptop");
    REQUIRE(laptop.login("bob@localhost/laptop", "builder"));
    TestClient phone(server, "bob-phone");
    REQUIRE(phone.login("bob@localhost/phone", "builder"));
    REQUIRE(join(laptop, "coven@conference.localhost/bob"));
    REQUIRE(alice.wait_for(presence_from("coven@conference.localhost/bob")));
    REQUIRE(join(phone, "coven@conference.localhost/bob"));  // the same user, the same nick

    // Entering again from a session already in: the whole sequence again for it alone.
    const std::size_t bob_presences_before = laptop.count(presence_from("coven@conference.localhost/alice"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    CHECK(alice.wait_for(presence_from("coven@conference.localhost/bob")));
    CHECK(alice.wait_for(subject_message()));
    alice.send("<message to='coven@conference.localhost' type='groupchat'><body>marker</body></message>");
    REQUIRE(laptop.wait_for(message_with_body("marker")));
    CHECK(laptop.count(presence_from("coven@conference.localhost/alice")) == bob_presences_before);

    alice.send("<message to='coven@conference.localhost' type='groupchat'><body>both of you</body></message>");
    CHECK(laptop.wait_for(message_with_body("both of you")));
    CHECK(phone.wait_for(message_with_body("both of you")));

    // One session leaving is not the occupant leaving.
    phone.send("<presence to='coven@conference.localhost/bob' type='unavailable'/>");
    REQUIRE(phone.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable())));
    alice.send("<message to='coven@conference.localhost' type='groupchat'><body>still there?</body></message>");
    REQUIRE(laptop.wait_for(message_with_body("still there?")));
    CHECK(alice.count(both(presence_from("coven@conference.localhost/bob"), unavailable())) == 0);

    // The last session drops without a word: the room hears the implied unavailable.
    laptop.disconnect();
    CHECK(alice.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable())));
}

TEST_CASE("muc: subject changes, max occupants, and the room's archive (MAM)") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    server.add_user("carol", "singer");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    TestClient carol(server, "carol");
    REQUIRE(carol.login("carol@localhost/tablet", "singer"));
    REQUIRE(join(alice, "coven@conference.localhost/alice"));
    REQUIRE(configure(alice, "coven@conference.localhost", {{"muc#roomconfig_maxusers", "2"}}));
    REQUIRE(join(bob, "coven@conference.localhost/bob"));
    auto full = join_error(carol, "coven@conference.localhost/carol");
    REQUIRE(full);
    CHECK(stanza_error_condition(*full) == "service-unavailable");
    CHECK(stanza_error_type(*full) == "wait");

    bob.send("<message id='s1' to='coven@conference.localhost' type='groupchat'><subject>Mine</subject></message>");
    auto refused = bob.wait_for(error_reply("s1"));
    REQUIRE(refused);
    CHECK(stanza_error_condition(*refused) == "forbidden");
    REQUIRE(configure(alice, "coven@conference.localhost", {{"muc#roomconfig_changesubject", "1"}}));
    bob.send("<message id='s2' to='coven@conference.localhost' type='groupchat'><subject>Ours</subject></message>");
    auto changed = alice.wait_for(both(subject_message(), message_from("coven@conference.localhost/bob")));
    REQUIRE(changed);
    CHECK(changed->child_text("subject") == "Ours");

    alice.send("<message to='coven@conference.localhost' type='groupchat'><body>for the record</body></message>");
    REQUIRE(bob.wait_for(message_with_body("for the record")));
    auto fin = bob.request(*parse_fragment(
        "<iq type='set' to='coven@conference.localhost'><query xmlns='urn:xmpp:mam:2' queryid='q1'/></iq>"), 10s);
    REQUIRE(fin);
    INFO(to_xml(*fin));
    CHECK(fin->attr("type") == "result");
    CHECK(bob.wait_for([](const Element& el) {
        const Element* result = el.find_child("result", "urn:xmpp:mam:2");
        return el.name() == "message" && result && result->attr("queryid") == "q1" &&
               to_xml(el).find("for the record") != std::string::npos;
    }));
    auto stranger = carol.request(*parse_fragment(
        "<iq type='set' to='coven@conference.localhost'><query xmlns='urn:xmpp:mam:2'/></iq>"));
    REQUIRE(stranger);
    CHECK(stanza_error_condition(*stranger) == "forbidden");
}

TEST_CASE("muc: a server shutdown tells every occupant with status 332 before the stream closes") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice"), bob(server, "bob");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    REQUIRE(join(alice, "heath@conference.localhost/alice"));
    REQUIRE(make_instant(alice, "heath@conference.localhost"));
    REQUIRE(join(bob, "heath@conference.localhost/bob"));
    server.stop();
    for (TestClient* c : {&alice, &bob}) {
        const std::string self = c == &alice ? "heath@conference.localhost/alice" : "heath@conference.localhost/bob";
        auto gone = c->wait_for(both(presence_from(self), unavailable()));
        REQUIRE_MESSAGE(gone, c->name() << " was not told the room is going away");
        CHECK(has_status(*gone, 332));
        CHECK(has_status(*gone, 110));
        CHECK(c->wait_disconnected());
        CHECK(c->stream_error() == "system-shutdown");
    }
}
