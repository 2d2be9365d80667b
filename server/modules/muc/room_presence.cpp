// XEP-0045 §7.1–7.7 occupant presence: entering (creating) a room, presence updates,
// nick changes and leaving, with the status codes of §15.6.
#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/muc/service.hpp"
#include "server/routing/router.hpp"

namespace parley::server::modules::muc {

using protocol::Jid;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::StanzaErrorType;
using protocol::xml::Element;
using routing::Stanza;

namespace {

StanzaError err(StanzaErrorCondition c, StanzaErrorType t) { return protocol::stanza_error(c, t); }

// What of a client's presence the room passes on: everything but MUC payloads, any
// occupant-id it made up (XEP-0421 §4), and its addressing.
Element sanitized(const Element& presence) {
    Element p("presence", std::string(protocol::ns::client));
    for (const auto& c : presence.children()) {
        if (c.is_text()) continue;
        if (c.xmlns() == ns_muc || c.xmlns() == ns_muc_user || c.xmlns() == ns_occupant_id) continue;
        p.add_child(c);
    }
    return p;
}

HistoryRequest history_request(const Element* x) {
    HistoryRequest r;
    const Element* h = x ? x->find_child("history", ns_muc) : nullptr;
    if (!h) return r;
    auto number = [&](std::string_view attr) -> std::optional<std::int64_t> {
        const std::string* v = h->find_attr(attr);
        if (!v) return std::nullopt;
        try {
            long long n = std::stoll(*v);
            return n < 0 ? std::nullopt : std::optional<std::int64_t>(n);
        } catch (...) {
            return std::nullopt;
        }
    };
    if (auto n = number("maxstanzas")) r.max_stanzas = static_cast<std::size_t>(*n);
    if (auto n = number("maxchars")) r.max_chars = static_cast<std::size_t>(*n);
    if (auto n = number("seconds")) r.seconds = *n;
    if (const std::string* since = h->find_attr("since")) r.since_us = parse_stamp(*since);
    return r;
}

}  // namespace

Element Service::occupant_presence(const Room& room, const Occupant& o, bool with_jid, const std::vector<int>& codes,
                                   bool unavailable, const PresenceExtra& extra) {
    Element p = unavailable ? Element("presence", std::string(protocol::ns::client)) : o.presence;
    if (unavailable) {
        p.set_attr("type", "unavailable");
        if (const Element* status = o.presence.find_child("status")) {
            if (extra.reason.empty() && extra.new_nick.empty()) p.add_child(*status);
        }
    }
    Element& x = p.add_child("x", std::string(ns_muc_user));
    Element& item = x.add_child("item");
    item.set_attr("affiliation", std::string(to_string(room.affiliation(o.bare))));
    item.set_attr("role", std::string(unavailable ? "none" : to_string(o.role)));
    if (with_jid && !o.sessions.empty()) item.set_attr("jid", o.sessions.front().to_string());
    if (!extra.new_nick.empty()) item.set_attr("nick", extra.new_nick);
    if (!extra.actor.empty()) item.add_child("actor").set_attr("nick", extra.actor);
    if (!extra.reason.empty()) item.add_child("reason").add_text(extra.reason);
    if (extra.destroy) x.add_child(*extra.destroy);
    for (int code : codes) x.add_child("status").set_attr("code", std::to_string(code));
    p.add_child("occupant-id", std::string(ns_occupant_id)).set_attr("id", o.occupant_id);
    return p;
}

void Service::presence_to_all(const Room& room, Outbox& out, const Occupant& o, const std::vector<int>& codes,
                              bool unavailable, const PresenceExtra& extra) {
    const Jid from = room.jid().with_resource(o.nick);
    std::vector<int> self_codes = codes;
    self_codes.push_back(110);
    Element self = occupant_presence(room, o, true, self_codes, unavailable, extra);
    if (extra.only_session) {
        if (!extra.self_id.empty()) self.set_attr("id", extra.self_id);
        out.add(std::move(self), from, *extra.only_session);
        return;
    }
    std::vector<Jid> seeing, not_seeing;
    for (const auto& [nick, v] : room.occupants()) {
        if (&v == &o) continue;
        auto& into = room.may_see_jids(v) ? seeing : not_seeing;
        into.insert(into.end(), v.sessions.begin(), v.sessions.end());
    }
    for (const auto& session : o.sessions) out.add(self, from, session);
    out.add_fanout(occupant_presence(room, o, true, codes, unavailable, extra), from, std::move(seeing));
    out.add_fanout(occupant_presence(room, o, false, codes, unavailable, extra), from, std::move(not_seeing));
}

void Service::broadcast(const Room& room, Outbox& out, const Element& el, const Jid& from) {
    std::vector<Jid> to;
    to.reserve(room.session_count());
    for (const auto& [nick, v] : room.occupants()) to.insert(to.end(), v.sessions.begin(), v.sessions.end());
    out.add_fanout(el, from, std::move(to));
}

void Service::remove_occupant(Room& room, Outbox& out, const std::string& nick, const std::vector<int>& codes,
                              const PresenceExtra& extra) {
    Occupant* o = room.find_nick(nick);
    if (!o) return;
    presence_to_all(room, out, *o, codes, true, extra);
    room.occupants().erase(nick);
}

void Service::handle_presence(Stanza& s) {
    auto& router = ctx_.router();
    const std::string_view type = s.el.attr("type");
    if (!type.empty() && type != "unavailable") return;  // probes, subscriptions: nothing for a room
    if (!s.to.has_resource()) {
        // §7.2.1: entering needs a nick.
        if (type.empty()) router.bounce(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
        return;
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto slot = find(s.to.local());
        if (!slot) {
            if (!type.empty()) return;
            if (!is_valid_nick(s.to.resource())) {
                router.bounce(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
                return;
            }
            if (!cfg_.create_by_anyone && !ctx_.config().serves(s.from.domain())) {
                router.bounce(s, err(StanzaErrorCondition::not_allowed, StanzaErrorType::cancel));
                return;
            }
            slot = create(s.to);
            if (!slot) {
                router.bounce(s, err(StanzaErrorCondition::resource_constraint, StanzaErrorType::wait));
                return;
            }
        }
        std::unique_lock lock(slot->mutex);
        if (slot->gone) continue;
        Outbox out;
        Room& room = slot->room;
        Occupant* o = room.find_session(s.from);
        if (type == "unavailable") {
            if (o) leave(room, out, s, *o);
        } else if (!o) {
            // A room that nobody owns yet is being created by this presence.
            const bool created = room.empty() && room.affiliations().empty() && !room.config().persistent;
            if (created) {
                room.set_affiliation(s.from, Affiliation::owner);
                room.set_locked(s.el.find_child("x", ns_muc) != nullptr);
            }
            join(room, out, s, created, false);
        } else if (o->nick == s.to.resource() && s.el.find_child("x", ns_muc)) {
            // Entering again from a session that is already in (a client that lost
            // track): it gets the whole sequence again, the others nothing.
            std::erase(o->sessions, s.from);
            join(room, out, s, false, true);
        } else if (o->nick == s.to.resource()) {
            update_presence(room, out, s, *o);
        } else {
            change_nick(room, out, s, *o);
        }
        finish(*slot, lock, out);
        return;
    }
}

void Service::join(Room& room, Outbox& out, const Stanza& s, bool created, bool rejoin) {
    const std::string& nick = s.to.resource();
    if (!is_valid_nick(nick)) return out.error(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
    const Affiliation aff = room.affiliation(s.from);
    const Element* x = s.el.find_child("x", ns_muc);
    if (!rejoin) {
        if (room.locked() && aff != Affiliation::owner) {
            return out.error(s, err(StanzaErrorCondition::item_not_found, StanzaErrorType::cancel));
        }
        std::optional<std::string> password;
        if (x && x->find_child("password", ns_muc)) password = x->child_text("password", ns_muc);
        if (auto e = room.check_join(s.from, nick, password)) return out.error(s, *e);
    }

    Occupant* o = room.find_nick(nick);
    const bool new_occupant = o == nullptr;
    if (new_occupant) {
        Occupant fresh;
        fresh.nick = nick;
        fresh.bare = s.from.bare();
        fresh.role = room.default_role(aff);
        fresh.occupant_id = make_occupant_id(room.secret(), room.jid().bare_string(), fresh.bare.bare_string());
        o = &room.occupants().emplace(nick, std::move(fresh)).first->second;
    }
    o->sessions.push_back(s.from);
    o->presence = sanitized(s.el);

    // 1. Everyone already there, as the newcomer may see them.
    const bool sees_jids = room.may_see_jids(*o);
    for (const auto& [other_nick, other] : room.occupants()) {
        if (&other == o) continue;
        out.add(occupant_presence(room, other, sees_jids, {}, false, {}), room.jid().with_resource(other_nick), s.from);
    }
    // 2. The newcomer's own presence: to everyone when new, else to this session only.
    std::vector<int> codes;
    if (room.config().whois_anyone) codes.push_back(100);
    if (archiving(room)) codes.push_back(170);
    if (created) codes.push_back(201);
    PresenceExtra extra;
    extra.self_id = std::string(s.el.attr("id"));
    if (new_occupant) {
        const Jid from = room.jid().with_resource(nick);
        std::vector<Jid> seeing, not_seeing;
        for (const auto& [other_nick, other] : room.occupants()) {
            if (&other == o) continue;
            auto& into = room.may_see_jids(other) ? seeing : not_seeing;
            into.insert(into.end(), other.sessions.begin(), other.sessions.end());
        }
        out.add_fanout(occupant_presence(room, *o, true, {}, false, {}), from, std::move(seeing));
        out.add_fanout(occupant_presence(room, *o, false, {}, false, {}), from, std::move(not_seeing));
    }
    extra.only_session = &s.from;
    presence_to_all(room, out, *o, codes, false, extra);
    if (created) return;  // a new room has no history and no subject yet

    // 3. Discussion history (§7.2.15), then 4. the subject (§7.2.16), always sent.
    for (const HistoryEntry* h : room.select_history(history_request(x), now_us())) {
        Element m = h->message;
        Element& delay = m.add_child("delay", std::string(ns_delay));
        delay.set_attr("from", room.jid().bare_string());
        delay.set_attr("stamp", format_stamp(h->ts_us));
        out.add(std::move(m), Jid::parse(std::string(h->message.attr("from"))).value_or(room.jid()), s.from);
    }
    Element subject("message", std::string(protocol::ns::client));
    subject.set_attr("type", "groupchat");
    subject.set_attr("id", random_secret());
    subject.add_child("subject").add_text(room.subject());
    const Jid subject_from = room.subject_nick().empty() ? room.jid() : room.jid().with_resource(room.subject_nick());
    out.add(std::move(subject), subject_from, s.from);
}

void Service::leave(Room& room, Outbox& out, const Stanza& s, Occupant& o) {
    if (o.sessions.size() > 1) {
        // Multi-session: the other sessions stay, so only this one hears it left.
        PresenceExtra extra;
        extra.only_session = &s.from;
        presence_to_all(room, out, o, {}, true, extra);
        std::erase(o.sessions, s.from);
        return;
    }
    o.presence = sanitized(s.el);
    const std::string nick = o.nick;
    remove_occupant(room, out, nick, {}, {});
}

namespace {

// Conditions that say the occupant's session or server is gone, not that it disliked
// one stanza (a client that answers a message with bad-request stays in).
bool means_unreachable(const Element& error_stanza) {
    const Element* e = error_stanza.find_child("error");
    if (!e) return false;
    for (const auto& c : e->children()) {
        if (c.xmlns() != protocol::ns::stanzas_errors) continue;
        const std::string& n = c.name();
        return n == "remote-server-not-found" || n == "remote-server-timeout" || n == "service-unavailable" ||
               n == "recipient-unavailable" || n == "item-not-found" || n == "gone";
    }
    return false;
}

}  // namespace

// An error from an occupant's real JID, in answer to what the room sent it (a bounce
// from its server, or from ours when that server cannot be reached): the occupant is
// removed as kicked for a technical reason (307 with 333, XEP-0045 §15.6),
// so that the room keeps no ghost that every message bounces from.
void Service::remove_unreachable(const Stanza& error) {
    if (!means_unreachable(error.el)) return;
    auto slot = find(error.to.local());
    if (!slot) return;
    std::unique_lock lock(slot->mutex);
    if (slot->gone) return;
    Room& room = slot->room;
    Occupant* o = room.find_session(error.from);
    if (!o) return;
    spdlog::info("muc_occupant_unreachable room={} nick={} jid={}", room.jid().to_string(), o->nick,
                 error.from.to_string());
    Outbox out;
    if (o->sessions.size() > 1) {
        std::erase(o->sessions, error.from);  // its other sessions stay in
    } else {
        const std::string nick = o->nick;
        remove_occupant(room, out, nick, {307, 333}, {});
    }
    finish(*slot, lock, out);
}

void Service::update_presence(Room& room, Outbox& out, const Stanza& s, Occupant& o) {
    o.presence = sanitized(s.el);
    presence_to_all(room, out, o, {}, false, {});
}

void Service::change_nick(Room& room, Outbox& out, const Stanza& s, Occupant& o) {
    const std::string& nick = s.to.resource();
    if (!is_valid_nick(nick)) return out.error(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
    if (room.find_nick(nick)) return out.error(s, err(StanzaErrorCondition::conflict, StanzaErrorType::cancel));
    if (room.config().members_only && rank(room.affiliation(o.bare)) < rank(Affiliation::member)) {
        return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::cancel));
    }
    // §7.6: unavailable from the old nick with 303 and the new nick, then the new presence.
    PresenceExtra extra;
    extra.new_nick = nick;
    presence_to_all(room, out, o, {303}, true, extra);
    auto node = room.occupants().extract(o.nick);
    node.key() = nick;
    node.mapped().nick = nick;
    node.mapped().presence = sanitized(s.el);
    Occupant& renamed = room.occupants().insert(std::move(node)).position->second;
    presence_to_all(room, out, renamed, {}, false, {});
}

}  // namespace parley::server::modules::muc
