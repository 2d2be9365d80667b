#pragma once
#include <string_view>

namespace parley::protocol::ns {
inline constexpr std::string_view client = "jabber:client";
inline constexpr std::string_view server = "jabber:server";
inline constexpr std::string_view stream = "http://etherx.jabber.org/streams";
inline constexpr std::string_view streams_errors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr std::string_view stanzas_errors = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr std::string_view tls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr std::string_view sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr std::string_view bind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr std::string_view session = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr std::string_view xml = "http://www.w3.org/XML/1998/namespace";
inline constexpr std::string_view sasl_cb = "urn:xmpp:sasl-cb:0";          // XEP-0440
inline constexpr std::string_view stream_limits = "urn:xmpp:stream-limits:0";  // XEP-0478
inline constexpr std::string_view ping = "urn:xmpp:ping";                  // XEP-0199
inline constexpr std::string_view disco_info = "http://jabber.org/protocol/disco#info";
inline constexpr std::string_view disco_items = "http://jabber.org/protocol/disco#items";
}  // namespace parley::protocol::ns
