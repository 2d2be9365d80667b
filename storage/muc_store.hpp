#pragma once
// Persistent rooms of the MUC service (XEP-0045): configuration, subject and
// affiliations, written whole whenever they change and read once at start-up.
// Functions run on a database thread, given its connection: call them inside
// Database::run keyed by the room's JID, so one room's writes stay ordered.
#include <pqxx/pqxx>
#include <string>
#include <utility>
#include <vector>

namespace parley::storage::muc_store {

struct StoredRoom {
    std::string jid;
    std::string config_xml;
    std::string subject;
    std::string subject_nick;
    std::string secret;
    std::vector<std::pair<std::string, std::string>> affiliations;  // bare JID, affiliation
};

// Replaces the room's row and affiliations in one transaction.
void save(pqxx::connection& c, const StoredRoom& room);
// Removes the room (a destroyed room, or one no longer persistent).
void remove(pqxx::connection& c, const std::string& jid);
// Every room whose JID is under `domain`.
std::vector<StoredRoom> all(pqxx::connection& c, const std::string& domain);

}  // namespace parley::storage::muc_store
