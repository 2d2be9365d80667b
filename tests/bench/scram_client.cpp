// SCRAM client: RFC 5802 §3 (key derivation) and §7 (message syntax).
#include "scram_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "protocol/sasl/sasl.hpp"

namespace parley::bench {

namespace {

const EVP_MD* md_of(ScramHash h) {
    switch (h) {
        case ScramHash::sha1: return EVP_sha1();
        case ScramHash::sha256: return EVP_sha256();
        case ScramHash::sha512: return EVP_sha512();
    }
    return EVP_sha256();
}

std::string hmac(ScramHash h, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(md_of(h), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
}

std::string digest(ScramHash h, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out, &len, md_of(h), nullptr);
    return std::string(reinterpret_cast<char*>(out), len);
}

// Usernames with ',' or '=' must be escaped (RFC 5802 §5.1).
std::string escape_username(std::string_view user) {
    std::string out;
    for (char c : user) {
        if (c == ',') out += "=2C";
        else if (c == '=') out += "=3D";
        else out += c;
    }
    return out;
}

// The value of "k=" in a comma-separated attribute list, or nullopt.
std::optional<std::string_view> attribute(std::string_view msg, char key) {
    std::size_t pos = 0;
    while (pos <= msg.size()) {
        const auto comma = msg.find(',', pos);
        const auto part = msg.substr(pos, comma == std::string_view::npos ? msg.npos : comma - pos);
        if (part.size() >= 2 && part[0] == key && part[1] == '=') return part.substr(2);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }
    return std::nullopt;
}

}  // namespace

const ScramKeyCache::Keys& ScramKeyCache::get(ScramHash hash, std::string_view user,
                                              std::string_view password, std::string_view salt,
                                              std::uint32_t iterations) {
    std::string key = std::to_string(static_cast<int>(hash)) + '\0' + std::string(user) + '\0' +
                      std::string(salt) + '\0' + std::to_string(iterations);
    if (auto it = keys_.find(key); it != keys_.end()) {
        ++hits_;
        return it->second;
    }
    ++misses_;
    const EVP_MD* md = md_of(hash);
    std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                      static_cast<int>(iterations), md, static_cast<int>(salted.size()),
                      reinterpret_cast<unsigned char*>(salted.data()));
    Keys keys{hmac(hash, salted, "Client Key"), hmac(hash, salted, "Server Key")};
    return keys_.emplace(std::move(key), std::move(keys)).first->second;
}

ScramClient::ScramClient(ScramHash hash, std::string user, std::string password, ScramKeyCache& cache)
    : hash_(hash), user_(std::move(user)), password_(std::move(password)), cache_(cache) {}

std::string ScramClient::client_first() {
    unsigned char raw[18];
    RAND_bytes(raw, sizeof raw);
    nonce_ = protocol::sasl::base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
    client_first_bare_ = "n=" + escape_username(user_) + ",r=" + nonce_;
    return "n,," + client_first_bare_;
}

std::optional<std::string> ScramClient::client_final(std::string_view server_first) {
    const auto r = attribute(server_first, 'r');
    const auto s = attribute(server_first, 's');
    const auto i = attribute(server_first, 'i');
    if (!r || !s || !i || !r->starts_with(nonce_) || r->size() == nonce_.size()) return std::nullopt;
    const auto salt = protocol::sasl::base64_decode(*s);
    std::uint32_t iterations = 0;
    try {
        iterations = static_cast<std::uint32_t>(std::stoul(std::string(*i)));
    } catch (...) {
        return std::nullopt;
    }
    if (!salt || iterations == 0) return std::nullopt;
    const auto& keys = cache_.get(hash_, user_, password_, *salt, iterations);
    const std::string without_proof = "c=biws,r=" + std::string(*r);  // biws = base64("n,,")
    const std::string auth_message =
        client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
    const std::string signature = hmac(hash_, digest(hash_, keys.client_key), auth_message);
    std::string proof = keys.client_key;
    for (std::size_t k = 0; k < proof.size(); ++k) proof[k] = static_cast<char>(proof[k] ^ signature[k]);
    expected_server_signature_ = hmac(hash_, keys.server_key, auth_message);
    return without_proof + ",p=" + protocol::sasl::base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
    const auto v = attribute(server_final, 'v');
    if (!v) return false;
    const auto sig = protocol::sasl::base64_decode(*v);
    return sig && !expected_server_signature_.empty() && *sig == expected_server_signature_;
}

}  // namespace parley::bench
