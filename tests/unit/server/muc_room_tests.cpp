// XEP-0045 room state: join checks, permission rules, history selection, the
// configuration form, stamps and occupant-ids. Pure logic, no server.
#include <doctest/doctest.h>

#include <set>

#include "protocol/namespaces.hpp"
#include "server/modules/muc/room.hpp"
#include "server/modules/muc/service.hpp"

using namespace parley::server::modules::muc;
using parley::protocol::Jid;
using parley::protocol::StanzaErrorCondition;
using parley::protocol::StanzaErrorType;
using parley::protocol::xml::Element;

namespace {

Jid jid(const char* text) { return *Jid::parse(text); }

Room room_with_owner() {
    Room r(jid("coven@conference.localhost"), RoomConfig{});
    r.set_affiliation(jid("crone@localhost"), Affiliation::owner);
    return r;
}

Occupant occupant(const char* nick, const char* full, Role role) {
    Occupant o;
    o.nick = nick;
    o.sessions.push_back(jid(full));
    o.bare = o.sessions.front().bare();
    o.role = role;
    return o;
}

Element submit(std::vector<std::pair<std::string, std::string>> fields) {
    Element x("x", std::string(parley::protocol::ns::data_forms));
    x.set_attr("type", "submit");
    for (auto& [var, value] : fields) {
        Element& f = x.add_child("field");
        f.set_attr("var", var);
        f.add_child("value").add_text(value);
    }
    return x;
}

}  // namespace

TEST_CASE("muc room: join checks in the order of XEP-0045 §7.2") {
    Room r = room_with_owner();
    r.occupants().emplace("thirdwitch", occupant("thirdwitch", "hag66@localhost/pda", Role::participant));

    CHECK_FALSE(r.check_join(jid("wiccarocks@localhost/laptop"), "secondwitch", std::nullopt));
    auto conflict = r.check_join(jid("wiccarocks@localhost/laptop"), "thirdwitch", std::nullopt);
    REQUIRE(conflict);
    CHECK(conflict->condition == StanzaErrorCondition::conflict);
    // The same user under the same nick is another session, not a conflict.
    CHECK_FALSE(r.check_join(jid("hag66@localhost/phone"), "thirdwitch", std::nullopt));

    r.set_affiliation(jid("wiccarocks@localhost"), Affiliation::outcast);
    auto banned = r.check_join(jid("wiccarocks@localhost/laptop"), "secondwitch", std::nullopt);
    REQUIRE(banned);
    CHECK(banned->condition == StanzaErrorCondition::forbidden);
    CHECK(banned->type == StanzaErrorType::auth);

    r.config().members_only = true;
    auto members = r.check_join(jid("stranger@localhost/x"), "stranger", std::nullopt);
    REQUIRE(members);
    CHECK(members->condition == StanzaErrorCondition::registration_required);
    r.config().members_only = false;

    r.config().password_protected = true;
    r.config().password = "cauldronburn";
    auto no_password = r.check_join(jid("stranger@localhost/x"), "stranger", std::nullopt);
    REQUIRE(no_password);
    CHECK(no_password->condition == StanzaErrorCondition::not_authorized);
    CHECK(r.check_join(jid("stranger@localhost/x"), "stranger", std::string("wrong")));
    CHECK_FALSE(r.check_join(jid("stranger@localhost/x"), "stranger", std::string("cauldronburn")));
    r.config().password_protected = false;

    r.config().max_users = 1;
    auto full = r.check_join(jid("stranger@localhost/x"), "stranger", std::nullopt);
    REQUIRE(full);
    CHECK(full->condition == StanzaErrorCondition::service_unavailable);
    CHECK(full->type == StanzaErrorType::wait);
    CHECK_FALSE(r.check_join(jid("crone@localhost/desktop"), "crone", std::nullopt));  // owners get in
}

TEST_CASE("muc room: default roles follow affiliation and moderation") {
    Room r = room_with_owner();
    CHECK(r.default_role(Affiliation::owner) == Role::moderator);
    CHECK(r.default_role(Affiliation::admin) == Role::moderator);
    CHECK(r.default_role(Affiliation::member) == Role::participant);
    CHECK(r.default_role(Affiliation::none) == Role::participant);
    r.config().moderated = true;
    CHECK(r.default_role(Affiliation::none) == Role::visitor);
    CHECK(r.default_role(Affiliation::member) == Role::participant);
}

TEST_CASE("muc room: who may kick, voice and grant moderator") {
    Room r = room_with_owner();
    using A = Affiliation;
    using R = Role;
    // A moderator kicks a participant; a participant kicks nobody.
    CHECK_FALSE(r.check_role_change(A::none, R::moderator, A::none, R::participant, R::none));
    auto forbidden = r.check_role_change(A::none, R::participant, A::none, R::participant, R::none);
    REQUIRE(forbidden);
    CHECK(forbidden->condition == StanzaErrorCondition::forbidden);
    // Nobody kicks an owner but an owner; an admin cannot kick an admin.
    auto not_allowed = r.check_role_change(A::admin, R::moderator, A::owner, R::moderator, R::none);
    REQUIRE(not_allowed);
    CHECK(not_allowed->condition == StanzaErrorCondition::not_allowed);
    CHECK(r.check_role_change(A::admin, R::moderator, A::admin, R::moderator, R::none));
    CHECK(r.check_role_change(A::member, R::moderator, A::admin, R::moderator, R::visitor));
    // Voice: moderators grant and revoke it.
    CHECK_FALSE(r.check_role_change(A::member, R::moderator, A::none, R::visitor, R::participant));
    CHECK_FALSE(r.check_role_change(A::member, R::moderator, A::none, R::participant, R::visitor));
    // Moderator status is for admins and owners to give.
    auto grant = r.check_role_change(A::none, R::moderator, A::none, R::participant, R::moderator);
    REQUIRE(grant);
    CHECK(grant->condition == StanzaErrorCondition::forbidden);
    CHECK_FALSE(r.check_role_change(A::admin, R::moderator, A::none, R::participant, R::moderator));
}

TEST_CASE("muc room: who may change affiliations") {
    Room r = room_with_owner();
    const Jid crone = jid("crone@localhost");
    const Jid hag = jid("hag66@localhost");
    r.set_affiliation(jid("admin@localhost"), Affiliation::admin);
    CHECK_FALSE(r.check_affiliation_change(Affiliation::admin, hag, Affiliation::member));
    CHECK_FALSE(r.check_affiliation_change(Affiliation::admin, hag, Affiliation::outcast));
    auto member = r.check_affiliation_change(Affiliation::member, hag, Affiliation::member);
    REQUIRE(member);
    CHECK(member->condition == StanzaErrorCondition::forbidden);
    auto admin_grants_admin = r.check_affiliation_change(Affiliation::admin, hag, Affiliation::admin);
    REQUIRE(admin_grants_admin);
    CHECK(admin_grants_admin->condition == StanzaErrorCondition::forbidden);
    auto admin_bans_owner = r.check_affiliation_change(Affiliation::admin, crone, Affiliation::outcast);
    REQUIRE(admin_bans_owner);
    CHECK(admin_bans_owner->condition == StanzaErrorCondition::not_allowed);
    auto last_owner = r.check_affiliation_change(Affiliation::owner, crone, Affiliation::admin);
    REQUIRE(last_owner);
    CHECK(last_owner->condition == StanzaErrorCondition::conflict);
    r.set_affiliation(hag, Affiliation::owner);
    CHECK_FALSE(r.check_affiliation_change(Affiliation::owner, crone, Affiliation::admin));
    CHECK(r.with_affiliation(Affiliation::owner).size() == 2);
    r.set_affiliation(hag, Affiliation::none);
    CHECK(r.affiliation(hag) == Affiliation::none);
    CHECK(r.affiliations().count("hag66@localhost") == 0);
}

TEST_CASE("muc room: history honours maxstanzas, maxchars, seconds and since") {
    Room r = room_with_owner();
    const std::int64_t now = 1'000'000'000'000'000;
    for (int i = 0; i < 5; ++i) {
        Element m("message");
        m.set_attr("id", std::to_string(i));
        r.add_history(HistoryEntry{m, now - (5 - i) * 60'000'000LL, 100}, 4);  // one a minute
    }
    CHECK(r.history().size() == 4);  // the oldest fell out
    CHECK(r.select_history({}, now).size() == 4);
    HistoryRequest two;
    two.max_stanzas = 2;
    auto last_two = r.select_history(two, now);
    REQUIRE(last_two.size() == 2);
    CHECK(last_two[0]->message.attr("id") == "3");
    CHECK(last_two[1]->message.attr("id") == "4");
    HistoryRequest none;
    none.max_stanzas = 0;
    CHECK(r.select_history(none, now).empty());
    HistoryRequest chars;
    chars.max_chars = 250;
    CHECK(r.select_history(chars, now).size() == 2);
    HistoryRequest recent;
    recent.seconds = 150;  // the last two minutes and a half
    CHECK(r.select_history(recent, now).size() == 2);
    HistoryRequest since;
    since.since_us = now - 3 * 60'000'000LL;  // strictly after
    CHECK(r.select_history(since, now).size() == 2);
}

TEST_CASE("muc room: the configuration form round-trips and refuses bad input") {
    RoomConfig c;
    c.name = "The Coven";
    c.members_only = true;
    c.max_users = 30;
    Element form = config_form(c, 100);
    CHECK(form.attr("type") == "form");
    form.set_attr("type", "submit");
    auto back = apply_config_form(RoomConfig{}, form, 100);
    REQUIRE(back);
    CHECK(back->config.name == "The Coven");
    CHECK(back->config.members_only);
    CHECK(back->config.max_users == 30);

    auto ok = apply_config_form(c, submit({{"FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig"},
                                           {"muc#roomconfig_persistentroom", "true"},
                                           {"muc#roomconfig_whois", "anyone"}}),
                                100);
    REQUIRE(ok);
    CHECK(ok->config.persistent);
    CHECK(ok->config.whois_anyone);
    CHECK(ok->config.name == "The Coven");  // untouched fields keep their values

    CHECK_FALSE(apply_config_form(c, submit({{"muc#roomconfig_bogus", "1"}}), 100));
    CHECK_FALSE(apply_config_form(c, submit({{"muc#roomconfig_persistentroom", "maybe"}}), 100));
    CHECK_FALSE(apply_config_form(c, submit({{"muc#roomconfig_maxusers", "101"}}), 100));
    CHECK_FALSE(apply_config_form(c, submit({{"muc#roomconfig_whois", "everyone"}}), 100));
    CHECK_FALSE(apply_config_form(c, submit({{"FORM_TYPE", "urn:other"}}), 100));
    CHECK_FALSE(apply_config_form(c, submit({{"muc#roomconfig_passwordprotectedroom", "1"}}), 100));
    CHECK(apply_config_form(c, submit({{"muc#roomconfig_passwordprotectedroom", "1"},
                                       {"muc#roomconfig_roomsecret", "pw"}}),
                            100));
    CHECK(apply_config_form(c, submit({}), 100));  // an instant room
}

TEST_CASE("muc room: stamps and occupant-ids") {
    CHECK(format_stamp(1'034'553'517'000'000) == "2002-10-13T23:58:37.000Z");
    CHECK(parse_stamp("2002-10-13T23:58:37Z") == 1'034'553'517'000'000);
    CHECK(parse_stamp("2002-10-13T23:58:37.250Z") == 1'034'553'517'250'000);
    CHECK(parse_stamp("2002-10-14T01:58:37+02:00") == 1'034'553'517'000'000);
    CHECK_FALSE(parse_stamp("yesterday"));
    const std::string a = make_occupant_id("s", "coven@conference.localhost", "hag66@localhost");
    CHECK(a == make_occupant_id("s", "coven@conference.localhost", "hag66@localhost"));
    CHECK(a != make_occupant_id("s", "coven@conference.localhost", "crone@localhost"));
    CHECK(a != make_occupant_id("t", "coven@conference.localhost", "hag66@localhost"));
    CHECK(is_valid_nick("thirdwitch"));
    CHECK_FALSE(is_valid_nick(""));
    CHECK_FALSE(is_valid_nick("   "));
}

TEST_CASE("muc room: a broadcast to 1000 occupants changes only 'to'; presence shows real JIDs to moderators") {
    Room r = room_with_owner();
    for (int i = 0; i < 1000; ++i) {
        const std::string nick = "witch" + std::to_string(i);
        const std::string full = "user" + std::to_string(i) + "@localhost/r";
        r.occupants().emplace(nick, occupant(nick.c_str(), full.c_str(), i == 0 ? Role::moderator : Role::participant));
    }
    Element m("message", "jabber:client");
    m.set_attr("type", "groupchat");
    m.add_child("body").add_text("hello");
    Outbox out;
    Service::broadcast(r, out, m, jid("coven@conference.localhost/witch1"));
    CHECK(out.entries.size() == 1);  // one element, a thousand addresses
    const auto sent = out.stanzas();
    REQUIRE(sent.size() == 1000);
    CHECK(sent[0].el.attr("from") == "coven@conference.localhost/witch1");
    CHECK(sent[0].el.child_text("body") == "hello");
    std::set<std::string> recipients;
    for (const auto& st : sent) {
        recipients.insert(std::string(st.el.attr("to")));
        CHECK(st.to.to_string() == st.el.attr("to"));
    }
    CHECK(recipients.size() == 1000);

    Outbox presence;
    const Occupant& subject = r.occupants().at("witch5");
    Service::presence_to_all(r, presence, subject, {}, false, {});
    const auto presences = presence.stanzas();
    REQUIRE(presences.size() == 1000);
    for (const auto& st : presences) {
        const Element* x = st.el.find_child("x", "http://jabber.org/protocol/muc#user");
        REQUIRE(x);
        const Element* item = x->find_child("item", "http://jabber.org/protocol/muc#user");
        REQUIRE(item);
        const std::string to(st.el.attr("to"));
        const bool self = to == "user5@localhost/r";
        const bool moderator = to == "user0@localhost/r";
        CHECK(item->has_attr("jid") == (self || moderator));
        bool has_110 = false;
        for (const auto& c : x->children()) has_110 = has_110 || c.attr("code") == "110";
        CHECK(has_110 == self);
        CHECK(st.el.find_child("occupant-id", "urn:xmpp:occupant-id:0"));
    }
}
