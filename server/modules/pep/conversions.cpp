// XEP-0398 (User Avatar to vCard-Based Avatars Conversion), XEP-0402 §5.3 (PEP
// Native Bookmarks, #compat and #compat-pep) and XEP-0411 (Bookmarks Conversion):
// the server keeps the account's avatar in PEP and in its vCard, and its bookmarks
// in urn:xmpp:bookmarks:1, in the PEP node storage:bookmarks and in private XML
// storage, the same whichever the client writes. Each conversion carries its Origin
// and never converts back into it, so one client write causes one round of
// publishes; unchanged items are not published again (no spurious notifications).
// The pure halves are avatar_convert.cpp and bookmarks_convert.cpp.
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <map>

#include "server/modules/pep/avatar_convert.hpp"
#include "server/modules/pep/bookmarks_convert.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "storage/database.hpp"
#include "storage/pep_store.hpp"
#include "storage/private_store.hpp"
#include "storage/vcard_store.hpp"

namespace parley::server::modules::pep {

using protocol::Jid;
using protocol::xml::Element;

namespace {

// XEP-0402 §3: the configuration clients publish the native node with.
NodeConfig native_bookmarks_config(std::int64_t max_items_limit) {
    NodeConfig c;
    c.access_model = "whitelist";
    c.persist_items = true;
    c.max_items = max_items_limit;  // "max"
    c.send_last_published_item = "never";
    return c;
}

// XEP-0048 §3.1 / XEP-0223: private, persistent, one item.
NodeConfig legacy_bookmarks_config() {
    NodeConfig c;
    c.access_model = "whitelist";
    c.persist_items = true;
    c.max_items = 1;
    return c;
}

// Avatar nodes created by a conversion get the PEP defaults (access model
// presence), which XEP-0398 §6 names as the User Avatar default; a node the client
// configured itself keeps its configuration.
NodeConfig avatar_config() { return NodeConfig{}; }

// The bookmark as the native node would store it, to compare contents.
std::string native_xml(const Bookmark& b) { return to_stored_xml(to_native(b)); }

}  // namespace

boost::asio::awaitable<void> Service::after_change(const Jid& owner, const std::string& node, Origin origin) {
    if (node == avatar_metadata_node && origin != Origin::vcard) {
        co_await avatar_to_vcard(owner);
    } else if (node == bookmarks_node && origin == Origin::client) {
        co_await native_to_legacy(owner);
    } else if (node == legacy_bookmarks_node && origin == Origin::client) {
        auto last = co_await last_item(owner, node);
        if (!last) co_return;  // deleted or purged: nothing to mirror
        auto storage = parse_stored_xml(last->payload);
        if (!storage || storage->name() != "storage" || storage->xmlns() != legacy_bookmarks_node) co_return;
        const Element st = std::move(*storage);
        co_await legacy_to_native(owner, st, Origin::legacy_bookmarks);
        co_await write_private_bookmarks(owner, st);
    }
}

// ---- XEP-0398 ----

boost::asio::awaitable<void> Service::avatar_to_vcard(const Jid& owner) {
    // §3.1: the metadata names the image; the data node holds it.
    auto meta_item = co_await last_item(owner, std::string(avatar_metadata_node));
    if (!meta_item) co_return;
    auto meta_el = parse_stored_xml(meta_item->payload);
    auto meta = meta_el ? read_metadata(*meta_el) : std::nullopt;
    if (!meta) co_return;
    std::optional<Photo> photo;
    if (meta->local) {
        const std::string data_node(avatar_data_node);
        const std::string id = meta->local->id;
        auto data_item = co_await item_by_id(owner, data_node, id);
        if (!data_item) {
            spdlog::debug("avatar_convert_no_data account={} id={}", owner.bare_string(), id);
            co_return;
        }
        auto data_el = parse_stored_xml(data_item->payload);
        auto bytes = data_el ? read_avatar_data(*data_el) : std::nullopt;
        // §3.1 SHOULD: the id is the SHA-1 of the image.
        if (!bytes || sha1_hex(*bytes) != id) {
            spdlog::warn("avatar_convert_bad_data account={} id={}", owner.bare_string(), id);
            co_return;
        }
        photo = Photo{meta->local->type.empty() ? "image/png" : meta->local->type, std::move(*bytes)};
    } else if (!meta->disabled) {
        co_return;  // only external URLs: nothing the vCard can embed
    }

    const Jid account = owner.bare();
    auto load = [account](pqxx::connection& c) {
        return storage::vcard_store::get(c, account.domain(), account.local());
    };
    const std::string key = routing::account_key(account);
    auto loaded = co_await db_.run<std::optional<std::string>>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) co_return;
    std::optional<Element> vcard;
    if (*loaded) vcard = parse_stored_xml(**loaded);
    if (!vcard) vcard = Element("vCard", std::string(vcard_ns));
    if (vcard_photo(*vcard) == photo) co_return;  // already there (or already none)
    std::string xml = to_stored_xml(with_photo(*vcard, photo));
    if (xml.size() > ctx_.config().limits.max_vcard_bytes) {
        spdlog::warn("avatar_convert_vcard_too_big account={} bytes={}", account.bare_string(), xml.size());
        co_return;
    }
    auto store = [account, xml = std::move(xml)](pqxx::connection& c) {
        storage::vcard_store::set(c, account.domain(), account.local(), xml);
    };
    auto stored = co_await db_.run<void>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("avatar_convert_vcard_failed account={} error={}", account.bare_string(), stored.error().message());
    }
}

boost::asio::awaitable<void> Service::vcard_changed(const Jid& owner, const Element& vcard, bool had_photo) {
    const std::string meta_node(avatar_metadata_node);
    auto photo = vcard_photo(vcard);
    auto current = co_await last_item(owner, meta_node);
    std::optional<MetadataContent> current_meta;
    if (current) {
        if (auto el = parse_stored_xml(current->payload)) current_meta = read_metadata(*el);
    }
    if (!photo) {
        // The PHOTO was removed: XEP-0084 §4.2 "avatar disabled". A vCard that never
        // had one leaves PEP alone (its avatar may never have been in the vCard).
        if (!had_photo || !current_meta || current_meta->disabled) co_return;
        const Item item{"current", to_stored_xml(avatar_metadata(std::nullopt))};
        const NodeConfig config = avatar_config();
        co_await publish_internal(owner, meta_node, item, config, Origin::vcard);
        co_return;
    }
    // §3.2: data first, then metadata with one info; nothing when PEP has it already
    // (clients resend the whole vCard to change another property).
    const std::string id = sha1_hex(photo->bytes);
    if (current_meta && current_meta->local && current_meta->local->id == id) co_return;
    const Item data{id, to_stored_xml(avatar_data(*photo))};
    if (data.payload.size() > max_item_bytes_) {
        spdlog::warn("avatar_convert_too_big account={} bytes={}", owner.bare_string(), data.payload.size());
        co_return;
    }
    const std::string data_node(avatar_data_node);
    const NodeConfig config = avatar_config();
    const bool published = co_await publish_internal(owner, data_node, data, config, Origin::vcard);
    if (!published) co_return;
    const Item meta{id, to_stored_xml(avatar_metadata(photo))};
    co_await publish_internal(owner, meta_node, meta, config, Origin::vcard);
}

// ---- XEP-0402 #compat / #compat-pep, XEP-0411 ----

boost::asio::awaitable<void> Service::native_to_legacy(const Jid& owner) {
    // §5.3.1: every native item, cast into one storage:bookmarks element.
    const std::string native(bookmarks_node), legacy(legacy_bookmarks_node);
    auto items = co_await all_items(owner, native);
    std::vector<Bookmark> bookmarks;
    for (const Item& it : items) {
        auto el = parse_stored_xml(it.payload);
        if (auto b = el ? from_native(it.id, *el) : std::nullopt) bookmarks.push_back(std::move(*b));
    }
    // URL bookmarks have no native form: keep those of the legacy copy.
    auto previous = co_await last_item(owner, legacy);
    std::vector<Element> extras;
    std::optional<Element> previous_el;
    if (previous) previous_el = parse_stored_xml(previous->payload);
    if (previous_el) extras = legacy_extras(*previous_el);
    const Element storage = to_legacy(bookmarks, extras);
    const Item item{std::string(legacy_bookmarks_item), to_stored_xml(storage)};
    if (!previous || previous->payload != item.payload || previous->id != item.id) {
        const NodeConfig config = legacy_bookmarks_config();
        co_await publish_internal(owner, legacy, item, config, Origin::native_bookmarks);
    }
    co_await write_private_bookmarks(owner, storage);
}

boost::asio::awaitable<void> Service::legacy_to_native(const Jid& owner, const Element& storage, Origin origin) {
    // §5.3.2: update the items that changed, retract the ones gone, leave the rest
    // (no notifications for unchanged items).
    const std::string native(bookmarks_node);
    auto items = co_await all_items(owner, native);
    std::map<std::string, std::string> existing;  // id → normalized payload
    for (const Item& it : items) {
        auto el = parse_stored_xml(it.payload);
        auto b = el ? from_native(it.id, *el) : std::nullopt;
        existing[it.id] = b ? native_xml(*b) : it.payload;
    }
    const NodeConfig config = native_bookmarks_config(max_items_limit_);
    const auto wanted = from_legacy(storage);
    for (const Bookmark& b : wanted) {
        const Item item{b.jid, native_xml(b)};
        auto found = existing.find(b.jid);
        const bool changed = found == existing.end() || found->second != item.payload;
        if (found != existing.end()) existing.erase(found);
        if (changed) co_await publish_internal(owner, native, item, config, origin);
    }
    for (const auto& [id, payload] : existing) {
        const std::string gone = id;
        co_await retract_internal(owner, native, gone, origin);
    }
}

boost::asio::awaitable<void> Service::write_private_bookmarks(const Jid& owner, const Element& storage) {
    const Jid account = owner.bare();
    std::vector<storage::private_store::Item> rows{
        {"storage", std::string(legacy_bookmarks_node), to_stored_xml(storage)}};
    auto store = [account, rows = std::move(rows)](pqxx::connection& c) {
        auto current = storage::private_store::get(c, account.domain(), account.local(), "storage",
                                                   std::string(legacy_bookmarks_node));
        if (current && *current == rows.front().xml) return;
        storage::private_store::set(c, account.domain(), account.local(), rows);
    };
    const std::string key = routing::account_key(account);
    auto stored = co_await db_.run<void>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("bookmarks_private_write_failed account={} error={}", account.bare_string(),
                      stored.error().message());
    }
}

boost::asio::awaitable<void> Service::migrate_private_bookmarks(const Jid& owner) {
    const Jid account = owner.bare();
    {
        std::lock_guard lock(mutex_);
        if (!bookmarks_migrated_.insert(account.bare_string()).second) co_return;
    }
    struct Found {
        bool pep_has_nodes = false;
        std::optional<std::string> stored;
    };
    auto load = [account](pqxx::connection& c) {
        Found f;
        f.pep_has_nodes =
            storage::pep_store::get_node(c, account.domain(), account.local(), std::string(bookmarks_node)) ||
            storage::pep_store::get_node(c, account.domain(), account.local(), std::string(legacy_bookmarks_node));
        if (!f.pep_has_nodes) {
            f.stored = storage::private_store::get(c, account.domain(), account.local(), "storage",
                                                   std::string(legacy_bookmarks_node));
        }
        return f;
    };
    const std::string key = routing::account_key(account);
    auto found = co_await db_.run<Found>(key, std::move(load), boost::asio::use_awaitable);
    if (!found || found->pep_has_nodes || !found->stored) co_return;
    auto storage = parse_stored_xml(*found->stored);
    if (!storage || from_legacy(*storage).empty()) co_return;
    spdlog::info("bookmarks_migrated_to_pep account={}", account.bare_string());
    const Element st = std::move(*storage);
    co_await private_bookmarks_changed(account, st);
}

boost::asio::awaitable<void> Service::private_bookmarks_changed(const Jid& owner, const Element& storage) {
    // XEP-0411 §3: the PEP copy, with notifications to its subscribers, then the
    // native items (XEP-0402 #compat).
    const std::string legacy(legacy_bookmarks_node);
    const Item item{std::string(legacy_bookmarks_item), to_stored_xml(storage)};
    auto previous = co_await last_item(owner, legacy);
    if (!previous || previous->payload != item.payload) {
        const NodeConfig config = legacy_bookmarks_config();
        co_await publish_internal(owner, legacy, item, config, Origin::private_storage);
    }
    co_await legacy_to_native(owner, storage, Origin::private_storage);
}

}  // namespace parley::server::modules::pep
