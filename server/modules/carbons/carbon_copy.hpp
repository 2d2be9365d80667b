#pragma once
// The pure parts of XEP-0280: which messages are copied and what a copy looks like.
#include <string>

#include "protocol/xml/element.hpp"

namespace parley::server::modules::carbons {

enum class Direction { sent, received };

// XEP-0280 §6 (the suggested rules): type chat, or normal with a <body/>; never
// groupchat, headline or error (errors would need tracking of what they answer);
// never a message that asks not to be copied (<private/>, XEP-0334 <no-copy/>) or is
// itself a carbon; and, received, never one from a MUC (its <x xmlns=muc#user/> marks
// private messages from occupants too).
bool is_eligible(const protocol::xml::Element& message, Direction direction);

// <private xmlns='urn:xmpp:carbons:2'/> is present.
bool is_private(const protocol::xml::Element& message);

// <message from=account to=recipient type=(same)><sent|received xmlns=carbons>
// <forwarded xmlns='urn:xmpp:forward:0'>message</forwarded></…></message>.
// `account` is the bare JID, `recipient` the full JID of the copy's resource.
protocol::xml::Element make_carbon(Direction direction, const protocol::xml::Element& message,
                                   const std::string& account, const std::string& recipient);

}  // namespace parley::server::modules::carbons
