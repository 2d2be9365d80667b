// The MUC service: which room a stanza is for, the rooms' lifetimes, and the iqs of
// the service and of rooms that are not administration (disco, MAM, ping).
#include "server/modules/muc/service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include "protocol/namespaces.hpp"
#include "server/log.hpp"
#include "server/modules/mam/mam.hpp"
#include "server/net/io_pool.hpp"
#include "server/routing/router.hpp"

namespace parley::server::modules::muc {

namespace {
// How deep this thread is in routing stanzas of a room (see handle()).
thread_local int routing_depth = 0;
}  // namespace

using protocol::Jid;
using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::StanzaErrorType;
using protocol::xml::Element;
using routing::Stanza;

void Outbox::add(Element el, const Jid& from, const Jid& to) {
    el.set_attr("from", from.to_string());
    el.set_attr("to", to.to_string());
    entries.push_back(Entry{Stanza{std::move(el), from, to, 0}, {}});
}

void Outbox::add_fanout(Element el, const Jid& from, std::vector<Jid> to) {
    if (to.empty()) return;
    el.set_attr("from", from.to_string());
    entries.push_back(Entry{Stanza{std::move(el), from, Jid(), 0}, std::move(to)});
}

std::vector<Stanza> Outbox::stanzas() const {
    Outbox copy = *this;
    std::vector<Stanza> out;
    copy.send([&](Stanza s) { out.push_back(std::move(s)); });
    return out;
}

void Outbox::error(const Stanza& request, StanzaError e) {
    if (request.el.attr("type") == "error") return;
    Element reply = protocol::make_error_reply(request.el, e);
    add(std::move(reply), request.to, request.from);
}

void Outbox::result(const Stanza& request, std::optional<Element> payload) {
    Element reply = routing::make_iq_result(request, std::move(payload));
    add(std::move(reply), request.to, request.from);
}

Service::Service(ModuleContext& ctx) : ctx_(ctx), cfg_(ctx.config().muc), domain_(*Jid::parse(ctx.config().muc.domain)) {}

RoomConfig Service::default_config() const {
    RoomConfig c;
    c.max_users = std::min(cfg_.default_max_occupants, cfg_.max_occupants);
    return c;
}

bool Service::archiving(const Room& room) const {
    return ctx_.config().archive.enabled && room.config().archiving;
}

std::shared_ptr<Service::Slot> Service::find(const std::string& local) {
    std::lock_guard lock(rooms_mutex_);
    auto it = rooms_.find(local);
    return it == rooms_.end() ? nullptr : it->second;
}

std::shared_ptr<Service::Slot> Service::create(const Jid& room_jid) {
    std::lock_guard lock(rooms_mutex_);
    auto it = rooms_.find(room_jid.local());
    if (it != rooms_.end()) return it->second;
    if (rooms_.size() >= cfg_.max_rooms) return nullptr;
    auto slot = std::make_shared<Slot>(room_jid.bare(), default_config());
    slot->room.set_secret(random_secret());
    rooms_.emplace(room_jid.local(), slot);
    return slot;
}

void Service::finish(Slot& slot, std::unique_lock<std::mutex>& lock, Outbox& out) {
    Room& room = slot.room;
    if (out.destroyed) {
        slot.gone = true;
        forget(room.jid(), true);
    } else {
        if (out.persist) persist(room);
        // A temporary room vanishes with its last occupant (its archive with it), and so
        // does a room nobody finished creating.
        if (room.empty() && (!room.config().persistent || room.locked())) {
            slot.gone = true;
            forget(room.jid(), archiving(room));
        }
    }
    if (slot.gone) {
        std::lock_guard rooms(rooms_mutex_);
        auto it = rooms_.find(room.jid().local());
        if (it != rooms_.end() && &*it->second == &slot) rooms_.erase(it);
    }
    std::lock_guard send(slot.send_mutex);
    lock.unlock();
    auto& router = ctx_.router();
    ++routing_depth;
    out.send([&router](Stanza s) { router.route(std::move(s)); });
    --routing_depth;
}

void Service::handle(Stanza s) {
    if (routing_depth > 0) {
        // A stanza the room itself just sent came back to the service on this thread
        // (a decline addressed to a room, say): handled later, once this thread holds
        // no send mutex, or it could wait for itself.
        if (auto* io = net::IoPool::current()) {
            boost::asio::post(*io, [this, s = std::move(s)]() mutable { handle(std::move(s)); });
        }
        return;
    }
    const std::string_view type = s.el.attr("type");
    // Answers to iqs relayed to occupants (relay_iq).
    if (s.el.name() == "iq" && (type == "result" || type == "error")) {
        ctx_.router().iq_tracker().complete(s.from, s.el);
        return;
    }
    // Errors are never answered; one that says an occupant cannot be reached removes it.
    if (type == "error") {
        if (s.to.has_local() && s.el.name() != "iq") remove_unreachable(s);
        return;
    }
    if (!s.to.has_local()) {
        handle_service(s);
        return;
    }
    const std::string& name = s.el.name();
    if (name == "presence") {
        handle_presence(s);
    } else if (name == "message") {
        handle_message(s);
    } else if (name == "iq") {
        auto slot = find(s.to.local());
        if (!slot) {
            ctx_.router().bounce(s, StanzaError{StanzaErrorCondition::item_not_found, {}, StanzaErrorType::cancel, {}});
            return;
        }
        handle_room_iq(slot, s);
    }
}

void Service::handle_service(Stanza& s) {
    auto& router = ctx_.router();
    if (s.el.name() != "iq") {
        if (s.el.name() == "message") {
            router.bounce(s, StanzaError{StanzaErrorCondition::service_unavailable, {}, StanzaErrorType::cancel, {}});
        }
        return;
    }
    const std::string_view type = s.el.attr("type");
    if (type == "result") return;
    const Element* q = s.el.first_child_element();
    Outbox out;
    if (type == "get" && q && q->name() == "query" && q->xmlns() == protocol::ns::disco_info && !q->has_attr("node")) {
        Element info("query", std::string(protocol::ns::disco_info));
        info.add_child("identity").set_attr("category", "conference").set_attr("type", "text").set_attr("name", "Chatrooms");
        for (std::string_view f : {std::string_view(ns_muc), protocol::ns::disco_info, protocol::ns::disco_items,
                                   ns_occupant_id, ns_sid, protocol::ns::ping}) {
            info.add_child("feature").set_attr("var", std::string(f));
        }
        out.result(s, std::move(info));
    } else if (type == "get" && q && q->name() == "query" && q->xmlns() == protocol::ns::disco_items &&
               !q->has_attr("node")) {
        std::vector<std::shared_ptr<Slot>> slots;
        {
            std::lock_guard lock(rooms_mutex_);
            for (auto& [local, slot] : rooms_) slots.push_back(slot);
        }
        std::vector<std::pair<std::string, std::string>> listed;
        for (auto& slot : slots) {
            std::lock_guard lock(slot->mutex);
            const Room& room = slot->room;
            if (slot->gone || room.locked() || !room.config().is_public) continue;
            listed.emplace_back(room.jid().to_string(), room.config().name.empty() ? room.jid().local() : room.config().name);
        }
        std::sort(listed.begin(), listed.end());
        Element items("query", std::string(protocol::ns::disco_items));
        for (auto& [jid, name] : listed) items.add_child("item").set_attr("jid", jid).set_attr("name", name);
        out.result(s, std::move(items));
    } else if (type == "get" && q && q->name() == "ping" && q->xmlns() == protocol::ns::ping) {
        out.result(s, std::nullopt);
    } else {
        out.error(s, StanzaError{StanzaErrorCondition::service_unavailable, {}, StanzaErrorType::cancel, {}});
    }
    out.send([&router](Stanza st) { router.route(std::move(st)); });
}

void Service::relay_iq(Stanza s, const Jid& from, const Jid& to) {
    Element iq("iq", std::string(protocol::ns::client));
    iq.set_attr("type", std::string(s.el.attr("type")));
    for (const auto& c : s.el.children()) {
        if (!c.is_text()) iq.add_child(c);
    }
    auto& router = ctx_.router();
    auto request = std::make_shared<Stanza>(std::move(s));
    router.send_iq(std::move(iq), from, to, std::chrono::seconds(30),
                   [&router, request](std::optional<Element> answer) {
                       Element reply;
                       if (answer) {
                           reply = std::move(*answer);
                           if (const std::string* id = request->el.find_attr("id")) reply.set_attr("id", *id);
                       } else {
                           reply = protocol::make_error_reply(
                               request->el, StanzaError{StanzaErrorCondition::service_unavailable, {},
                                                        StanzaErrorType::cancel, {}});
                       }
                       reply.set_attr("from", request->to.to_string());
                       reply.set_attr("to", request->from.to_string());
                       router.route(Stanza{std::move(reply), request->to, request->from, 0});
                   });
}

Element Service::room_info(const Room& room) const {
    Element info("query", std::string(protocol::ns::disco_info));
    const RoomConfig& c = room.config();
    info.add_child("identity").set_attr("category", "conference").set_attr("type", "text").set_attr(
        "name", c.name.empty() ? room.jid().local() : c.name);
    std::vector<std::string> features = {std::string(ns_muc), std::string(protocol::ns::disco_info),
                                         std::string(protocol::ns::disco_items), std::string(ns_occupant_id),
                                         std::string(ns_sid), "http://jabber.org/protocol/muc#stable_id",
                                         "http://jabber.org/protocol/muc#self-ping-optimization"};
    features.emplace_back(c.persistent ? "muc_persistent" : "muc_temporary");
    features.emplace_back(c.members_only ? "muc_membersonly" : "muc_open");
    features.emplace_back(c.moderated ? "muc_moderated" : "muc_unmoderated");
    features.emplace_back(c.password_protected ? "muc_passwordprotected" : "muc_unsecured");
    features.emplace_back(c.is_public ? "muc_public" : "muc_hidden");
    features.emplace_back(c.whois_anyone ? "muc_nonanonymous" : "muc_semianonymous");
    if (archiving(room)) features.emplace_back(ns_mam);
    std::sort(features.begin(), features.end());
    for (auto& f : features) info.add_child("feature").set_attr("var", std::move(f));
    info.add_child(roominfo_form(room));
    return info;
}

void Service::handle_room_iq(const std::shared_ptr<Slot>& slot, Stanza& s) {
    const Element* q = s.el.first_child_element();
    const std::string_view type = s.el.attr("type");
    const std::string xmlns = q ? q->xmlns() : std::string();
    bool mam_allowed = false;
    std::unique_lock lock(slot->mutex);
    Outbox out;
    Room& room = slot->room;
    if (slot->gone) {
        out.error(s, StanzaError{StanzaErrorCondition::item_not_found, {}, StanzaErrorType::cancel, {}});
        finish(*slot, lock, out);
        return;
    }
    Occupant* self = room.find_session(s.from);
    if (s.to.has_resource()) {
        std::optional<Jid> proxy_to;
        std::string proxy_from;
        // XEP-0410: the service answers pings to occupants itself.
        if (!self) {
            out.error(s, StanzaError{StanzaErrorCondition::not_acceptable, {}, StanzaErrorType::cancel, {}});
        } else if (Occupant* target = room.find_nick(s.to.resource()); !target || target->sessions.empty()) {
            out.error(s, StanzaError{StanzaErrorCondition::item_not_found, {}, StanzaErrorType::cancel, {}});
        } else if (type == "get" && q && q->name() == "ping" && xmlns == protocol::ns::ping) {
            out.result(s, std::nullopt);
        } else {
            // §7.5-style relay of other iqs (vCards, disco, version) to the occupant.
            proxy_to = target->sessions.front();
            proxy_from = self->nick;
        }
        finish(*slot, lock, out);
        if (proxy_to) relay_iq(std::move(s), room.jid().with_resource(proxy_from), *proxy_to);
        return;
    }
    const Affiliation aff = room.affiliation(s.from);
    if (room.locked() && aff != Affiliation::owner) {
        out.error(s, StanzaError{StanzaErrorCondition::item_not_found, {}, StanzaErrorType::cancel, {}});
    } else if (xmlns == ns_muc_admin) {
        admin_iq(room, out, s);
    } else if (xmlns == ns_muc_owner) {
        owner_iq(room, out, s);
    } else if (type == "get" && q && q->name() == "query" && xmlns == protocol::ns::disco_info) {
        out.result(s, room_info(room));
    } else if (type == "get" && q && q->name() == "query" && xmlns == protocol::ns::disco_items) {
        out.result(s, Element("query", std::string(protocol::ns::disco_items)));
    } else if (type == "get" && q && q->name() == "ping" && xmlns == protocol::ns::ping) {
        out.result(s, std::nullopt);
    } else if (xmlns == ns_mam && archiving(room)) {
        mam_allowed = self != nullptr || rank(aff) >= rank(Affiliation::member);
        if (!mam_allowed) out.error(s, StanzaError{StanzaErrorCondition::forbidden, {}, StanzaErrorType::auth, {}});
    } else {
        out.error(s, StanzaError{StanzaErrorCondition::service_unavailable, {}, StanzaErrorType::cancel, {}});
    }
    finish(*slot, lock, out);
    if (!mam_allowed) return;
    auto* io = net::IoPool::current();
    if (!io) return;
    auto task = [](ModuleContext& ctx, Stanza iq) -> boost::asio::awaitable<void> {
        const std::string archive = iq.to.bare_string();
        routing::IqResult r = co_await mam::answer_query(ctx, archive, iq);
        Element reply;
        if (auto* payload = std::get_if<0>(&r)) {
            reply = routing::make_iq_result(iq, std::move(*payload));
        } else {
            reply = protocol::make_error_reply(iq.el, std::get<1>(r));
        }
        reply.set_attr("from", iq.to.to_string());
        reply.set_attr("to", iq.from.to_string());
        ctx.router().route(Stanza{std::move(reply), iq.to, iq.from, 0});
    };
    boost::asio::co_spawn(*io, task(ctx_, std::move(s)), boost::asio::detached);
}

}  // namespace parley::server::modules::muc
