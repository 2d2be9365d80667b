#pragma once
// A stanza on its way through the router: the element plus its parsed, trusted
// addresses. `from` was stamped by the stream it arrived on; `to` is empty (no domain)
// when the stanza had no 'to'.
#include <cstdint>
#include <string>

#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::routing {

struct Stanza {
    protocol::xml::Element el;
    protocol::Jid from;
    protocol::Jid to;
    std::uint64_t origin_session = 0;  // the c2s session it came from; 0 = the server
};

// An account's own resource asking about its own account (its bare JID, or no 'to').
inline bool is_from_owner(const Stanza& s) { return s.from.bare() == s.to.bare(); }

// The Database::run key of an account, so that all its storage work stays in order on
// one database thread.
inline std::string account_key(const protocol::Jid& account) { return account.domain() + "/" + account.local(); }

}  // namespace parley::server::routing
