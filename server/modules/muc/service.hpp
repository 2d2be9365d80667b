#pragma once
// The MUC service behind its domain: the rooms, and every stanza addressed to the
// service or to a room. Thread rule: handle() runs on whichever I/O thread routed the
// stanza; each room has its own mutex, held while its state changes, and stanzas for
// users are collected meanwhile and routed after it is released (under the room's
// send mutex, so everyone sees a room's stanzas in the order they were made).
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/namespaces.hpp"
#include "server/modules/module.hpp"
#include "server/modules/muc/room.hpp"
#include "server/routing/stanza.hpp"

namespace parley::server::modules::muc {

inline constexpr std::string_view ns_muc = "http://jabber.org/protocol/muc";
inline constexpr std::string_view ns_muc_user = protocol::ns::muc_user;
inline constexpr std::string_view ns_muc_admin = "http://jabber.org/protocol/muc#admin";
inline constexpr std::string_view ns_muc_owner = "http://jabber.org/protocol/muc#owner";
inline constexpr std::string_view ns_occupant_id = "urn:xmpp:occupant-id:0";
inline constexpr std::string_view ns_sid = protocol::ns::sid;
inline constexpr std::string_view ns_mam = protocol::ns::mam;
inline constexpr std::string_view ns_delay = protocol::ns::delay;

// What a locked room operation produces: stanzas to route (in order), and whether the
// room's persistent state changed (or the room went away). A fan-out entry is one
// element for many recipients: copied, with only 'to' changed, while routing, after
// the room's lock is released.
struct Outbox {
    struct Entry {
        routing::Stanza stanza;
        std::vector<protocol::Jid> fanout;  // empty: `stanza` as it is
    };
    std::vector<Entry> entries;
    bool persist = false;
    bool destroyed = false;
    void add(protocol::xml::Element el, const protocol::Jid& from, const protocol::Jid& to);
    void add_fanout(protocol::xml::Element el, const protocol::Jid& from, std::vector<protocol::Jid> to);
    void error(const routing::Stanza& request, protocol::StanzaError e);
    void result(const routing::Stanza& request, std::optional<protocol::xml::Element> payload);
    // Every stanza, expanded (tests).
    std::vector<routing::Stanza> stanzas() const;
    template <class RouteFn>
    void send(RouteFn&& route) {
        for (auto& e : entries) {
            if (e.fanout.empty()) {
                route(std::move(e.stanza));
                continue;
            }
            for (auto& to : e.fanout) {
                protocol::xml::Element copy = e.stanza.el;
                copy.set_attr("to", to.to_string());
                route(routing::Stanza{std::move(copy), e.stanza.from, std::move(to), 0});
            }
        }
        entries.clear();
    }
};

class Service {
public:
    explicit Service(ModuleContext& ctx);

    void load();  // persistent rooms from PostgreSQL (blocking; at start-up)
    void handle(routing::Stanza s);
    void shutdown();  // 332 to every occupant

private:
    struct Slot {
        std::mutex mutex;
        std::mutex send_mutex;
        Room room;
        bool gone = false;  // destroyed or emptied: a new slot replaces it
        Slot(protocol::Jid jid, RoomConfig c) : room(std::move(jid), std::move(c)) {}
    };

    std::shared_ptr<Slot> find(const std::string& local);
    std::shared_ptr<Slot> create(const protocol::Jid& room_jid);
    // Ends a locked operation: persists, retires an emptied temporary room, then routes
    // `out` under the send mutex after releasing the room's mutex.
    void finish(Slot& slot, std::unique_lock<std::mutex>& lock, Outbox& out);
    RoomConfig default_config() const;

    // Service domain itself.
    void handle_service(routing::Stanza& s);
    void handle_room_iq(const std::shared_ptr<Slot>& slot, routing::Stanza& s);
    // Sends an occupant's iq on to another occupant's session and its answer back.
    void relay_iq(routing::Stanza s, const protocol::Jid& from, const protocol::Jid& to);
    protocol::xml::Element room_info(const Room& room) const;

    // room_presence.cpp
    void handle_presence(routing::Stanza& s);
    void join(Room& room, Outbox& out, const routing::Stanza& s, bool created, bool rejoin);
    void leave(Room& room, Outbox& out, const routing::Stanza& s, Occupant& o);
    void remove_unreachable(const routing::Stanza& error);
    void change_nick(Room& room, Outbox& out, const routing::Stanza& s, Occupant& o);
    void update_presence(Room& room, Outbox& out, const routing::Stanza& s, Occupant& o);
public:
    // What an occupant presence says besides the item (reason, actor, new nick...).
    struct PresenceExtra {
        std::string new_nick;                         // 303
        std::string actor;                            // <actor nick=''/>
        std::string reason;                           // <reason/>
        const protocol::xml::Element* destroy = nullptr;  // <destroy/> (room destroyed)
        std::string self_id;                          // the join's id, echoed to the joining session
        const protocol::Jid* only_session = nullptr;  // send only to this session of the occupant
    };
    // Presence of `o` as seen with or without its real JID; `codes` in muc#user.
    static protocol::xml::Element occupant_presence(const Room& room, const Occupant& o, bool with_jid,
                                                    const std::vector<int>& codes, bool unavailable,
                                                    const PresenceExtra& extra);
    // Sends `o`'s presence to every occupant; `o`'s own sessions also get 110.
    static void presence_to_all(const Room& room, Outbox& out, const Occupant& o, const std::vector<int>& codes,
                                bool unavailable, const PresenceExtra& extra);
    // Sends `el` (from `from`) to every session of every occupant; only 'to' changes.
    static void broadcast(const Room& room, Outbox& out, const protocol::xml::Element& el, const protocol::Jid& from);
    // Removes the occupant `nick` (kick, ban, membership loss, destroy) with the codes.
    static void remove_occupant(Room& room, Outbox& out, const std::string& nick, const std::vector<int>& codes,
                                const PresenceExtra& extra);

private:
    // room_messages.cpp
    void handle_message(routing::Stanza& s);
    void groupchat(Room& room, Outbox& out, routing::Stanza& s);
    void private_message(Room& room, Outbox& out, routing::Stanza& s);
    void invitations(Room& room, Outbox& out, const routing::Stanza& s, const protocol::xml::Element& x);

    // room_admin.cpp
    void admin_iq(Room& room, Outbox& out, const routing::Stanza& s);
    void owner_iq(Room& room, Outbox& out, const routing::Stanza& s);
    void destroy(Room& room, Outbox& out, const protocol::xml::Element* destroy_el);
    void set_config(Room& room, Outbox& out, const routing::Stanza& s, const protocol::xml::Element& form);

    // Persistence (muc.cpp).
    void persist(const Room& room);
    // Removes the stored room, and its archive too when `with_archive`.
    void forget(const protocol::Jid& room_jid, bool with_archive);

    bool archiving(const Room& room) const;

    ModuleContext& ctx_;
    const Config::Muc& cfg_;
    protocol::Jid domain_;
    std::mutex rooms_mutex_;
    std::unordered_map<std::string, std::shared_ptr<Slot>> rooms_;  // by room localpart
};

}  // namespace parley::server::modules::muc
