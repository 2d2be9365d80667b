#pragma once
// A stanza on its way through the router: the element plus its parsed, trusted
// addresses. `from` was stamped by the stream it arrived on; `to` is empty (no domain)
// when the stanza had no 'to'.
#include <cstdint>

#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::routing {

struct Stanza {
    protocol::xml::Element el;
    protocol::Jid from;
    protocol::Jid to;
    std::uint64_t origin_session = 0;  // the c2s session it came from; 0 = the server
};

}  // namespace parley::server::routing
