#include "server/modules/muc/muc.hpp"

#include <limits>

#include "server/log.hpp"
#include "server/modules/muc/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "server/routing/router.hpp"
#include "storage/archive_store.hpp"
#include "storage/database.hpp"
#include "storage/muc_store.hpp"

namespace parley::server::modules {

namespace muc {

using protocol::Jid;
using protocol::xml::Element;

namespace {

constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

struct Loaded {
    storage::muc_store::StoredRoom room;
    std::vector<storage::archive_store::Row> history;
};

void log_failure(const std::string& what, const std::string& room, const storage::Result<void>& r) {
    if (!r) spdlog::error("{} room={} error={}", what, room, r.error().message());
}

}  // namespace

void Service::persist(const Room& room) {
    const std::string jid = room.jid().bare_string();
    if (!room.config().persistent) {
        forget(room.jid(), false);  // it may have been persistent until now
        return;
    }
    storage::muc_store::StoredRoom stored;
    stored.jid = jid;
    Element form = config_form(room.config(), no_limit);
    form.set_attr("type", "submit");
    stored.config_xml = to_stored_xml(form);
    stored.subject = room.subject();
    stored.subject_nick = room.subject_nick();
    stored.secret = room.secret();
    for (const auto& [user, aff] : room.affiliations()) stored.affiliations.emplace_back(user, std::string(to_string(aff)));
    auto write = [stored = std::move(stored)](pqxx::connection& c) { storage::muc_store::save(c, stored); };
    // Submitted under the room's lock, so one room's writes reach its database thread in order.
    ctx_.db().run<void>(jid, std::move(write), [jid](storage::Result<void> r) { log_failure("muc_room_save_failed", jid, r); });
}

void Service::forget(const Jid& room_jid, bool with_archive) {
    const std::string jid = room_jid.bare_string();
    auto erase = [jid, with_archive](pqxx::connection& c) {
        storage::muc_store::remove(c, jid);
        if (with_archive) storage::archive_store::remove_archive(c, jid);
    };
    ctx_.db().run<void>(jid, std::move(erase), [jid](storage::Result<void> r) { log_failure("muc_room_remove_failed", jid, r); });
}

void Service::load() {
    const std::string domain = domain_.domain();
    const std::size_t history = ctx_.config().archive.enabled ? cfg_.history_messages : 0;
    auto read = [domain, history](pqxx::connection& c) {
        std::vector<Loaded> out;
        for (auto& room : storage::muc_store::all(c, domain)) {
            Loaded l{std::move(room), {}};
            if (history > 0) l.history = storage::archive_store::last_rows(c, l.room.jid, history);
            out.push_back(std::move(l));
        }
        return out;
    };
    auto rooms = ctx_.db().run_sync<std::vector<Loaded>>("muc", std::move(read));
    if (!rooms) {
        spdlog::error("muc_rooms_load_failed error={}", rooms.error().message());
        return;
    }
    std::lock_guard lock(rooms_mutex_);
    for (auto& l : *rooms) {
        auto jid = Jid::parse(l.room.jid);
        auto form = parse_stored_xml(l.room.config_xml);
        std::optional<ConfigChange> config;
        if (form) config = apply_config_form(default_config(), *form, no_limit);
        if (!jid || !config) {
            spdlog::error("muc_room_unreadable room={}", l.room.jid);
            continue;
        }
        auto slot = std::make_shared<Slot>(*jid, config->config);
        Room& room = slot->room;
        room.config().persistent = true;
        room.set_secret(l.room.secret);
        room.set_subject(l.room.subject, l.room.subject_nick);
        for (const auto& [user, aff] : l.room.affiliations) {
            auto u = Jid::parse(user);
            auto a = parse_affiliation(aff);
            if (u && a) room.set_affiliation(*u, *a);
        }
        for (auto& row : l.history) {
            auto el = parse_stored_xml(row.xml);
            if (!el) continue;
            HistoryEntry entry{*el, row.ts_us, row.xml.size()};
            room.add_history(std::move(entry), cfg_.history_messages);
        }
        rooms_.emplace(jid->local(), std::move(slot));
    }
    spdlog::info("muc_rooms_loaded domain={} rooms={}", domain, rooms_.size());
}

void Service::shutdown() {
    std::vector<std::shared_ptr<Slot>> slots;
    {
        std::lock_guard lock(rooms_mutex_);
        for (auto& [local, slot] : rooms_) slots.push_back(slot);
    }
    for (auto& slot : slots) {
        std::unique_lock lock(slot->mutex);
        Outbox out;
        Room& room = slot->room;
        std::vector<std::string> nicks;
        for (const auto& [nick, o] : room.occupants()) nicks.push_back(nick);
        for (const auto& nick : nicks) remove_occupant(room, out, nick, {332}, {});
        finish(*slot, lock, out);
    }
}

}  // namespace muc

Muc::Muc() = default;
Muc::~Muc() = default;

void Muc::start(ModuleContext& ctx) {
    const std::string& domain = ctx.config().muc.domain;
    if (domain.empty()) return;
    service_ = std::make_shared<muc::Service>(ctx);
    service_->load();
    ctx.router().add_service(domain, [service = service_](routing::Stanza s) { service->handle(std::move(s)); });
    ctx.add_disco_item(domain, "Chatrooms");
}

boost::asio::awaitable<void> Muc::stop() {
    if (service_) service_->shutdown();
    co_return;
}

}  // namespace parley::server::modules
