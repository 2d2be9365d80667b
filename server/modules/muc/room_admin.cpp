// XEP-0045 §8–10: moderator and admin use cases through muc#admin (roles and
// affiliations, their lists) and owner use cases through muc#owner (the
// configuration form, instant rooms, destroying a room).
#include "protocol/namespaces.hpp"
#include "server/modules/muc/service.hpp"

namespace parley::server::modules::muc {

using protocol::Jid;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::StanzaErrorType;
using protocol::xml::Element;
using routing::Stanza;

namespace {

StanzaError err(StanzaErrorCondition c, StanzaErrorType t) { return protocol::stanza_error(c, t); }
StanzaError bad_request() { return err(StanzaErrorCondition::bad_request, StanzaErrorType::modify); }

// One <item/> of a muc#admin set, resolved.
struct Change {
    std::optional<Role> role;
    std::optional<Affiliation> affiliation;
    std::string nick;  // role changes
    Jid target;        // affiliation changes (bare)
    std::string reason;
};

}  // namespace

void Service::admin_iq(Room& room, Outbox& out, const Stanza& s) {
    const Element* q = s.el.first_child_element();
    if (!q || q->name() != "query") return out.error(s, bad_request());
    Occupant* self = room.find_session(s.from);
    const Affiliation actor_aff = room.affiliation(s.from);
    const Role actor_role = self ? self->role : Role::none;
    const bool actor_admin = actor_aff == Affiliation::owner || actor_aff == Affiliation::admin;
    const Element* first = q->find_child("item", ns_muc_admin);
    if (!first) return out.error(s, bad_request());

    if (s.el.attr("type") == "get") {
        Element result("query", std::string(ns_muc_admin));
        if (const std::string* a = first->find_attr("affiliation")) {
            auto aff = parse_affiliation(*a);
            if (!aff || *aff == Affiliation::none) return out.error(s, bad_request());
            // §10.5/10.8: owners see the owner and admin lists; admins the others.
            const bool allowed = (*aff == Affiliation::owner || *aff == Affiliation::admin)
                                     ? actor_aff == Affiliation::owner || actor_admin
                                     : actor_admin;
            if (!allowed) return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
            for (const auto& jid : room.with_affiliation(*aff)) {
                result.add_child("item").set_attr("affiliation", std::string(*a)).set_attr("jid", jid);
            }
        } else if (const std::string* r = first->find_attr("role")) {
            auto role = parse_role(*r);
            if (!role || *role == Role::none) return out.error(s, bad_request());
            const bool allowed = *role == Role::moderator ? actor_admin : actor_role == Role::moderator;
            if (!allowed) return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
            for (const auto& [nick, o] : room.occupants()) {
                if (o.role != *role) continue;
                Element& item = result.add_child("item");
                item.set_attr("nick", nick).set_attr("role", std::string(*r));
                item.set_attr("affiliation", std::string(to_string(room.affiliation(o.bare))));
                if (self && room.may_see_jids(*self) && !o.sessions.empty()) {
                    item.set_attr("jid", o.sessions.front().to_string());
                }
            }
        } else {
            return out.error(s, bad_request());
        }
        return out.result(s, std::move(result));
    }

    // set: every item is checked before any is applied, so a bad one changes nothing.
    std::vector<Change> changes;
    for (const auto& item : q->children()) {
        if (item.is_text() || item.name() != "item" || item.xmlns() != ns_muc_admin) continue;
        Change c;
        c.reason = item.child_text("reason", ns_muc_admin);
        const std::string* role = item.find_attr("role");
        const std::string* aff = item.find_attr("affiliation");
        if ((role != nullptr) == (aff != nullptr)) return out.error(s, bad_request());
        if (role) {
            c.role = parse_role(*role);
            c.nick = std::string(item.attr("nick"));
            if (!c.role || c.nick.empty()) return out.error(s, bad_request());
            Occupant* target = room.find_nick(c.nick);
            if (!target) return out.error(s, err(StanzaErrorCondition::item_not_found, StanzaErrorType::cancel));
            if (auto e = room.check_role_change(actor_aff, actor_role, room.affiliation(target->bare), target->role,
                                                *c.role)) {
                return out.error(s, *e);
            }
        } else {
            c.affiliation = parse_affiliation(*aff);
            if (!c.affiliation) return out.error(s, bad_request());
            if (const std::string* jid = item.find_attr("jid")) {
                auto parsed = Jid::parse(*jid);
                if (!parsed) return out.error(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
                c.target = parsed->bare();
            } else if (Occupant* target = room.find_nick(std::string(item.attr("nick")))) {
                c.target = target->bare;
            } else {
                return out.error(s, bad_request());
            }
            if (auto e = room.check_affiliation_change(actor_aff, c.target, *c.affiliation)) return out.error(s, *e);
        }
        changes.push_back(std::move(c));
    }
    if (changes.empty()) return out.error(s, bad_request());

    PresenceExtra extra;
    extra.actor = self ? self->nick : std::string();
    for (auto& c : changes) {
        extra.reason = c.reason;
        if (c.role) {
            Occupant* target = room.find_nick(c.nick);
            if (!target) continue;
            if (*c.role == Role::none) {
                remove_occupant(room, out, c.nick, {307}, extra);  // §8.2 kick
            } else {
                target->role = *c.role;
                presence_to_all(room, out, *target, {}, false, extra);
            }
            continue;
        }
        room.set_affiliation(c.target, *c.affiliation);
        out.persist = true;
        for (Occupant* o : room.find_user(c.target)) {
            const std::string nick = o->nick;
            if (*c.affiliation == Affiliation::outcast) {
                remove_occupant(room, out, nick, {301}, extra);  // §9.1 ban
            } else if (room.config().members_only && rank(*c.affiliation) < rank(Affiliation::member)) {
                remove_occupant(room, out, nick, {321}, extra);  // §9.4 membership revoked
            } else {
                o->role = room.default_role(*c.affiliation);
                presence_to_all(room, out, *o, {}, false, extra);
            }
        }
    }
    out.result(s, std::nullopt);
}

void Service::owner_iq(Room& room, Outbox& out, const Stanza& s) {
    const Element* q = s.el.first_child_element();
    if (!q || q->name() != "query") return out.error(s, bad_request());
    if (room.affiliation(s.from) != Affiliation::owner) {
        return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
    }
    if (s.el.attr("type") == "get") {
        Element result("query", std::string(ns_muc_owner));
        result.add_child(config_form(room.config(), cfg_.max_occupants));
        return out.result(s, std::move(result));
    }
    if (const Element* d = q->find_child("destroy", ns_muc_owner)) {
        destroy(room, out, d);
        return out.result(s, std::nullopt);
    }
    const Element* form = q->find_child("x", protocol::ns::data_forms);
    if (!form) return out.error(s, bad_request());
    if (form->attr("type") == "cancel") {
        // §10.1.3: cancelling the initial configuration destroys the room.
        if (room.locked()) destroy(room, out, nullptr);
        return out.result(s, std::nullopt);
    }
    set_config(room, out, s, *form);
}

void Service::set_config(Room& room, Outbox& out, const Stanza& s, const Element& form) {
    auto change = apply_config_form(room.config(), form, cfg_.max_occupants);
    if (!change) return out.error(s, bad_request());
    std::vector<Jid> owners, admins;
    for (const auto& [list, into] : {std::pair{&change->owners, &owners}, std::pair{&change->admins, &admins}}) {
        if (!*list) continue;
        for (const auto& text : **list) {
            auto jid = Jid::parse(text);
            if (!jid) return out.error(s, bad_request());
            into->push_back(jid->bare());
        }
    }
    const RoomConfig old = room.config();
    const bool was_locked = room.locked();
    room.config() = change->config;
    for (const auto& j : owners) room.set_affiliation(j, Affiliation::owner);
    for (const auto& j : admins) {
        if (room.affiliation(j) != Affiliation::owner) room.set_affiliation(j, Affiliation::admin);
    }
    room.set_locked(false);
    out.persist = true;
    out.result(s, std::nullopt);
    const RoomConfig& now = room.config();
    // §10.2.1: members-only now: whoever is not a member leaves with 322.
    if (now.members_only && !old.members_only) {
        std::vector<std::string> gone;
        for (const auto& [nick, o] : room.occupants()) {
            if (rank(room.affiliation(o.bare)) < rank(Affiliation::member)) gone.push_back(nick);
        }
        for (const auto& nick : gone) remove_occupant(room, out, nick, {322}, {});
    }
    if (was_locked) return;
    // §10.2.1: occupants hear of the change: 104, and 172/173 for anonymity, 170/171 logging.
    std::vector<int> codes{104};
    if (now.whois_anyone != old.whois_anyone) codes.push_back(now.whois_anyone ? 172 : 173);
    if (archiving(room) != (ctx_.config().archive.enabled && old.archiving)) codes.push_back(archiving(room) ? 170 : 171);
    Element m("message", std::string(protocol::ns::client));
    m.set_attr("type", "groupchat");
    m.set_attr("id", random_secret());
    Element& x = m.add_child("x", std::string(ns_muc_user));
    for (int code : codes) x.add_child("status").set_attr("code", std::to_string(code));
    broadcast(room, out, m, room.jid());
}

void Service::destroy(Room& room, Outbox& out, const Element* destroy_el) {
    Element d("destroy", std::string(ns_muc_user));
    if (destroy_el) {
        if (const std::string* jid = destroy_el->find_attr("jid")) d.set_attr("jid", *jid);
        if (const Element* reason = destroy_el->find_child("reason", ns_muc_owner)) {
            d.add_child("reason").add_text(reason->text());
        }
        if (const Element* password = destroy_el->find_child("password", ns_muc_owner)) {
            d.add_child("password").add_text(password->text());
        }
    }
    PresenceExtra extra;
    extra.destroy = &d;
    std::vector<std::string> nicks;
    for (const auto& [nick, o] : room.occupants()) nicks.push_back(nick);
    for (const auto& nick : nicks) remove_occupant(room, out, nick, {}, extra);
    out.destroyed = true;
}

}  // namespace parley::server::modules::muc
