#include "server/net/tls.hpp"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>

#include "server/log.hpp"

namespace parley::server::net {
namespace {

// Mozilla "intermediate" TLS 1.2 suites (TLS 1.3 suites are OpenSSL's defaults).
constexpr const char* intermediate_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

template <class T, void (*Free)(T*)>
struct Freer {
    void operator()(T* p) const { Free(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Freer<X509, X509_free>>;

void write_pem(const std::filesystem::path& path, bool is_key, EVP_PKEY* pkey, X509* cert) {
    FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error(path.string() + ": cannot write");
    bool ok = is_key ? PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr)
                     : PEM_write_X509(f, cert);
    std::fclose(f);
    if (!ok) throw std::runtime_error(path.string() + ": cannot write PEM");
}

// ALPN for XEP-0368 direct TLS: accept "xmpp-client" when offered; a client that
// offers nothing we know still gets TLS (most clients send no ALPN).
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
    static const unsigned char ours[] = "\x0bxmpp-client";
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

void write_self_signed(const std::vector<std::string>& hosts, const std::filesystem::path& cert_path,
                       const std::filesystem::path& key_path) {
    PKeyPtr pkey(EVP_EC_gen("P-256"));
    if (!pkey) throw std::runtime_error("cannot generate a key");
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * 3650);
    X509_set_pubkey(cert.get(), pkey.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(hosts.front().c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    std::string san;
    for (const auto& h : hosts) san += (san.empty() ? "DNS:" : ",DNS:") + h;
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str())) {
        X509_add_ext(cert.get(), ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(cert.get(), pkey.get(), EVP_sha256())) throw std::runtime_error("cannot sign certificate");
    std::filesystem::create_directories(key_path.parent_path());
    write_pem(key_path, true, pkey.get(), nullptr);
    std::filesystem::permissions(key_path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    write_pem(cert_path, false, nullptr, cert.get());
}

std::string tls12_cipher_list(const Config& config) {
    return config.tls.ciphers.empty() ? std::string(intermediate_ciphers) : config.tls.ciphers;
}

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const Config& config) {
    namespace ssl = boost::asio::ssl;
    auto cert = config.tls.certificate;
    auto key = config.tls.key;
    if (cert.empty()) {
        cert = config.state_dir / "tls" / "self-signed.crt";
        key = config.state_dir / "tls" / "self-signed.key";
        if (!std::filesystem::exists(cert) || !std::filesystem::exists(key)) {
            write_self_signed(config.hosts, cert, key);
            spdlog::warn("tls_self_signed_created cert={} (configure [tls] certificate for production)",
                         cert.string());
        }
    }
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                    SSL_OP_NO_COMPRESSION |
                                    // XMPP ends with </stream:stream>; a missing close_notify is just EOF.
                                    SSL_OP_IGNORE_UNEXPECTED_EOF);
    // No session resumption: XMPP clients hold one long connection, and tickets and a
    // session cache would cost every login CPU and every connection memory.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(native, 0);
    const std::string ciphers = tls12_cipher_list(config);
    if (!SSL_CTX_set_cipher_list(native, ciphers.c_str())) {
        throw std::runtime_error(config.file.string() + ": tls.ciphers: no usable cipher in the list");
    }
    if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1) {
        throw std::runtime_error(cert.string() + ": cannot read the certificate chain");
    }
    if (SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error(key.string() + ": cannot read the private key");
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error(key.string() + ": the key does not match " + cert.string());
    }
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    return ctx;
}

std::string tls_exporter_binding(SSL* ssl) {
    if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) return {};
    std::string out(32, '\0');
    static constexpr char label[] = "EXPORTER-Channel-Binding";
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(), label,
                                   sizeof(label) - 1, nullptr, 0, 0) != 1) {
        return {};
    }
    return out;
}

std::string tls_server_end_point_binding(SSL* ssl) {
    X509* cert = SSL_get_certificate(ssl);
    if (!cert) return {};
    int md_nid = NID_undef, pk_nid = NID_undef;
    if (!OBJ_find_sigid_algs(X509_get_signature_nid(cert), &md_nid, &pk_nid)) return {};
    // RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256.
    const EVP_MD* md = (md_nid == NID_md5 || md_nid == NID_sha1) ? EVP_sha256() : EVP_get_digestbynid(md_nid);
    if (!md) return {};
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, buf, &len) != 1) return {};
    return std::string(reinterpret_cast<char*>(buf), len);
}

}  // namespace parley::server::net
