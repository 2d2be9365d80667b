#include "server/modules/muc/room.hpp"
#include "protocol/hex.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace parley::server::modules::muc {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::StanzaErrorType;

namespace {

StanzaError err(StanzaErrorCondition c, StanzaErrorType t) { return protocol::stanza_error(c, t); }


}  // namespace

std::string_view to_string(Affiliation a) {
    switch (a) {
        case Affiliation::owner: return "owner";
        case Affiliation::admin: return "admin";
        case Affiliation::member: return "member";
        case Affiliation::none: return "none";
        case Affiliation::outcast: return "outcast";
    }
    return "none";
}

std::string_view to_string(Role r) {
    switch (r) {
        case Role::moderator: return "moderator";
        case Role::participant: return "participant";
        case Role::visitor: return "visitor";
        case Role::none: return "none";
    }
    return "none";
}

std::optional<Affiliation> parse_affiliation(std::string_view s) {
    for (auto a : {Affiliation::owner, Affiliation::admin, Affiliation::member, Affiliation::none, Affiliation::outcast}) {
        if (to_string(a) == s) return a;
    }
    return std::nullopt;
}

std::optional<Role> parse_role(std::string_view s) {
    for (auto r : {Role::moderator, Role::participant, Role::visitor, Role::none}) {
        if (to_string(r) == s) return r;
    }
    return std::nullopt;
}

int rank(Affiliation a) {
    switch (a) {
        case Affiliation::owner: return 4;
        case Affiliation::admin: return 3;
        case Affiliation::member: return 2;
        case Affiliation::none: return 1;
        case Affiliation::outcast: return 0;
    }
    return 1;
}

int rank(Role r) {
    switch (r) {
        case Role::moderator: return 3;
        case Role::participant: return 2;
        case Role::visitor: return 1;
        case Role::none: return 0;
    }
    return 0;
}

Affiliation Room::affiliation(const protocol::Jid& user) const {
    auto it = affiliations_.find(user.bare_string());
    return it == affiliations_.end() ? Affiliation::none : it->second;
}

void Room::set_affiliation(const protocol::Jid& user, Affiliation a) {
    if (a == Affiliation::none) {
        affiliations_.erase(user.bare_string());
    } else {
        affiliations_[user.bare_string()] = a;
    }
}

std::vector<std::string> Room::with_affiliation(Affiliation a) const {
    std::vector<std::string> out;
    for (const auto& [jid, aff] : affiliations_) {
        if (aff == a) out.push_back(jid);
    }
    return out;
}

Role Room::default_role(Affiliation a) const {
    switch (a) {
        case Affiliation::owner:
        case Affiliation::admin: return Role::moderator;
        case Affiliation::member: return Role::participant;
        case Affiliation::none: return config_.moderated ? Role::visitor : Role::participant;
        case Affiliation::outcast: return Role::none;
    }
    return Role::none;
}

Occupant* Room::find_nick(const std::string& nick) {
    auto it = occupants_.find(nick);
    return it == occupants_.end() ? nullptr : &it->second;
}

Occupant* Room::find_session(const protocol::Jid& full) {
    for (auto& [nick, o] : occupants_) {
        if (std::find(o.sessions.begin(), o.sessions.end(), full) != o.sessions.end()) return &o;
    }
    return nullptr;
}

std::vector<Occupant*> Room::find_user(const protocol::Jid& bare) {
    std::vector<Occupant*> out;
    for (auto& [nick, o] : occupants_) {
        if (o.bare == bare) out.push_back(&o);
    }
    return out;
}

std::size_t Room::session_count() const {
    std::size_t n = 0;
    for (const auto& [nick, o] : occupants_) n += o.sessions.size();
    return n;
}

std::optional<StanzaError> Room::check_join(const protocol::Jid& user, const std::string& nick,
                                            const std::optional<std::string>& password) const {
    const Affiliation a = affiliation(user);
    if (a == Affiliation::outcast) return err(StanzaErrorCondition::forbidden, StanzaErrorType::auth);
    if (config_.members_only && rank(a) < rank(Affiliation::member)) {
        return err(StanzaErrorCondition::registration_required, StanzaErrorType::auth);
    }
    auto it = occupants_.find(nick);
    if (it != occupants_.end() && it->second.bare != user.bare()) {
        return err(StanzaErrorCondition::conflict, StanzaErrorType::cancel);
    }
    const bool privileged = a == Affiliation::owner || a == Affiliation::admin;
    if (config_.password_protected && !privileged && (!password || *password != config_.password)) {
        return err(StanzaErrorCondition::not_authorized, StanzaErrorType::auth);
    }
    // Another session under the same nick takes no new place.
    if (it == occupants_.end() && !privileged && occupants_.size() >= config_.max_users) {
        return err(StanzaErrorCondition::service_unavailable, StanzaErrorType::wait);
    }
    return std::nullopt;
}

std::optional<StanzaError> Room::check_role_change(Affiliation actor_aff, Role actor_role, Affiliation target_aff,
                                                   Role target_role, Role new_role) const {
    const bool actor_admin = actor_aff == Affiliation::owner || actor_aff == Affiliation::admin;
    // §9.6/9.7: granting or revoking moderator status is for admins and owners.
    if (new_role == Role::moderator || (target_role == Role::moderator && new_role != Role::none)) {
        if (!actor_admin) return err(StanzaErrorCondition::forbidden, StanzaErrorType::auth);
        if (new_role != Role::moderator && (target_aff == Affiliation::owner || target_aff == Affiliation::admin)) {
            return err(StanzaErrorCondition::not_allowed, StanzaErrorType::cancel);
        }
        return std::nullopt;
    }
    if (actor_role != Role::moderator) return err(StanzaErrorCondition::forbidden, StanzaErrorType::auth);
    // §8.2/8.4: nobody acts on an occupant of higher affiliation; admins and owners
    // keep their role against moderators who are not above them.
    if (rank(target_aff) > rank(actor_aff)) return err(StanzaErrorCondition::not_allowed, StanzaErrorType::cancel);
    if ((target_aff == Affiliation::owner || target_aff == Affiliation::admin) && new_role != Role::moderator &&
        rank(target_aff) >= rank(actor_aff) && actor_aff != Affiliation::owner) {
        return err(StanzaErrorCondition::not_allowed, StanzaErrorType::cancel);
    }
    if (target_role == Role::moderator && new_role == Role::none && !actor_admin) {
        return err(StanzaErrorCondition::not_allowed, StanzaErrorType::cancel);
    }
    return std::nullopt;
}

std::optional<StanzaError> Room::check_affiliation_change(Affiliation actor_aff, const protocol::Jid& target,
                                                          Affiliation new_aff) const {
    const Affiliation current = affiliation(target);
    if (actor_aff != Affiliation::owner && actor_aff != Affiliation::admin) {
        return err(StanzaErrorCondition::forbidden, StanzaErrorType::auth);
    }
    // §10.3–10.6: only owners touch the owner and admin lists.
    const bool touches_privileged = new_aff == Affiliation::owner || new_aff == Affiliation::admin ||
                                    current == Affiliation::owner || current == Affiliation::admin;
    if (touches_privileged && actor_aff != Affiliation::owner) {
        return err(current == Affiliation::owner || current == Affiliation::admin ? StanzaErrorCondition::not_allowed
                                                                                  : StanzaErrorCondition::forbidden,
                   current == Affiliation::owner || current == Affiliation::admin ? StanzaErrorType::cancel
                                                                                  : StanzaErrorType::auth);
    }
    // §10.7: the last owner cannot step down.
    if (current == Affiliation::owner && new_aff != Affiliation::owner && owner_count() <= 1) {
        return err(StanzaErrorCondition::conflict, StanzaErrorType::cancel);
    }
    return std::nullopt;
}

void Room::add_history(HistoryEntry entry, std::size_t limit) {
    if (limit == 0) return;
    history_.push_back(std::move(entry));
    while (history_.size() > limit) history_.pop_front();
}

std::vector<const HistoryEntry*> Room::select_history(const HistoryRequest& r, std::int64_t now) const {
    std::vector<const HistoryEntry*> out;
    std::size_t chars = 0;
    for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
        if (r.max_stanzas && out.size() >= *r.max_stanzas) break;
        if (r.seconds && it->ts_us < now - *r.seconds * 1000000) break;
        if (r.since_us && it->ts_us <= *r.since_us) break;
        if (r.max_chars && chars + it->chars > *r.max_chars) break;
        chars += it->chars;
        out.push_back(&*it);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::string make_occupant_id(const std::string& secret, const std::string& room, const std::string& user_bare) {
    const std::string input = secret + '\0' + room + '\0' + user_bare;
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha256(), nullptr);
    return protocol::to_hex(md.data(), std::min<unsigned>(len, 16));
}

std::string random_secret() {
    std::array<unsigned char, 16> bytes{};
    RAND_bytes(bytes.data(), static_cast<int>(bytes.size()));
    return protocol::to_hex(bytes.data(), bytes.size());
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string format_stamp(std::int64_t unix_us) {
    const std::time_t secs = static_cast<std::time_t>(unix_us / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const int ms = static_cast<int>((unix_us / 1000) % 1000);
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    return buf;
}

std::optional<std::int64_t> parse_stamp(std::string_view t) {
    auto num = [&](std::size_t pos, std::size_t n) -> std::optional<int> {
        if (pos + n > t.size()) return std::nullopt;
        int v = 0;
        auto [p, ec] = std::from_chars(t.data() + pos, t.data() + pos + n, v);
        if (ec != std::errc() || p != t.data() + pos + n) return std::nullopt;
        return v;
    };
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':') {
        return std::nullopt;
    }
    auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
    if (!y || !mo || !d || !h || !mi || !s) return std::nullopt;
    std::size_t pos = 19;
    std::int64_t frac_us = 0;
    if (pos < t.size() && t[pos] == '.') {
        ++pos;
        std::int64_t scale = 100000;
        while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
            frac_us += (t[pos] - '0') * scale;
            scale /= 10;
            ++pos;
        }
    }
    std::int64_t offset = 0;
    if (pos < t.size() && t[pos] == 'Z' && pos + 1 == t.size()) {
    } else if (pos + 6 == t.size() && (t[pos] == '+' || t[pos] == '-') && t[pos + 3] == ':') {
        auto oh = num(pos + 1, 2), om = num(pos + 4, 2);
        if (!oh || !om) return std::nullopt;
        offset = (*oh * 3600 + *om * 60) * (t[pos] == '+' ? 1 : -1);
    } else {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = *y - 1900;
    tm.tm_mon = *mo - 1;
    tm.tm_mday = *d;
    tm.tm_hour = *h;
    tm.tm_min = *mi;
    tm.tm_sec = *s;
    const std::int64_t secs = static_cast<std::int64_t>(timegm(&tm)) - offset;
    return secs * 1000000 + frac_us;
}

bool is_valid_nick(std::string_view nick) {
    if (nick.empty()) return false;
    return std::any_of(nick.begin(), nick.end(), [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
}

}  // namespace parley::server::modules::muc
