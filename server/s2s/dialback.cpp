#include "server/s2s/dialback.hpp"
#include "protocol/hex.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "protocol/xml/element.hpp"

namespace parley::server::s2s {

using protocol::to_hex;

std::string hash_secret(std::string_view secret) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(secret.data(), secret.size(), digest, &len, EVP_sha256(), nullptr);
    return to_hex(digest, len);
}

std::string dialback_key(std::string_view hashed_secret, std::string_view receiving, std::string_view originating,
                         std::string_view stream_id) {
    std::string text;
    text.reserve(receiving.size() + originating.size() + stream_id.size() + 2);
    text.append(receiving).append(" ").append(originating).append(" ").append(stream_id);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), hashed_secret.data(), static_cast<int>(hashed_secret.size()),
         reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
    return to_hex(mac, len);
}

bool keys_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
    return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

std::string stream_header(std::string_view from, std::string_view to, std::string_view id) {
    std::string out =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback' from='";
    protocol::xml::escape_attr(from, out);
    if (!to.empty()) {
        out += "' to='";
        protocol::xml::escape_attr(to, out);
    }
    if (!id.empty()) {
        out += "' id='";
        protocol::xml::escape_attr(id, out);
    }
    out += "' version='1.0'>";
    return out;
}

}  // namespace parley::server::s2s
