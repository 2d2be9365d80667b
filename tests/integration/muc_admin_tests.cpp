// XEP-0045 §8–10 as clients see them: password and members-only rooms, invitations,
// kicking, banning, voice, the configuration form, destroying a room, and a
// persistent room across a restart.
#include <doctest/doctest.h>

#include "muc_scene.hpp"

using namespace parley::test;
using namespace parley::test::muc;

namespace {

struct Scene {
    ServerProcess server;
    TestClient alice{server, "alice"};
    TestClient bob{server, "bob"};
    Scene() {
        server.add_user("alice", "wonderland");
        server.add_user("bob", "builder");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(bob.login("bob@localhost/laptop", "builder"));
        REQUIRE(join(alice, "coven@conference.localhost/alice"));
    }
};

}  // namespace

TEST_CASE("muc admin: password-protected and members-only rooms; an invitation makes a member") {
    Scene s;
    REQUIRE(configure(s.alice, "coven@conference.localhost",
                      {{"muc#roomconfig_passwordprotectedroom", "1"}, {"muc#roomconfig_roomsecret", "cauldron"}}));
    auto missing = join_error(s.bob, "coven@conference.localhost/bob");
    REQUIRE(missing);
    CHECK(stanza_error_condition(*missing) == "not-authorized");
    auto wrong = join_error(s.bob, "coven@conference.localhost/bob", "<password>kettle</password>");
    REQUIRE(wrong);
    CHECK(stanza_error_condition(*wrong) == "not-authorized");
    REQUIRE(join(s.bob, "coven@conference.localhost/bob", "<password>cauldron</password>"));
    s.bob.send("<presence to='coven@conference.localhost/bob' type='unavailable'/>");
    REQUIRE(s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable())));

    REQUIRE(configure(s.alice, "coven@conference.localhost",
                      {{"muc#roomconfig_passwordprotectedroom", "0"}, {"muc#roomconfig_membersonly", "1"}}));
    auto not_member = join_error(s.bob, "coven@conference.localhost/bob");
    REQUIRE(not_member);
    CHECK(stanza_error_condition(*not_member) == "registration-required");

    s.alice.send("<message to='coven@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>"
                 "<invite to='bob@localhost/laptop'><reason>Join us</reason></invite></x></message>");
    auto invite = s.bob.wait_for([](const Element& el) {
        const Element* ix = el.find_child("x", ns_muc_user);
        return el.name() == "message" && ix && ix->find_child("invite", ns_muc_user);
    });
    REQUIRE(invite);
    INFO(to_xml(*invite));
    const Element* x = invite->find_child("x", ns_muc_user);
    REQUIRE(x);
    const Element* inv = x->find_child("invite", ns_muc_user);
    REQUIRE(inv);
    CHECK(inv->attr("from") == "alice@localhost/phone");
    CHECK(inv->child_text("reason", ns_muc_user) == "Join us");
    auto member = join(s.bob, "coven@conference.localhost/bob");
    REQUIRE(member);
    CHECK(item_of(*member).attr("affiliation") == "member");

    // Revoking membership removes him with 321.
    auto revoke = admin(s.alice, "coven@conference.localhost", "<item affiliation='none' jid='bob@localhost'/>");
    REQUIRE(revoke);
    CHECK(revoke->attr("type") == "result");
    auto removed = s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(removed);
    CHECK(has_status(*removed, 321));

    // Declining is forwarded to the inviter.
    s.bob.send("<message to='coven@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'>"
               "<decline to='alice@localhost/phone'><reason>Busy</reason></decline></x></message>");
    auto decline = s.alice.wait_for([](const Element& el) {
        const Element* dx = el.find_child("x", ns_muc_user);
        return el.name() == "message" && dx && dx->find_child("decline", ns_muc_user);
    });
    REQUIRE(decline);
    CHECK(decline->find_child("x", ns_muc_user)->find_child("decline", ns_muc_user)->attr("from") == "bob@localhost");
}

TEST_CASE("muc admin: kick, voice in a moderated room, ban") {
    Scene s;
    REQUIRE(configure(s.alice, "coven@conference.localhost", {{"muc#roomconfig_moderatedroom", "1"}}));
    auto visitor = join(s.bob, "coven@conference.localhost/bob");
    REQUIRE(visitor);
    CHECK(item_of(*visitor).attr("role") == "visitor");
    s.bob.send("<message id='v1' to='coven@conference.localhost' type='groupchat'><body>may I?</body></message>");
    auto silenced = s.bob.wait_for(error_reply("v1"));
    REQUIRE(silenced);
    CHECK(stanza_error_condition(*silenced) == "forbidden");

    // Bob, a visitor, may not kick; Alice gives him voice.
    auto not_moderator = admin(s.bob, "coven@conference.localhost", "<item nick='alice' role='none'/>");
    REQUIRE(not_moderator);
    CHECK(stanza_error_condition(*not_moderator) == "forbidden");
    auto voice = admin(s.alice, "coven@conference.localhost", "<item nick='bob' role='participant'/>");
    REQUIRE(voice);
    CHECK(voice->attr("type") == "result");
    auto voiced = s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), [](const Element& el) {
        return item_of(el).attr("role") == "participant";
    }));
    REQUIRE(voiced);
    s.bob.send("<message to='coven@conference.localhost' type='groupchat'><body>thank you</body></message>");
    REQUIRE(s.alice.wait_for(message_with_body("thank you")));

    // A moderator who is not above an owner cannot kick her (bob is only a participant).
    auto kick = admin(s.alice, "coven@conference.localhost", "<item nick='bob' role='none'><reason>Out</reason></item>");
    REQUIRE(kick);
    CHECK(kick->attr("type") == "result");
    auto kicked = s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(kicked);
    CHECK(has_status(*kicked, 307));
    CHECK(has_status(*kicked, 110));
    CHECK(item_of(*kicked).child_text("reason", ns_muc_user) == "Out");
    auto seen_kicked = s.alice.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(seen_kicked);
    CHECK(has_status(*seen_kicked, 307));

    // Kicked, he may come back; banned, he may not.
    REQUIRE(join(s.bob, "coven@conference.localhost/bob"));
    auto ban = admin(s.alice, "coven@conference.localhost", "<item affiliation='outcast' jid='bob@localhost'/>");
    REQUIRE(ban);
    CHECK(ban->attr("type") == "result");
    auto banned = s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(banned);
    CHECK(has_status(*banned, 301));
    auto refused = join_error(s.bob, "coven@conference.localhost/bob");
    REQUIRE(refused);
    CHECK(stanza_error_condition(*refused) == "forbidden");

    auto list = s.alice.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'>"
        "<item affiliation='outcast'/></query></iq>"));
    REQUIRE(list);
    CHECK(to_xml(*list).find("bob@localhost") != std::string::npos);
    auto owners = s.bob.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'>"
        "<item affiliation='owner'/></query></iq>"));
    REQUIRE(owners);
    CHECK(stanza_error_condition(*owners) == "forbidden");
}

TEST_CASE("muc admin: the configuration form; a bad form changes nothing; only owners configure") {
    Scene s;
    auto form = s.alice.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"));
    REQUIRE(form);
    const std::string text = to_xml(*form);
    CHECK(text.find("muc#roomconfig_persistentroom") != std::string::npos);
    CHECK(text.find("http://jabber.org/protocol/muc#roomconfig") != std::string::npos);
    REQUIRE(configure(s.alice, "coven@conference.localhost", {{"muc#roomconfig_roomname", "The Coven"}}));

    auto bad = configure_answer(s.alice, "coven@conference.localhost",
                                {{"muc#roomconfig_roomname", "Changed"}, {"muc#roomconfig_maxusers", "lots"}});
    REQUIRE(bad);
    CHECK(stanza_error_condition(*bad) == "bad-request");
    auto unknown = configure_answer(s.alice, "coven@conference.localhost",
                                    {{"muc#roomconfig_roomname", "Changed"}, {"muc#roomconfig_colour", "red"}});
    REQUIRE(unknown);
    CHECK(stanza_error_condition(*unknown) == "bad-request");
    auto again = s.alice.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>"));
    REQUIRE(again);
    CHECK(to_xml(*again).find("The Coven") != std::string::npos);
    CHECK(to_xml(*again).find("Changed") == std::string::npos);

    REQUIRE(join(s.bob, "coven@conference.localhost/bob"));
    auto not_owner = configure_answer(s.bob, "coven@conference.localhost", {{"muc#roomconfig_roomname", "Mine"}});
    REQUIRE(not_owner);
    CHECK(stanza_error_condition(*not_owner) == "forbidden");

    // Occupants hear of a change (104) and of the room becoming non-anonymous (172).
    REQUIRE(configure(s.alice, "coven@conference.localhost", {{"muc#roomconfig_whois", "anyone"}}));
    auto notice = s.bob.wait_for([](const Element& el) { return el.name() == "message" && has_status(el, 104); });
    REQUIRE(notice);
    CHECK(has_status(*notice, 172));
}

TEST_CASE("muc admin: destroying a room sends everyone away with the alternative venue") {
    Scene s;
    REQUIRE(make_instant(s.alice, "coven@conference.localhost"));
    REQUIRE(join(s.bob, "coven@conference.localhost/bob"));
    auto not_owner = s.bob.request(*parse_fragment(
        "<iq type='set' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'>"
        "<destroy/></query></iq>"));
    REQUIRE(not_owner);
    CHECK(stanza_error_condition(*not_owner) == "forbidden");
    auto done = s.alice.request(*parse_fragment(
        "<iq type='set' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'>"
        "<destroy jid='heath@conference.localhost'><reason>Macbeth doth come.</reason></destroy></query></iq>"));
    REQUIRE(done);
    CHECK(done->attr("type") == "result");
    auto gone = s.bob.wait_for(both(presence_from("coven@conference.localhost/bob"), unavailable()));
    REQUIRE(gone);
    const Element* d = gone->find_child("x", ns_muc_user)->find_child("destroy", ns_muc_user);
    REQUIRE(d);
    CHECK(d->attr("jid") == "heath@conference.localhost");
    CHECK(d->child_text("reason", ns_muc_user) == "Macbeth doth come.");
    auto info = s.bob.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    CHECK(stanza_error_condition(*info) == "item-not-found");
}

TEST_CASE("muc admin: a persistent room keeps its configuration, affiliations and history across a restart") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    {
        TestClient alice(server, "alice");
        REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
        REQUIRE(join(alice, "coven@conference.localhost/alice"));
        REQUIRE(configure(alice, "coven@conference.localhost",
                          {{"muc#roomconfig_persistentroom", "1"}, {"muc#roomconfig_roomname", "The Coven"},
                           {"muc#roomconfig_membersonly", "1"}}));
        auto member = admin(alice, "coven@conference.localhost", "<item affiliation='member' jid='bob@localhost'/>");
        REQUIRE(member);
        REQUIRE(member->attr("type") == "result");
        alice.send("<message to='coven@conference.localhost' type='groupchat'><body>When shall we three meet again</body></message>");
        REQUIRE(alice.wait_for(message_with_body("When shall we three meet again")));
        alice.send("<message to='coven@conference.localhost' type='groupchat'><subject>Thunder</subject></message>");
        REQUIRE(alice.wait_for(subject_message()));
        alice.disconnect();
    }
    server.restart();
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    auto joined = join(bob, "coven@conference.localhost/bob");
    REQUIRE(joined);
    CHECK(item_of(*joined).attr("affiliation") == "member");
    CHECK_FALSE(has_status(*joined, 201));
    auto history = bob.wait_for(message_with_body("When shall we three meet again"));
    REQUIRE(history);
    CHECK(history->find_child("delay", "urn:xmpp:delay"));
    auto subject = bob.wait_for(subject_message());
    REQUIRE(subject);
    CHECK(subject->child_text("subject") == "Thunder");
    auto info = bob.request(*parse_fragment(
        "<iq type='get' to='coven@conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
    REQUIRE(info);
    const std::string text = to_xml(*info);
    CHECK(text.find("muc_persistent") != std::string::npos);
    CHECK(text.find("muc_membersonly") != std::string::npos);
    CHECK(text.find("The Coven") != std::string::npos);
}
