#pragma once
// XEP-0313 Message Archive Management (urn:xmpp:mam:2) and XEP-0359 stanza-ids.
// Implemented: archiving of 1:1 chat/normal messages with a body (both parties), for
// accounts of our hosts, with a stanza-id stamped before delivery; queries by with,
// start, end, before-id, after-id, with RSM paging (XEP-0059) in both directions;
// the query form; preferences (always / never / roster, with always and never lists);
// retention. Room archives (XEP-0045 rooms) are written by the MUC service and queried
// through answer_query below. Not implemented: the ids filter, extended metadata
// (urn:xmpp:mam:2#extended), message retraction.
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/modules/module.hpp"
#include "server/routing/stanza.hpp"

namespace parley::server::modules {

class Mam final : public Module {
public:
    std::string_view name() const override { return "mam"; }
    void start(ModuleContext& ctx) override;

private:
    std::shared_ptr<void> state_;  // preferences cache and retention sweeper
};

namespace mam {

// The text form of an archive id (XEP-0359 stanza-id, RSM ids): 16 lowercase hex
// digits, so ids sort as text as they do as numbers.
std::string id_text(std::int64_t id);
std::optional<std::int64_t> parse_id(std::string_view text);

// <stanza-id xmlns='urn:xmpp:sid:0' id='…' by='…'/>; removes any stanza-id with the same
// `by` first (XEP-0359 §3.1: a forged one from the sender must not survive).
void stamp_stanza_id(protocol::xml::Element& message, std::int64_t id, const std::string& by);

// Answers an iq with <query xmlns='urn:xmpp:mam:2'> addressed to `archive` (the
// account's or the room's bare JID): type get returns the query form; type set sends
// each result as a <message> to the requester (from `archive`) and returns the <fin/>.
// The caller has already checked that the requester may read this archive.
boost::asio::awaitable<routing::IqResult> answer_query(ModuleContext& ctx, std::string archive,
                                                        const routing::Stanza& iq);

}  // namespace mam
}  // namespace parley::server::modules
