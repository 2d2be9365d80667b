#include "support/scram_client.hpp"

#include <map>
#include <random>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace parley::test {
namespace {

const EVP_MD* digest_for(std::string_view mechanism) {
    if (mechanism.starts_with("SCRAM-SHA-1")) return EVP_sha1();
    if (mechanism.starts_with("SCRAM-SHA-256")) return EVP_sha256();
    if (mechanism.starts_with("SCRAM-SHA-512")) return EVP_sha512();
    throw std::invalid_argument("not a SCRAM mechanism: " + std::string(mechanism));
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return {reinterpret_cast<char*>(out), len};
}

std::string hash(const EVP_MD* md, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
    return {reinterpret_cast<char*>(out), len};
}

std::string xor_bytes(std::string a, std::string_view b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) a[i] ^= b[i];
    return a;
}

// saslname: "," → "=2C", "=" → "=3D" (RFC 5802 §5.1).
std::string escape_name(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == ',') out += "=2C";
        else if (c == '=') out += "=3D";
        else out += c;
    }
    return out;
}

std::map<char, std::string> parse_attributes(std::string_view msg) {
    std::map<char, std::string> out;
    while (!msg.empty()) {
        auto comma = msg.find(',');
        auto part = msg.substr(0, comma);
        if (part.size() >= 2 && part[1] == '=') out[part[0]] = std::string(part.substr(2));
        if (comma == std::string_view::npos) break;
        msg.remove_prefix(comma + 1);
    }
    return out;
}

std::string random_nonce() {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char raw[24];
    RAND_bytes(raw, sizeof raw);
    std::string out;
    for (unsigned char b : raw) out += alphabet[b % 64];
    return out;
}

}  // namespace

std::string base64_encode(std::string_view raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(raw.data()),
                            static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3 + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t pad = 0;
    if (!text.empty() && text.back() == '=') pad = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

std::string tls_exporter_binding(SSL* ssl) {
    static constexpr char label[] = "EXPORTER-Channel-Binding";
    unsigned char out[32];
    if (SSL_export_keying_material(ssl, out, sizeof out, label, sizeof label - 1, nullptr, 0, 0) != 1) {
        return {};
    }
    return {reinterpret_cast<char*>(out), sizeof out};
}

std::string tls_server_end_point_binding(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    int md_nid = NID_undef;
    const EVP_MD* md = nullptr;
    if (X509_get_signature_info(cert, &md_nid, nullptr, nullptr, nullptr) == 1 &&
        md_nid != NID_md5 && md_nid != NID_sha1 && md_nid != NID_undef) {
        md = EVP_get_digestbynid(md_nid);
    }
    if (!md) md = EVP_sha256();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert, md, out, &len);
    X509_free(cert);
    return {reinterpret_cast<char*>(out), len};
}

ScramClient::ScramClient(ScramClientOptions options) : o_(std::move(options)) {
    std::string flag = o_.gs2_flag;
    if (flag.empty()) flag = o_.mechanism.ends_with("-PLUS") ? "p=" + o_.cb_type : "n";
    gs2_header_ = flag + "," + (o_.authzid.empty() ? "" : "a=" + escape_name(o_.authzid)) + ",";
    client_nonce_ = o_.nonce.empty() ? random_nonce() : o_.nonce;
}

std::string ScramClient::client_first() {
    client_first_bare_ = "n=" + escape_name(o_.username) + ",r=" + client_nonce_;
    return gs2_header_ + client_first_bare_;
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
    const EVP_MD* md = digest_for(o_.mechanism);
    auto attrs = parse_attributes(server_first);
    const std::string& nonce = attrs['r'];
    if (!nonce.starts_with(client_nonce_) || nonce.size() == client_nonce_.size()) {
        error_ = "server nonce does not extend the client nonce: " + std::string(server_first);
        return std::nullopt;
    }
    auto salt = base64_decode(attrs['s']);
    unsigned long iterations = std::strtoul(attrs['i'].c_str(), nullptr, 10);
    if (!salt || iterations == 0) {
        error_ = "bad salt or iteration count: " + std::string(server_first);
        return std::nullopt;
    }

    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
    PKCS5_PBKDF2_HMAC(o_.password.data(), static_cast<int>(o_.password.size()),
                      reinterpret_cast<const unsigned char*>(salt->data()),
                      static_cast<int>(salt->size()), static_cast<int>(iterations), md,
                      static_cast<int>(salted.size()), reinterpret_cast<unsigned char*>(salted.data()));

    std::string cbind_input = gs2_header_;
    if (gs2_header_.starts_with("p=")) cbind_input += o_.cb_data;
    std::string without_proof = "c=" + base64_encode(cbind_input) + ",r=" + nonce;
    std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;

    std::string client_key = hmac(md, salted, "Client Key");
    std::string stored_key = hash(md, client_key);
    std::string proof = xor_bytes(client_key, hmac(md, stored_key, auth_message));
    if (o_.corrupt_proof) proof[0] ^= 0x01;
    expected_server_signature_ = hmac(md, hmac(md, salted, "Server Key"), auth_message);
    return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final) {
    auto attrs = parse_attributes(server_final);
    auto v = base64_decode(attrs['v']);
    if (!v || *v != expected_server_signature_) {
        error_ = "bad server signature: " + std::string(server_final);
        return false;
    }
    return true;
}

}  // namespace parley::test
