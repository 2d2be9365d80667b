#pragma once
// The state of one XEP-0045 room: configuration, affiliations, occupants, subject and
// discussion history, with the permission rules of §5 and §8–10 as pure functions.
// No I/O and no locking: the service holds the room's mutex around every use.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/errors.hpp"
#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::modules::muc {

enum class Affiliation { owner, admin, member, none, outcast };
enum class Role { moderator, participant, visitor, none };

std::string_view to_string(Affiliation a);
std::string_view to_string(Role r);
std::optional<Affiliation> parse_affiliation(std::string_view s);
std::optional<Role> parse_role(std::string_view s);
// Higher is more powerful (outcast lowest), for the "equal or above" rules.
int rank(Affiliation a);
int rank(Role r);

// The muc#roomconfig settings (room_config.cpp builds and reads the form).
struct RoomConfig {
    std::string name;
    std::string description;
    std::string language;
    bool persistent = false;
    bool is_public = true;
    bool members_only = false;
    bool moderated = false;
    bool password_protected = false;
    std::string password;
    std::size_t max_users = 200;
    bool whois_anyone = false;   // non-anonymous (muc#roomconfig_whois = anyone)
    bool change_subject = false; // participants may change the subject
    bool allow_invites = false;  // members may invite in members-only rooms
    std::string allow_pm = "anyone";  // anyone | participants | moderators | none
    bool archiving = true;       // muc#roomconfig_enablearchiving / enablelogging
    bool members_by_default = true;  // participants (not visitors) in moderated rooms
};

struct Occupant {
    std::string nick;
    protocol::Jid bare;                  // the user's real bare JID
    std::vector<protocol::Jid> sessions; // full JIDs joined under this nick (multi-session)
    Role role = Role::participant;
    std::string occupant_id;             // XEP-0421
    protocol::xml::Element presence;     // last presence as sent, children to rebroadcast
};

struct HistoryEntry {
    protocol::xml::Element message;  // as broadcast (from room/nick, stanza-id, occupant-id)
    std::int64_t ts_us = 0;
    std::size_t chars = 0;           // its serialized length, for maxchars
};

// <history maxstanzas maxchars seconds since/> of a join (§7.2.15).
struct HistoryRequest {
    std::optional<std::size_t> max_stanzas;
    std::optional<std::size_t> max_chars;
    std::optional<std::int64_t> seconds;
    std::optional<std::int64_t> since_us;
};

class Room {
public:
    Room(protocol::Jid jid, RoomConfig config) : jid_(std::move(jid)), config_(std::move(config)) {}

    const protocol::Jid& jid() const { return jid_; }
    RoomConfig& config() { return config_; }
    const RoomConfig& config() const { return config_; }
    bool locked() const { return locked_; }
    void set_locked(bool locked) { locked_ = locked; }
    const std::string& subject() const { return subject_; }
    const std::string& subject_nick() const { return subject_nick_; }
    void set_subject(std::string subject, std::string nick) {
        subject_ = std::move(subject);
        subject_nick_ = std::move(nick);
    }
    const std::string& secret() const { return secret_; }
    void set_secret(std::string s) { secret_ = std::move(s); }

    // Affiliations by bare JID text; absent = none.
    Affiliation affiliation(const protocol::Jid& user) const;
    void set_affiliation(const protocol::Jid& user, Affiliation a);
    const std::map<std::string, Affiliation>& affiliations() const { return affiliations_; }
    std::vector<std::string> with_affiliation(Affiliation a) const;
    std::size_t owner_count() const { return with_affiliation(Affiliation::owner).size(); }

    // The role an occupant with this affiliation gets on entering (§5.1.1).
    Role default_role(Affiliation a) const;

    // Occupants by nick.
    std::map<std::string, Occupant>& occupants() { return occupants_; }
    const std::map<std::string, Occupant>& occupants() const { return occupants_; }
    Occupant* find_nick(const std::string& nick);
    // The occupant one of whose sessions is `full`.
    Occupant* find_session(const protocol::Jid& full);
    // Occupants of this bare JID (one per nick it uses).
    std::vector<Occupant*> find_user(const protocol::Jid& bare);
    std::size_t session_count() const;
    bool empty() const { return occupants_.empty(); }

    // Whether `viewer` may see occupants' real JIDs.
    bool may_see_jids(const Occupant& viewer) const {
        return config_.whois_anyone || viewer.role == Role::moderator;
    }

    // Join checks of §7.2 in the order the XEP gives: nullopt = admitted.
    std::optional<protocol::StanzaError> check_join(const protocol::Jid& user, const std::string& nick,
                                                    const std::optional<std::string>& password) const;

    // §8–9 rules for an admin change by `actor` (an occupant's bare JID, its
    // affiliation and role) on `target`: nullopt = allowed.
    std::optional<protocol::StanzaError> check_role_change(Affiliation actor_aff, Role actor_role,
                                                           Affiliation target_aff, Role target_role,
                                                           Role new_role) const;
    std::optional<protocol::StanzaError> check_affiliation_change(Affiliation actor_aff,
                                                                  const protocol::Jid& target,
                                                                  Affiliation new_aff) const;

    // Discussion history (bounded by `limit` entries).
    void add_history(HistoryEntry entry, std::size_t limit);
    std::vector<const HistoryEntry*> select_history(const HistoryRequest& r, std::int64_t now_us) const;
    void clear_history() { history_.clear(); }
    const std::deque<HistoryEntry>& history() const { return history_; }

private:
    protocol::Jid jid_;
    RoomConfig config_;
    bool locked_ = false;
    std::string subject_;
    std::string subject_nick_;
    std::string secret_;  // XEP-0421 salt
    std::map<std::string, Affiliation> affiliations_;
    std::map<std::string, Occupant> occupants_;
    std::deque<HistoryEntry> history_;
};

// XEP-0421: an opaque id stable for (room, real bare JID), from the room's secret.
std::string make_occupant_id(const std::string& secret, const std::string& room, const std::string& user_bare);
std::string random_secret();

// XEP-0082 date-time: "2002-10-13T23:58:37Z" ↔ Unix microseconds.
std::string format_stamp(std::int64_t unix_us);
std::optional<std::int64_t> parse_stamp(std::string_view text);
std::int64_t now_us();

// A nick is acceptable when it is a prepared resourcepart with something visible in it.
bool is_valid_nick(std::string_view nick);

// muc#roomconfig (room_config.cpp).
protocol::xml::Element config_form(const RoomConfig& c, std::size_t max_users_limit);
// Applies a submitted form to a copy of `current`; bad-request when a field is unknown
// or a value invalid. Owner/admin list fields come back in `owners`/`admins`.
struct ConfigChange {
    RoomConfig config;
    std::optional<std::vector<std::string>> owners;
    std::optional<std::vector<std::string>> admins;
};
std::optional<ConfigChange> apply_config_form(const RoomConfig& current, const protocol::xml::Element& form,
                                              std::size_t max_users_limit);
// muc#roominfo (XEP-0128 extension of the room's disco#info).
protocol::xml::Element roominfo_form(const Room& room);

}  // namespace parley::server::modules::muc
