#include "support/caps_client.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>

namespace parley::test {

namespace {
constexpr const char* caps_node = "https://parley.test";
}

std::string caps_ver(std::vector<std::string> features) {
    std::sort(features.begin(), features.end());
    std::string s = "client/pc//parley-test<";
    for (const auto& f : features) s += f + "<";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
    unsigned char b64[64];
    const int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
    return std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
}

void answer_caps_query(TestClient& client, const std::vector<std::string>& features, const std::string& from,
                       std::chrono::milliseconds timeout) {
    const std::string ver = caps_ver(features);
    auto query = client.wait_for(
        [&](const Element& el) {
            if (el.name() != "iq" || el.attr("type") != "get") return false;
            if (!from.empty() && el.attr("from") != from) return false;
            const Element* q = el.find_child("query", "http://jabber.org/protocol/disco#info");
            return q && q->attr("node").starts_with(std::string(caps_node) + "#");
        },
        timeout);
    REQUIRE_MESSAGE(query, "the server " << from << " did not ask for the caps");
    CHECK(query->find_child("query")->attr("node") == std::string(caps_node) + "#" + ver);
    std::string answer = "<iq type='result' id='" + std::string(query->attr("id")) + "' to='" +
                         std::string(query->attr("from")) + "'><query xmlns='http://jabber.org/protocol/disco#info' node='" +
                         caps_node + "#" + ver + "'><identity category='client' type='pc' name='parley-test'/>";
    for (const auto& f : features) answer += "<feature var='" + f + "'/>";
    client.send(answer + "</query></iq>");
}

void advertise_caps(TestClient& client, const std::vector<std::string>& features, bool expect_query) {
    client.send(std::string("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='") + caps_node +
                "' ver='" + caps_ver(features) + "'/></presence>");
    if (expect_query) answer_caps_query(client, features);
}

}  // namespace parley::test
