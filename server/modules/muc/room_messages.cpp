// XEP-0045 §7.4–7.5, §7.8 and §8.1: groupchat messages (with XEP-0359 stanza-ids,
// XEP-0421 occupant-ids, the archive and the discussion history), the subject,
// private messages between occupants, and mediated invitations.
#include "protocol/namespaces.hpp"
#include "server/modules/mam/mam.hpp"
#include "server/modules/muc/service.hpp"
#include "server/routing/router.hpp"
#include "storage/archive_queue.hpp"

namespace parley::server::modules::muc {

using protocol::Jid;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::StanzaErrorType;
using protocol::xml::Element;
using routing::Stanza;

namespace {

StanzaError err(StanzaErrorCondition c, StanzaErrorType t) { return protocol::stanza_error(c, t); }

// The sender's message as the room passes it on: its own attributes only (id, type,
// xml:lang) and no occupant-id of its own making.
Element relayed(const Element& message, const Occupant& sender) {
    Element m("message", std::string(protocol::ns::client));
    for (const auto& a : message.attributes()) {
        if (a.name == "id" || a.name == "type" || a.name == "xml:lang") m.set_attr(a.name, a.value);
    }
    for (const auto& c : message.children()) {
        if (c.is_text() || c.xmlns() == ns_occupant_id) continue;
        m.add_child(c);
    }
    m.add_child("occupant-id", std::string(ns_occupant_id)).set_attr("id", sender.occupant_id);
    return m;
}

}  // namespace

void Service::handle_message(Stanza& s) {
    auto slot = find(s.to.local());
    if (!slot) {
        ctx_.router().bounce(s, err(StanzaErrorCondition::item_not_found, StanzaErrorType::cancel));
        return;
    }
    std::unique_lock lock(slot->mutex);
    Outbox out;
    Room& room = slot->room;
    const std::string_view type = s.el.attr("type");
    if (slot->gone) {
        out.error(s, err(StanzaErrorCondition::item_not_found, StanzaErrorType::cancel));
    } else if (s.to.has_resource()) {
        if (type == "groupchat") {
            out.error(s, err(StanzaErrorCondition::bad_request, StanzaErrorType::modify));
        } else {
            private_message(room, out, s);
        }
    } else if (const Element* x = s.el.find_child("x", ns_muc_user);
               x && (x->find_child("invite", ns_muc_user) || x->find_child("decline", ns_muc_user))) {
        invitations(room, out, s, *x);
    } else if (type == "groupchat") {
        groupchat(room, out, s);
    } else {
        out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::cancel));
    }
    finish(*slot, lock, out);
}

void Service::groupchat(Room& room, Outbox& out, Stanza& s) {
    Occupant* o = room.find_session(s.from);
    if (!o) return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::modify));
    if (o->role == Role::visitor || o->role == Role::none) {
        return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
    }
    const Jid from = room.jid().with_resource(o->nick);
    const bool has_body = s.el.find_child("body") != nullptr;
    if (const Element* subject = s.el.find_child("subject"); subject && !has_body) {
        // §8.1: moderators, or participants when the room allows it.
        if (o->role != Role::moderator && !room.config().change_subject) {
            return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
        }
        room.set_subject(subject->text(), o->nick);
        out.persist = true;
        Element m = relayed(s.el, *o);
        broadcast(room, out, m, from);
        return;
    }
    Element m = relayed(s.el, *o);
    if (has_body) {
        const std::int64_t id = ctx_.archive().next_id();
        mam::stamp_stanza_id(m, id, room.jid().bare_string());
        m.set_attr("from", from.to_string());
        const std::int64_t ts = now_us();
        std::string xml = protocol::xml::to_string(m);
        const std::size_t chars = xml.size();
        if (archiving(room)) {
            storage::archive_store::Row row;
            row.id = id;
            row.archive = room.jid().bare_string();
            row.with_bare = row.archive;
            row.with_resource = o->nick;
            row.ts_us = ts;
            row.xml = std::move(xml);
            if (!ctx_.archive().push(std::move(row))) {
                return out.error(s, err(StanzaErrorCondition::resource_constraint, StanzaErrorType::wait));
            }
        }
        HistoryEntry entry{m, ts, chars};
        room.add_history(std::move(entry), cfg_.history_messages);
    }
    broadcast(room, out, m, from);
}

void Service::private_message(Room& room, Outbox& out, Stanza& s) {
    Occupant* o = room.find_session(s.from);
    if (!o) return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::modify));
    Occupant* target = room.find_nick(s.to.resource());
    if (!target) return out.error(s, err(StanzaErrorCondition::item_not_found, StanzaErrorType::cancel));
    const std::string& pm = room.config().allow_pm;
    const bool allowed = pm == "anyone" || (pm == "participants" && rank(o->role) >= rank(Role::participant)) ||
                         (pm == "moderators" && o->role == Role::moderator);
    if (!allowed) return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
    Element m = relayed(s.el, *o);
    m.remove_children("x", ns_muc_user);
    m.add_child("x", std::string(ns_muc_user));  // §7.5: marks it as a private message of the room
    const Jid from = room.jid().with_resource(o->nick);
    for (const auto& session : target->sessions) out.add(m, from, session);
}

void Service::invitations(Room& room, Outbox& out, const Stanza& s, const Element& x) {
    Occupant* o = room.find_session(s.from);
    const Affiliation aff = room.affiliation(s.from);
    for (const auto& child : x.children()) {
        if (child.is_text() || child.xmlns() != ns_muc_user) continue;
        auto to = Jid::parse(child.attr("to"));
        if (child.name() == "decline") {
            if (!to) return out.error(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
            if (to->domain() == domain_.domain()) {
                return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::cancel));
            }
            Element m("message", std::string(protocol::ns::client));
            Element& dx = m.add_child("x", std::string(ns_muc_user));
            Element& d = dx.add_child("decline");
            d.set_attr("from", s.from.bare_string());
            if (const Element* reason = child.find_child("reason")) d.add_child(*reason);
            out.add(std::move(m), room.jid(), *to);
            continue;
        }
        if (child.name() != "invite") continue;
        if (!to) return out.error(s, err(StanzaErrorCondition::jid_malformed, StanzaErrorType::modify));
        if (to->domain() == domain_.domain()) {
            return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::cancel));
        }
        const bool privileged = aff == Affiliation::owner || aff == Affiliation::admin;
        if (!o && !privileged) return out.error(s, err(StanzaErrorCondition::not_acceptable, StanzaErrorType::modify));
        if (room.config().members_only) {
            // §7.8.2: in a members-only room only admins invite, unless members may.
            if (!privileged && !(room.config().allow_invites && aff == Affiliation::member)) {
                return out.error(s, err(StanzaErrorCondition::forbidden, StanzaErrorType::auth));
            }
            if (room.affiliation(*to) == Affiliation::none) {
                room.set_affiliation(*to, Affiliation::member);
                out.persist = true;
            }
        }
        Element m("message", std::string(protocol::ns::client));
        Element& ix = m.add_child("x", std::string(ns_muc_user));
        Element& invite = ix.add_child("invite");
        invite.set_attr("from", s.from.to_string());
        if (const Element* reason = child.find_child("reason")) invite.add_child(*reason);
        if (room.config().password_protected) ix.add_child("password").add_text(room.config().password);
        out.add(std::move(m), room.jid(), *to);
    }
}

}  // namespace parley::server::modules::muc
