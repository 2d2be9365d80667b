// TLS contexts and certificate checks of server-to-server streams (RFC 6120 §13.7.2,
// RFC 6125, XEP-0178, XEP-0368).
#include "server/s2s/s2s_tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "server/log.hpp"
#include "server/net/tls.hpp"

namespace parley::server::s2s {

namespace ssl = boost::asio::ssl;

namespace {

// Lets the handshake go on whatever the chain's state: OpenSSL still records the
// result, which certificate_matches() reads.
int accept_any(int, X509_STORE_CTX*) { return 1; }

int select_xmpp_server(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                       unsigned int inlen, void*) {
    static const unsigned char ours[] = "\x0bxmpp-server";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;  // a peer offering nothing we know still gets TLS
}

void common_setup(const Config& config, SSL_CTX* ctx, SSL_CTX* identity) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    const std::string ciphers = net::tls12_cipher_list(config);
    if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) throw std::runtime_error("s2s: no usable TLS cipher");
    X509* cert = identity ? SSL_CTX_get0_certificate(identity) : nullptr;
    EVP_PKEY* key = identity ? SSL_CTX_get0_privatekey(identity) : nullptr;
    if (cert && key) {
        STACK_OF(X509)* chain = nullptr;
        SSL_CTX_get0_chain_certs(identity, &chain);
        if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
            (chain && SSL_CTX_set1_chain(ctx, chain) != 1)) {
            throw std::runtime_error("s2s: cannot use the TLS certificate");
        }
    }
    SSL_CTX_set_default_verify_paths(ctx);
    if (!config.s2s.ca_file.empty() && SSL_CTX_load_verify_file(ctx, config.s2s.ca_file.c_str()) != 1) {
        spdlog::error("s2s_ca_file_failed file={} (only the system trust store is used)", config.s2s.ca_file.string());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any);
}

}  // namespace

S2sTlsContexts make_s2s_tls(const Config& config, SSL_CTX* identity) {
    S2sTlsContexts out;
    out.server = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* server = out.server->native_handle();
    common_setup(config, server, identity);
    SSL_CTX_set_options(server, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(server, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(server, 0);
    static const unsigned char session_context[] = "parley-s2s";
    SSL_CTX_set_session_id_context(server, session_context, sizeof(session_context) - 1);
    SSL_CTX_set_alpn_select_cb(server, select_xmpp_server, nullptr);
    // A peer's "client" certificate is its server certificate: check it for serverAuth,
    // as the outgoing side does. Public CAs now issue serverAuth-only certificates, which
    // OpenSSL's default client purpose would refuse, sending such peers to dialback.
    X509_VERIFY_PARAM_set_purpose(SSL_CTX_get0_param(server), X509_PURPOSE_SSL_SERVER);

    out.client = std::make_shared<ssl::context>(ssl::context::tls_client);
    common_setup(config, out.client->native_handle(), identity);
    return out;
}

void prepare_client(SSL* ssl, const std::string& domain, bool direct_tls) {
    SSL_set_connect_state(ssl);
    SSL_set_tlsext_host_name(ssl, domain.c_str());
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(ssl, domain.c_str());
    if (direct_tls) {
        static const unsigned char protos[] = "\x0bxmpp-server";
        SSL_set_alpn_protos(ssl, protos, sizeof(protos) - 1);
    }
}

bool certificate_matches(SSL* ssl, std::string_view domain) {
    if (!ssl || domain.empty()) return false;
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) return false;
    return certificate_names(cert, domain);
}

bool certificate_names(X509* cert, std::string_view domain) {
    if (!cert || domain.empty()) return false;
    return X509_check_host(cert, domain.data(), domain.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr) == 1;
}

}  // namespace parley::server::s2s
