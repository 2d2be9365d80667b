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
inline constexpr std::string_view caps = "http://jabber.org/protocol/caps";  // XEP-0115
inline constexpr std::string_view data_forms = "jabber:x:data";  // XEP-0004
inline constexpr std::string_view carbons = "urn:xmpp:carbons:2";            // XEP-0280
inline constexpr std::string_view forward = "urn:xmpp:forward:0";            // XEP-0297
inline constexpr std::string_view hints = "urn:xmpp:hints";                  // XEP-0334
inline constexpr std::string_view csi = "urn:xmpp:csi:0";                    // XEP-0352
inline constexpr std::string_view muc_user = "http://jabber.org/protocol/muc#user";
inline constexpr std::string_view delay = "urn:xmpp:delay";                  // XEP-0203
inline constexpr std::string_view sid = "urn:xmpp:sid:0";                    // XEP-0359
inline constexpr std::string_view mam = "urn:xmpp:mam:2";                    // XEP-0313
inline constexpr std::string_view rsm = "http://jabber.org/protocol/rsm";    // XEP-0059
// XEP-0060 PubSub, as PEP (XEP-0163) uses it.
inline constexpr std::string_view pubsub = "http://jabber.org/protocol/pubsub";
inline constexpr std::string_view pubsub_owner = "http://jabber.org/protocol/pubsub#owner";
inline constexpr std::string_view pubsub_event = "http://jabber.org/protocol/pubsub#event";
inline constexpr std::string_view pubsub_errors = "http://jabber.org/protocol/pubsub#errors";
}  // namespace parley::protocol::ns
