#pragma once
// TLS contexts of server-to-server streams. Both present the server's own certificate
// (the one c2s uses, taken from its context so a reload changes both): the server side
// so peers can check us, the client side so that a peer asking for a client
// certificate (XEP-0178, Prosody's s2s_secure_auth) can authenticate us by it. Both
// trust the system store plus [s2s] ca_file, and neither stops a handshake over a
// certificate that does not verify: whether it did decides between SASL EXTERNAL and
// dialback afterwards (and require_valid_certificate refuses then, with a reason).
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string_view>

#include "server/config.hpp"

namespace parley::server::s2s {

// ALPN protocol id of XEP-0368 direct TLS between servers.
inline constexpr std::string_view alpn_xmpp_server = "xmpp-server";

struct S2sTlsContexts {
    std::shared_ptr<boost::asio::ssl::context> server;  // incoming: asks for a client certificate
    std::shared_ptr<boost::asio::ssl::context> client;  // outgoing: presents ours
};

// `identity` is the c2s server context (certificate chain and key). Throws
// std::runtime_error when the contexts cannot be set up; a ca_file that cannot be
// loaded is logged and left out (config loading has checked it already).
S2sTlsContexts make_s2s_tls(const Config& config, SSL_CTX* identity);

// The peer's certificate chain verified (system store + ca_file) and it names `domain`
// as a DNS-ID (RFC 6125 §6.4; a wildcard only as the whole leftmost label).
bool certificate_matches(SSL* ssl, std::string_view domain);
// The name check alone: `cert` names `domain` (exposed for tests).
bool certificate_names(X509* cert, std::string_view domain);

// Client-side settings for a connection to `domain`: SNI and the name verified; with
// `direct_tls`, ALPN "xmpp-server" is offered (XEP-0368 §3).
void prepare_client(SSL* ssl, const std::string& domain, bool direct_tls);

}  // namespace parley::server::s2s
