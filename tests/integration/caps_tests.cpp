// XEP-0115 Entity Capabilities: the server's own caps in the stream features, and the
// server verifying the caps its clients advertise in presence (asking them for
// disco#info at node#ver, once per ver).
#include <doctest/doctest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "protocol/namespaces.hpp"
#include "protocol/sasl/sasl.hpp"
#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;

namespace {

constexpr std::string_view exodus_node = "http://code.google.com/p/exodus";
constexpr std::string_view exodus_ver = "QgayPKawpkPSDYmwT/WM94uAlu0=";  // XEP-0115 §5.2
constexpr std::string_view bogus_ver = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

std::string caps_presence(std::string_view ver) {
    return "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + std::string(exodus_node) +
           "' ver='" + std::string(ver) + "'/></presence>";
}

// A disco#info request from the server at the caps node of `ver`.
Match caps_query(std::string_view ver) {
    std::string node = std::string(exodus_node) + "#" + std::string(ver);
    return [node](const Element& el) {
        if (el.name() != "iq" || el.attr("type") != "get") return false;
        const Element* q = el.find_child("query", ns::disco_info);
        return q && q->attr("node") == node;
    };
}

// The client's answer: the disco#info of XEP-0115 §5.2 (Exodus), which hashes to exodus_ver.
void answer_as_exodus(TestClient& client, const Element& request) {
    std::string node(request.find_child("query", ns::disco_info)->attr("node"));
    client.send("<iq type='result' id='" + std::string(request.attr("id")) + "' to='" +
                std::string(request.attr("from")) + "'><query xmlns='http://jabber.org/protocol/disco#info' node='" +
                node +
                "'><identity category='client' type='pc' name='Exodus 0.9.1'/>"
                "<feature var='http://jabber.org/protocol/disco#info'/>"
                "<feature var='http://jabber.org/protocol/disco#items'/>"
                "<feature var='http://jabber.org/protocol/muc'/>"
                "<feature var='http://jabber.org/protocol/caps'/></query></iq>");
}

// XEP-0115 §5.1 written again here, independently of the server's code, for a reply
// with identities without names or languages (what the server sends).
std::string sha1_ver(const Element& query) {
    std::vector<std::string> identities, features;
    std::vector<std::pair<std::string, std::string>> forms;  // FORM_TYPE, rest of S
    for (const auto& c : query.children()) {
        if (c.name() == "identity") identities.push_back(std::string(c.attr("category")) + "/" + std::string(c.attr("type")) + "//" + std::string(c.attr("name")) + "<");
        if (c.name() == "feature") features.push_back(std::string(c.attr("var")) + "<");
        if (c.name() == "x") {
            std::string type;
            std::vector<std::pair<std::string, std::vector<std::string>>> fields;
            for (const auto& f : c.children()) {
                std::vector<std::string> values;
                for (const auto& v : f.children()) values.push_back(v.text());
                std::sort(values.begin(), values.end());
                if (f.attr("var") == "FORM_TYPE") type = values.at(0);
                else fields.emplace_back(std::string(f.attr("var")), values);
            }
            std::sort(fields.begin(), fields.end());
            std::string rest;
            for (const auto& [var, values] : fields) {
                rest += var + "<";
                for (const auto& v : values) rest += v + "<";
            }
            forms.emplace_back(type, rest);
        }
    }
    std::sort(identities.begin(), identities.end());
    std::sort(features.begin(), features.end());
    std::sort(forms.begin(), forms.end());
    std::string s;
    for (const auto& i : identities) s += i;
    for (const auto& f : features) s += f;
    for (const auto& [type, rest] : forms) s += type + "<" + rest;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(s.data(), s.size(), md, &len, EVP_sha1(), nullptr);
    return parley::protocol::sasl::base64_encode(std::string(reinterpret_cast<char*>(md), len));
}

std::vector<std::string> features_of(const Element& query) {
    std::vector<std::string> out;
    for (const auto& c : query.children()) {
        if (c.name() == "feature") out.emplace_back(c.attr("var"));
    }
    return out;
}

std::optional<Element> raw_request(RawClient& client, std::string id, std::string_view xml) {
    auto iq = parse_fragment(xml);
    REQUIRE(iq);
    iq->set_attr("id", id);
    REQUIRE(send_element(client, *iq));
    return client.wait_for(iq_reply_to(id));
}

}  // namespace

TEST_CASE("after authentication the stream features carry the server's caps, which match its disco#info") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    auto tls = open_tls_stream(server);
    RawClient& alice = *tls.client;
    ScramClientOptions scram;
    scram.username = "alice";
    scram.password = "wonderland";
    REQUIRE(sasl_scram(alice, scram).success);
    auto features = restart_stream(alice, server.domain());
    REQUIRE(features);
    INFO(to_xml(*features));
    const Element* c = features->find_child("c", ns::caps);
    REQUIRE(c);
    CHECK(c->attr("hash") == "sha-1");
    CHECK(c->attr("node") == "https://parley.example/caps");
    const std::string ver(c->attr("ver"));
    REQUIRE(bind_resource(alice, "phone") == "alice@localhost/phone");

    auto info = raw_request(alice, "info1", "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    REQUIRE(info);
    REQUIRE(info->attr("type") == "result");
    const Element* plain = info->find_child("query", ns::disco_info);
    REQUIRE(plain);
    CHECK(sha1_ver(*plain) == ver);
    const auto plain_features = features_of(*plain);
    CHECK(std::find(plain_features.begin(), plain_features.end(), ns::caps) != plain_features.end());

    // XEP-0115 §6.2: the same identities and features at node#ver.
    const std::string node = "https://parley.example/caps#" + ver;
    auto at_node = raw_request(alice, "info2", "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='" + node + "'/></iq>");
    REQUIRE(at_node);
    INFO(to_xml(*at_node));
    REQUIRE(at_node->attr("type") == "result");
    const Element* q = at_node->find_child("query", ns::disco_info);
    REQUIRE(q);
    CHECK(q->attr("node") == node);
    CHECK(features_of(*q) == plain_features);
    CHECK(sha1_ver(*q) == ver);

    auto other = raw_request(alice, "info3", "<iq type='get' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='https://parley.example/caps#nope'/></iq>");
    REQUIRE(other);
    CHECK(stanza_error_condition(*other) == "item-not-found");
}

TEST_CASE("alice's caps are verified once: bob advertising the same ver is not asked") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send(caps_presence(exodus_ver));
    auto asked = alice.wait_for(caps_query(exodus_ver));
    REQUIRE(asked);
    CHECK(asked->attr("from") == "localhost");
    answer_as_exodus(alice, *asked);
    CHECK(server.wait_for_log("caps_verified jid=alice@localhost/phone"));

    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send(caps_presence(exodus_ver));
    CHECK_FALSE(bob.wait_for(caps_query(exodus_ver), 1500ms));
    CHECK(alice.count(caps_query(exodus_ver)) == 1);
}

TEST_CASE("a ver whose answer does not hash to it is not cached, and that session is not asked again for it") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send(caps_presence(bogus_ver));
    auto asked = alice.wait_for(caps_query(bogus_ver));
    REQUIRE(asked);
    answer_as_exodus(alice, *asked);  // the Exodus features do not hash to bogus_ver
    CHECK(server.wait_for_log("caps_hash_mismatch jid=alice@localhost/phone"));

    // The same presence again: no second query in a loop.
    alice.send(caps_presence(bogus_ver));
    CHECK_FALSE(alice.wait_for(caps_query(bogus_ver), 1500ms));

    // Another session advertising that ver is asked (it was never verified).
    TestClient bob(server, "bob");
    REQUIRE(bob.login("bob@localhost/laptop", "builder"));
    bob.send(caps_presence(bogus_ver));
    auto bob_asked = bob.wait_for(caps_query(bogus_ver));
    REQUIRE(bob_asked);
    answer_as_exodus(bob, *bob_asked);
    CHECK(server.wait_for_log("caps_hash_mismatch jid=bob@localhost/laptop"));

    // A new ver from alice is asked about, and verifies.
    alice.send(caps_presence(exodus_ver));
    auto asked_again = alice.wait_for(caps_query(exodus_ver));
    REQUIRE(asked_again);
    answer_as_exodus(alice, *asked_again);
    CHECK(server.wait_for_log("caps_verified jid=alice@localhost/phone"));
}

TEST_CASE("a client that answers the caps query with an error is not asked again by its next presence") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send(caps_presence(exodus_ver));
    auto asked = alice.wait_for(caps_query(exodus_ver));
    REQUIRE(asked);
    // An error instead of the info: the server stops asking this session for that ver.
    alice.send("<iq type='error' id='" + std::string(asked->attr("id")) +
               "' to='localhost'><error type='cancel'><service-unavailable "
               "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    CHECK(server.wait_for_log("caps_query_failed jid=alice@localhost/phone"));
    alice.send(caps_presence(exodus_ver));
    CHECK_FALSE(alice.wait_for(caps_query(exodus_ver), 1500ms));
}

TEST_CASE("legacy caps without a hash are ignored") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    alice.send("<presence><c xmlns='http://jabber.org/protocol/caps' node='http://psi-im.org/caps' ver='0.11'/></presence>");
    auto disco_query = [](const Element& el) {
        return el.name() == "iq" && el.attr("type") == "get" && el.find_child("query", ns::disco_info);
    };
    auto asked = alice.wait_for(disco_query, 1500ms);
    CHECK_MESSAGE(!asked, to_xml(*asked));
}
