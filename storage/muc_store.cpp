#include "storage/muc_store.hpp"

#include <map>

namespace parley::storage::muc_store {

void save(pqxx::connection& c, const StoredRoom& room) {
    pqxx::work w(c);
    w.exec_params0(
        "INSERT INTO muc_rooms (jid, config, subject, subject_nick, secret) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (jid) DO UPDATE SET config = EXCLUDED.config, subject = EXCLUDED.subject,"
        " subject_nick = EXCLUDED.subject_nick, secret = EXCLUDED.secret, updated_at = now()",
        room.jid, room.config_xml, room.subject, room.subject_nick, room.secret);
    w.exec_params0("DELETE FROM muc_affiliations WHERE room = $1", room.jid);
    for (const auto& [jid, affiliation] : room.affiliations) {
        w.exec_params0("INSERT INTO muc_affiliations (room, jid, affiliation) VALUES ($1, $2, $3)", room.jid, jid,
                       affiliation);
    }
    w.commit();
}

void remove(pqxx::connection& c, const std::string& jid) {
    pqxx::work w(c);
    w.exec_params0("DELETE FROM muc_rooms WHERE jid = $1", jid);
    w.commit();
}

std::vector<StoredRoom> all(pqxx::connection& c, const std::string& domain) {
    pqxx::read_transaction t(c);
    const std::string pattern = "%@" + domain;
    auto rows = t.exec_params(
        "SELECT jid, config, subject, subject_nick, secret FROM muc_rooms WHERE jid LIKE $1 ORDER BY jid", pattern);
    std::vector<StoredRoom> out;
    std::map<std::string, std::size_t> index;
    for (const auto& row : rows) {
        index[row[0].as<std::string>()] = out.size();
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                       row[3].as<std::string>(), row[4].as<std::string>(), {}});
    }
    auto affs = t.exec_params(
        "SELECT a.room, a.jid, a.affiliation FROM muc_affiliations a WHERE a.room LIKE $1 ORDER BY a.room, a.jid",
        pattern);
    for (const auto& row : affs) {
        auto it = index.find(row[0].as<std::string>());
        if (it != index.end()) out[it->second].affiliations.emplace_back(row[1].as<std::string>(), row[2].as<std::string>());
    }
    return out;
}

}  // namespace parley::storage::muc_store
