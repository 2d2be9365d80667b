// SCRAM server (RFC 5802; SHA-256 per RFC 7677, SHA-512 by analogy) on OpenSSL.
//
// Failure choices, where the RFCs speak in SCRAM "e=" terms XMPP cannot carry:
// - syntax errors, a PLUS mechanism without "p=", "p=" or "y" on the wrong mechanism
//   family, an "m=" extension → malformed-request;
// - "y" while -PLUS was offered (a downgrade), a "p=" type we cannot provide here
//   (RFC 5802's e=unsupported-channel-binding-type), channel-binding data or nonce
//   that does not match, a wrong proof, an unknown user, a username PRECIS rejects →
//   not-authorized.
#include "protocol/sasl/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

#include "protocol/jid.hpp"
#include "protocol/precis.hpp"

namespace parley::protocol::sasl {
namespace {

const EVP_MD* md(Hash h) {
    switch (h) {
    case Hash::sha1: return EVP_sha1();
    case Hash::sha256: return EVP_sha256();
    case Hash::sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

std::string hmac(Hash h, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md(h), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(Hash h, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md(h), nullptr);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    // Without randomness no nonce or salt is safe; there is nothing sensible to go on with.
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        std::abort();
    return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Salt for a user that does not exist: stable per name for the process's lifetime,
// so repeated attempts see the same challenge as for a real account.
std::string fake_salt(Hash h, std::string_view username) {
    static const std::string secret = random_bytes(32);
    std::string data(storage_name(h));
    data += '\0';
    data += username;
    return hmac(Hash::sha256, secret, data).substr(0, 16);
}

std::vector<std::string_view> split_commas(std::string_view s) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto comma = s.find(',', start);
        parts.push_back(s.substr(start, comma - start));
        if (comma == std::string_view::npos) return parts;
        start = comma + 1;
    }
}

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// attr-val = ALPHA "=" value, for extensions we ignore.
bool is_attr_val(std::string_view a) { return a.size() >= 2 && is_alpha(a[0]) && a[1] == '='; }

// saslname: "=2C" → ',', "=3D" → '=', any other '=' is an error; non-empty UTF-8.
std::optional<std::string> decode_saslname(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\0') return std::nullopt;
        if (s[i] != '=') {
            out += s[i];
            continue;
        }
        const std::string_view esc = s.substr(i + 1, 2);
        if (esc == "2C") out += ',';
        else if (esc == "3D") out += '=';
        else return std::nullopt;
        i += 2;
    }
    if (out.empty() || !precis::is_valid_utf8(out)) return std::nullopt;
    return out;
}

bool is_printable_nonce(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < 0x21 || c > 0x7E || c == ',') return false;
    return true;
}

bool is_cb_name(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '.' && c != '-') return false;
    return true;
}

}  // namespace

std::string_view to_string(Hash h) {
    switch (h) {
    case Hash::sha1: return "SHA-1";
    case Hash::sha256: return "SHA-256";
    case Hash::sha512: return "SHA-512";
    }
    return "SHA-256";
}

std::string_view storage_name(Hash h) {
    switch (h) {
    case Hash::sha1: return "sha1";
    case Hash::sha256: return "sha256";
    case Hash::sha512: return "sha512";
    }
    return "sha256";
}

std::optional<Hash> hash_from_storage_name(std::string_view s) {
    if (s == "sha1") return Hash::sha1;
    if (s == "sha256") return Hash::sha256;
    if (s == "sha512") return Hash::sha512;
    return std::nullopt;
}

std::string_view to_string(ChannelBindingType t) {
    switch (t) {
    case ChannelBindingType::tls_exporter: return "tls-exporter";
    case ChannelBindingType::tls_server_end_point: return "tls-server-end-point";
    }
    return "tls-exporter";
}

ScramCredential make_scram_credential(Hash hash, std::string_view password,
                                      std::string_view salt, std::uint32_t iterations) {
    ScramCredential c;
    c.hash = hash;
    c.salt = std::string(salt);
    c.iterations = iterations == 0 ? 1 : iterations;
    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md(hash))), '\0');
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()),
                      static_cast<int>(salt.size()), static_cast<int>(c.iterations), md(hash),
                      static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    c.stored_key = digest(hash, hmac(hash, salted, "Client Key"));
    c.server_key = hmac(hash, salted, "Server Key");
    OPENSSL_cleanse(salted.data(), salted.size());
    return c;
}

ScramCredential make_scram_credential(Hash hash, std::string_view password,
                                      std::uint32_t iterations) {
    return make_scram_credential(hash, password, random_bytes(16), iterations);
}

bool verify_password(const ScramCredential& cred, std::string_view password) {
    const auto again = make_scram_credential(cred.hash, password, cred.salt, cred.iterations);
    return equal_ct(again.stored_key, cred.stored_key);
}

ScramServer::ScramServer(Hash hash, bool plus, ChannelBindings bindings)
    : hash_(hash), plus_(plus), bindings_(std::move(bindings)) {}

std::variant<ScramServer::ClientFirst, Failure> ScramServer::client_first(std::string_view message) {
    if (step_ != Step::client_first) return Failure::malformed_request;
    step_ = Step::finished;  // until this step succeeds

    // gs2-header = gs2-cbind-flag "," [authzid] ","
    const auto c1 = message.find(',');
    if (c1 == std::string_view::npos) return Failure::malformed_request;
    const auto c2 = message.find(',', c1 + 1);
    if (c2 == std::string_view::npos) return Failure::malformed_request;
    const std::string_view flag = message.substr(0, c1);
    const std::string_view authz = message.substr(c1 + 1, c2 - c1 - 1);
    const std::string_view bare = message.substr(c2 + 1);

    if (flag == "n") {
        if (plus_) return Failure::malformed_request;
    } else if (flag == "y") {
        if (plus_) return Failure::malformed_request;
        if (bindings_.plus_offered) return Failure::not_authorized;  // downgrade attack
    } else if (flag.starts_with("p=")) {
        const std::string_view name = flag.substr(2);
        if (!is_cb_name(name) || !plus_) return Failure::malformed_request;
        if (name == to_string(ChannelBindingType::tls_exporter)) cb_data_ = bindings_.tls_exporter;
        else if (name == to_string(ChannelBindingType::tls_server_end_point))
            cb_data_ = bindings_.tls_server_end_point;
        else return Failure::not_authorized;
        if (cb_data_.empty()) return Failure::not_authorized;
    } else {
        return Failure::malformed_request;
    }

    ClientFirst out;
    if (!authz.empty()) {
        if (!authz.starts_with("a=")) return Failure::malformed_request;
        auto a = decode_saslname(authz.substr(2));
        if (!a) return Failure::malformed_request;
        out.authzid = std::move(*a);
    }

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    const auto attrs = split_commas(bare);
    if (attrs.size() < 2) return Failure::malformed_request;
    if (!attrs[0].starts_with("n=") || !attrs[1].starts_with("r=")) return Failure::malformed_request;
    for (std::size_t i = 2; i < attrs.size(); ++i)
        if (!is_attr_val(attrs[i])) return Failure::malformed_request;
    auto name = decode_saslname(attrs[0].substr(2));
    const std::string_view cnonce = attrs[1].substr(2);
    if (!name || !is_printable_nonce(cnonce)) return Failure::malformed_request;

    auto prepped = Jid::prep_localpart(*name);
    if (!prepped) return Failure::not_authorized;
    out.username = *prepped;
    username_ = std::move(*prepped);
    client_nonce_ = std::string(cnonce);
    gs2_header_ = std::string(message.substr(0, c2 + 1));
    client_first_bare_ = std::string(bare);
    step_ = Step::server_first;
    return out;
}

std::string ScramServer::server_first(const std::optional<ScramCredential>& credential,
                                      std::uint32_t fake_iterations) {
    if (step_ != Step::server_first) {
        step_ = Step::finished;
        return {};
    }
    std::string salt;
    std::uint32_t iterations;
    if (credential && credential->hash == hash_) {
        cred_ = credential;
        salt = credential->salt;
        iterations = credential->iterations;
    } else {
        cred_.reset();
        salt = fake_salt(hash_, username_);
        iterations = fake_iterations;
    }
    nonce_ = client_nonce_ + (test_nonce_.empty() ? base64_encode(random_bytes(24)) : test_nonce_);
    server_first_ = "r=" + nonce_ + ",s=" + base64_encode(salt) + ",i=" + std::to_string(iterations);
    step_ = Step::client_final;
    return server_first_;
}

std::variant<std::string, Failure> ScramServer::client_final(std::string_view message) {
    if (step_ != Step::client_final) return Failure::malformed_request;
    step_ = Step::finished;

    // client-final-message = channel-binding "," nonce ["," extensions] "," proof
    const auto p = message.rfind(",p=");
    if (p == std::string_view::npos) return Failure::malformed_request;
    const std::string_view without_proof = message.substr(0, p);
    const std::string_view proof_b64 = message.substr(p + 3);
    if (proof_b64.find(',') != std::string_view::npos) return Failure::malformed_request;
    const auto attrs = split_commas(without_proof);
    if (attrs.size() < 2 || !attrs[0].starts_with("c=") || !attrs[1].starts_with("r="))
        return Failure::malformed_request;
    for (std::size_t i = 2; i < attrs.size(); ++i)
        if (!is_attr_val(attrs[i])) return Failure::malformed_request;
    const auto cbind = base64_decode(attrs[0].substr(2));
    const auto proof = base64_decode(proof_b64);
    if (!cbind || !proof || proof->empty()) return Failure::malformed_request;
    if (proof->size() != static_cast<std::size_t>(EVP_MD_get_size(md(hash_))))
        return Failure::malformed_request;

    if (!equal_ct(*cbind, gs2_header_ + cb_data_)) return Failure::not_authorized;
    if (!equal_ct(attrs[1].substr(2), nonce_)) return Failure::not_authorized;
    if (!cred_) return Failure::not_authorized;  // unknown user: fail only now

    std::string auth_message = client_first_bare_;
    auth_message += ',';
    auth_message += server_first_;
    auth_message += ',';
    auth_message += without_proof;
    const std::string client_signature = hmac(hash_, cred_->stored_key, auth_message);
    if (client_signature.size() != proof->size()) return Failure::not_authorized;
    std::string client_key = *proof;
    for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= client_signature[i];
    if (!equal_ct(digest(hash_, client_key), cred_->stored_key)) return Failure::not_authorized;

    return "v=" + base64_encode(hmac(hash_, cred_->server_key, auth_message));
}

}  // namespace parley::protocol::sasl
