// XEP-0054: vcard-temp — see vcard.hpp for what is implemented. A stored vCard is
// handed to the PEP service for the XEP-0398 conversion to User Avatar.
#include "server/modules/vcard/vcard.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <string>

#include "server/modules/pep/avatar_convert.hpp"
#include "server/modules/pep/service.hpp"
#include "server/modules/private/stored_xml.hpp"
#include "storage/database.hpp"
#include "storage/vcard_store.hpp"

namespace parley::server::modules {

using protocol::StanzaError;
using protocol::StanzaErrorCondition;
using protocol::xml::Element;
using routing::IqResult;

namespace {

constexpr std::string_view vcard_ns = "vcard-temp";




// The <vCard/> payload; the dispatcher matched its namespace, not its name.
const Element* vcard_payload(const routing::Stanza& iq) {
    const Element* p = iq.el.first_child_element();
    return p && p->name() == "vCard" ? p : nullptr;
}

boost::asio::awaitable<IqResult> handle_set(ModuleContext& ctx, std::size_t max_bytes, const routing::Stanza& iq) {
    // XEP-0054 §3.2: forbidden (or not-allowed) for someone else's vCard.
    if (!routing::is_from_owner(iq)) co_return protocol::stanza_error(StanzaErrorCondition::forbidden);
    const Element* vcard = vcard_payload(iq);
    if (!vcard) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    std::string xml = to_stored_xml(*vcard);
    if (xml.size() > max_bytes) co_return protocol::stanza_error(StanzaErrorCondition::not_acceptable);
    const std::string key = routing::account_key(iq.to);
    // The previous vCard comes back for XEP-0398: a PHOTO removed disables the avatar.
    auto store = [d = iq.to.domain(), l = iq.to.local(), xml = std::move(xml)](pqxx::connection& c) {
        auto previous = storage::vcard_store::get(c, d, l);
        storage::vcard_store::set(c, d, l, xml);
        return previous;
    };
    auto stored = co_await ctx.db().run<std::optional<std::string>>(key, std::move(store), boost::asio::use_awaitable);
    if (!stored) {
        spdlog::error("vcard_store_failed account={} error={}", iq.to.bare_string(), stored.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    if (pep::Service* pep = ctx.pep()) {
        std::optional<Element> previous;
        if (*stored) previous = parse_stored_xml(**stored);
        const bool had_photo = previous && pep::vcard_photo(*previous).has_value();
        const protocol::Jid owner = iq.to.bare();
        co_await pep->vcard_changed(owner, *vcard, had_photo);
    }
    co_return std::optional<Element>{};
}

boost::asio::awaitable<IqResult> handle_get(storage::Database& db, const routing::Stanza& iq) {
    if (!vcard_payload(iq)) co_return protocol::stanza_error(StanzaErrorCondition::bad_request);
    const std::string key = routing::account_key(iq.to);
    auto load = [d = iq.to.domain(), l = iq.to.local()](pqxx::connection& c) {
        return storage::vcard_store::get(c, d, l);
    };
    auto loaded = co_await db.run<std::optional<std::string>>(key, std::move(load), boost::asio::use_awaitable);
    if (!loaded) {
        spdlog::error("vcard_load_failed account={} error={}", iq.to.bare_string(), loaded.error().message());
        co_return protocol::stanza_error(StanzaErrorCondition::internal_server_error);
    }
    std::optional<Element> vcard;
    if (*loaded) {
        vcard = parse_stored_xml(**loaded);
        if (!vcard) spdlog::error("vcard_unreadable account={}", iq.to.bare_string());
    }
    if (vcard) co_return std::move(vcard);
    if (routing::is_from_owner(iq)) co_return std::optional<Element>(Element("vCard", std::string(vcard_ns)));
    co_return protocol::stanza_error(StanzaErrorCondition::service_unavailable);
}

}  // namespace

void VCard::start(ModuleContext& ctx) {
    storage::Database* db = &ctx.db();
    ModuleContext* context = &ctx;
    const std::size_t max_bytes = ctx.config().limits.max_vcard_bytes;
    ctx.on_iq(routing::IqType::set, std::string(vcard_ns), routing::IqScope::account,
              [context, max_bytes](const routing::Stanza& iq) { return handle_set(*context, max_bytes, iq); });
    ctx.on_iq(routing::IqType::get, std::string(vcard_ns), routing::IqScope::account,
              [db](const routing::Stanza& iq) { return handle_get(*db, iq); });
    // Clients look for the feature on their server before publishing (XEP-0054 §4).
    ctx.add_disco_feature(std::string(vcard_ns));
    ctx.add_account_feature(std::string(vcard_ns));
}

}  // namespace parley::server::modules
