// XEP-0163 across two federated Parley instances: bob@other.example, a contact of
// alice@parley.example, gets her PEP notifications at his resource on his server. Her
// server learns that he wants them from the caps in his presence, verified over s2s.
#include <doctest/doctest.h>

#include "support/caps_client.hpp"
#include "support/child_process.hpp"
#include "support/federation_pair.hpp"

using namespace parley::test;

namespace {

constexpr auto federation_wait = std::chrono::seconds(15);
constexpr const char* devicelist = "eu.siacs.conversations.axolotl.devicelist";
constexpr const char* event_ns = "http://jabber.org/protocol/pubsub#event";

// One side of a 'both' subscription, written straight into the server's roster table.
void add_contact(const ServerProcess& server, const std::string& local, const std::string& contact) {
    const std::string sql = "INSERT INTO roster_items (domain, localpart, contact, subscription, version) VALUES ('" +
                            server.domain() + "', '" + local + "', '" + contact + "', 'both', 1)";
    auto r = run_command({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", server.database(), "-c", sql});
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
}

Match devicelist_with(std::string device) {
    return [device](const Element& el) {
        if (el.name() != "message" || el.attr("from") != "alice@parley.example") return false;
        const Element* ev = el.find_child("event", event_ns);
        const Element* items = ev ? ev->find_child("items", event_ns) : nullptr;
        if (!items || items->attr("node") != devicelist) return false;
        const Element* item = items->find_child("item", event_ns);
        const Element* list = item ? item->first_child_element() : nullptr;
        const Element* d = list ? list->first_child_element() : nullptr;
        return d && d->attr("id") == device;
    };
}

std::string publish_devicelist(const std::string& device) {
    return std::string("<iq type='set'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='") + devicelist +
           "'><item id='current'><list xmlns='eu.siacs.conversations.axolotl'><device id='" + device +
           "'/></list></item></publish></pubsub></iq>";
}

}  // namespace

TEST_CASE("s2s pep: a remote contact gets the last item when he comes online, then each new one") {
    FederationPair pair;
    pair.a().add_user("alice@parley.example", "wonderland");
    pair.b().add_user("bob@other.example", "builder");
    add_contact(pair.a(), "alice", "bob@other.example");
    add_contact(pair.b(), "bob", "alice@parley.example");
    TestClient alice(pair.a(), "alice"), bob(pair.b(), "bob");
    REQUIRE(alice.login("alice@parley.example/phone", "wonderland"));
    alice.send_presence();
    auto first = alice.request(*parse_fragment(publish_devicelist("1")));
    REQUIRE(first);
    REQUIRE(first->attr("type") == "result");

    // bob comes online wanting devicelist notifications. His own server and alice's
    // each ask his client what the ver means (the latter over s2s).
    const std::vector<std::string> features = {std::string(devicelist) + "+notify"};
    REQUIRE(bob.login("bob@other.example/work", "builder"));
    bob.send(std::string("<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' "
                         "node='https://parley.test' ver='") + caps_ver(features) + "'/></presence>");
    answer_caps_query(bob, features, "parley.example", federation_wait);
    REQUIRE_MESSAGE(pair.a().wait_for_log("caps_verified jid=bob@other.example/work", federation_wait), pair.a().log());

    // §4.3.2 (send_last_published_item on_sub_and_presence): the item alice published
    // before he came.
    REQUIRE_MESSAGE(bob.wait_for(devicelist_with("1"), federation_wait), pair.a().log());

    // §4.3.1: a new publish reaches him as it happens.
    auto second = alice.request(*parse_fragment(publish_devicelist("2")));
    REQUIRE(second);
    REQUIRE(second->attr("type") == "result");
    REQUIRE(bob.wait_for(devicelist_with("2"), federation_wait));
}
