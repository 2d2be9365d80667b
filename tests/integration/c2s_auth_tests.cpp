// Authentication of clients (RFC 6120 §5 STARTTLS, §6 SASL; RFC 5802/7677 SCRAM;
// RFC 9266 and RFC 5929 channel binding; XEP-0440 and XEP-0478 stream features).
#include <algorithm>

#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"
#include "support/raw_login.hpp"
#include "support/server_process.hpp"
#include "support/test_client.hpp"

using namespace parley::test;
namespace ns = parley::protocol::ns;

namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

ScramClientOptions scram_for(std::string mechanism, std::string user, std::string password) {
    ScramClientOptions o;
    o.mechanism = std::move(mechanism);
    o.username = std::move(user);
    o.password = std::move(password);
    return o;
}

// After SASL success: a new stream and a bound resource prove the login was real.
void expect_bound_after_success(RawClient& client, const ServerProcess& server,
                                const std::string& expected_bare) {
    auto features = restart_stream(client, server.domain());
    REQUIRE_MESSAGE(features, client.received());
    CHECK(features->find_child("bind", ns::bind));
    CHECK(!features->find_child("mechanisms", ns::sasl));
    auto jid = bind_resource(client, "scene");
    CHECK(jid == expected_bare + "/scene");
}

}  // namespace

TEST_CASE("alice logs in with SCRAM-SHA-256 over STARTTLS through libstrophe") {
    ServerOptions options;
    options.mechanisms = {"SCRAM-SHA-256"};
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    // The server offers exactly the one mechanism configured, so libstrophe must use it.
    auto tls = open_tls_stream(server);
    CHECK(offered_mechanisms(tls.features) == std::vector<std::string>{"SCRAM-SHA-256"});

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/phone", "wonderland"));
    CHECK(alice.bound_jid() == "alice@localhost/phone");
}

TEST_CASE("alice logs in with SCRAM-SHA-1 over direct TLS through libstrophe") {
    ServerOptions options;
    options.mechanisms = {"SCRAM-SHA-1"};
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto tls = open_tls_stream(server, Transport::direct_tls);
    CHECK(offered_mechanisms(tls.features) == std::vector<std::string>{"SCRAM-SHA-1"});
    CHECK(!tls.features.find_child("starttls", ns::tls));

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/tablet", "wonderland", {.direct_tls = true}));
    CHECK(alice.bound_jid() == "alice@localhost/tablet");
}

TEST_CASE("alice logs in with PLAIN over TLS through libstrophe") {
    ServerOptions options;
    options.mechanisms = {"PLAIN"};
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    TestClient alice(server, "alice");
    REQUIRE(alice.login("alice@localhost/desk", "wonderland"));
    CHECK(alice.bound_jid() == "alice@localhost/desk");

    // And a wrong PLAIN password is refused with not-authorized.
    auto tls = open_tls_stream(server);
    auto outcome = sasl_plain(*tls.client, "alice", "looking-glass");
    CHECK(!outcome.success);
    CHECK(outcome.failure == "not-authorized");
}

TEST_CASE("alice logs in with SCRAM-*-PLUS bound to the TLS channel") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    struct Case {
        std::string mechanism, cb_type;
        Transport transport;
    };
    const Case cases[] = {
        {"SCRAM-SHA-256-PLUS", "tls-exporter", Transport::starttls},
        {"SCRAM-SHA-256-PLUS", "tls-server-end-point", Transport::starttls},
        {"SCRAM-SHA-256-PLUS", "tls-exporter", Transport::direct_tls},
        {"SCRAM-SHA-1-PLUS", "tls-exporter", Transport::starttls},
        {"SCRAM-SHA-512-PLUS", "tls-server-end-point", Transport::direct_tls},
    };
    for (const auto& c : cases) {
        CAPTURE(c.mechanism);
        CAPTURE(c.cb_type);
        auto tls = open_tls_stream(server, c.transport);
        REQUIRE(contains(offered_mechanisms(tls.features), c.mechanism));
        auto options = scram_for(c.mechanism, "alice", "wonderland");
        options.cb_type = c.cb_type;
        auto outcome = sasl_scram(*tls.client, options);
        REQUIRE_MESSAGE(outcome.success, outcome.failure << " " << outcome.problem);
        CHECK_MESSAGE(outcome.server_verified, outcome.problem);
        expect_bound_after_success(*tls.client, server, "alice@localhost");
    }
}

TEST_CASE("mallory's channel binding does not match the channel: not-authorized") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    // A man in the middle would have a different TLS channel; binding data from another
    // channel must be refused even with the right password.
    for (std::string cb_type : {"tls-exporter", "tls-server-end-point"}) {
        CAPTURE(cb_type);
        auto tls = open_tls_stream(server);
        auto options = scram_for("SCRAM-SHA-256-PLUS", "alice", "wonderland");
        options.cb_type = cb_type;
        options.cb_data = std::string(32, '\x42');
        auto outcome = sasl_scram(*tls.client, options);
        CHECK(!outcome.success);
        CHECK(outcome.failure == "not-authorized");
    }
}

TEST_CASE("a 'y' GS2 flag is refused when the server offered -PLUS") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    // 'y' says "I could bind but I think you cannot": with -PLUS offered that means
    // someone stripped it (RFC 5802 §6), so the exchange must fail.
    auto tls = open_tls_stream(server);
    REQUIRE(contains(offered_mechanisms(tls.features), "SCRAM-SHA-256-PLUS"));
    auto options = scram_for("SCRAM-SHA-256", "alice", "wonderland");
    options.gs2_flag = "y";
    auto outcome = sasl_scram(*tls.client, options);
    CHECK(!outcome.success);
    CHECK(!outcome.failure.empty());

    // 'n' (the client cannot bind) with the same mechanism is fine.
    auto tls2 = open_tls_stream(server);
    auto plain_n = sasl_scram(*tls2.client, scram_for("SCRAM-SHA-256", "alice", "wonderland"));
    CHECK_MESSAGE(plain_n.success, plain_n.failure << " " << plain_n.problem);

    // 'p=' on a mechanism without -PLUS is a contradiction and fails too.
    auto tls3 = open_tls_stream(server);
    auto options3 = scram_for("SCRAM-SHA-256", "alice", "wonderland");
    options3.gs2_flag = "p=tls-exporter";
    auto p_on_plain = sasl_scram(*tls3.client, options3);
    CHECK(!p_on_plain.success);
}

TEST_CASE("a wrong password or an unknown user gets not-authorized") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    auto tls = open_tls_stream(server);
    auto wrong = sasl_scram(*tls.client, scram_for("SCRAM-SHA-256", "alice", "looking-glass"));
    CHECK(!wrong.success);
    CHECK(wrong.failure == "not-authorized");

    // The same answer for an account that does not exist, so accounts cannot be probed.
    auto tls2 = open_tls_stream(server);
    auto nobody = sasl_scram(*tls2.client, scram_for("SCRAM-SHA-256", "nobody", "wonderland"));
    CHECK(!nobody.success);
    CHECK(nobody.failure == "not-authorized");

    // A proof that is off by one bit fails like a wrong password.
    auto tls3 = open_tls_stream(server);
    auto options = scram_for("SCRAM-SHA-512-PLUS", "alice", "wonderland");
    options.corrupt_proof = true;
    auto corrupt = sasl_scram(*tls3.client, options);
    CHECK(corrupt.failure == "not-authorized");
}

TEST_CASE("SASL protocol errors: unknown mechanism, abort, bad base64") {
    ServerProcess server;
    server.add_user("alice", "wonderland");
    auto tls = open_tls_stream(server);
    RawClient& client = *tls.client;
    auto failure = [&] { return client.wait_for(named("failure", std::string(ns::sasl))); };

    SUBCASE("an unknown mechanism gets invalid-mechanism") {
        client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-TELEPATHY'>=</auth>");
        auto f = failure();
        REQUIRE_MESSAGE(f, client.received());
        CHECK(sasl_failure_condition(*f) == "invalid-mechanism");
    }
    SUBCASE("<abort/> in the middle of SCRAM gets aborted") {
        ScramClient scram(scram_for("SCRAM-SHA-256", "alice", "wonderland"));
        client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                    base64_encode(scram.client_first()) + "</auth>");
        REQUIRE_MESSAGE(client.wait_for(named("challenge", std::string(ns::sasl))), client.received());
        client.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        auto f = failure();
        REQUIRE_MESSAGE(f, client.received());
        CHECK(sasl_failure_condition(*f) == "aborted");
    }
    SUBCASE("bad base64 gets incorrect-encoding or malformed-request") {
        client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>"
                    "!!not*base64!!</auth>");
        auto f = failure();
        REQUIRE_MESSAGE(f, client.received());
        auto condition = sasl_failure_condition(*f);
        CHECK((condition == "incorrect-encoding" || condition == "malformed-request"));
    }

    // The stream survives one failed attempt: alice then logs in on it.
    auto outcome = sasl_scram(client, scram_for("SCRAM-SHA-256", "alice", "wonderland"));
    CHECK_MESSAGE(outcome.success, outcome.failure << " " << outcome.problem);
}

TEST_CASE("too many failed attempts close the stream") {
    ServerOptions options;
    options.max_auth_failures = 2u;
    ServerProcess server(options);
    server.add_user("alice", "wonderland");

    auto tls = open_tls_stream(server);
    RawClient& mallory = *tls.client;
    auto first = sasl_plain(mallory, "alice", "guess-1");
    CHECK(first.failure == "not-authorized");
    CHECK(!mallory.is_closed());

    // The stream is still open after one failure: a second attempt gets an answer.
    auto second = sasl_plain(mallory, "alice", "guess-2");
    CHECK(second.failure == "not-authorized");
    // The second failure is the last one allowed: the server ends the stream.
    CHECK_MESSAGE(mallory.wait_closed(5s), mallory.received());
    CHECK(!sasl_plain(mallory, "alice", "wonderland").success);
}

TEST_CASE("before STARTTLS only <starttls><required/></starttls> is offered") {
    ServerProcess server;
    server.add_user("alice", "wonderland");

    RawClient eve(server.port());
    auto features = open_stream_and_read_features(eve, server.domain());
    REQUIRE_MESSAGE(features, eve.received());
    const Element* starttls = features->find_child("starttls", ns::tls);
    REQUIRE(starttls);
    CHECK(starttls->find_child("required", ns::tls));
    // Nothing that needs a secure channel: no SASL, no bind (informational features
    // such as XEP-0478 <limits/> may be there).
    CHECK(!features->find_child("mechanisms", ns::sasl));
    CHECK(!features->find_child("bind", ns::bind));

    // A password in the clear is refused whatever the features say.
    eve.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
             base64_encode(std::string("\0alice\0wonderland", 17)) + "</auth>");
    auto reply = eve.wait_for([](const Element& el) {
        return el.xmlns() == ns::sasl || is_stream_error(el);
    });
    REQUIRE_MESSAGE(reply, eve.received());
    CHECK(reply->name() != "success");
    if (reply->name() == "failure") {
        CHECK(sasl_failure_condition(*reply) == "encryption-required");
    } else {
        CHECK(is_stream_error(*reply));
    }
}

TEST_CASE("after TLS the features list mechanisms, channel bindings and limits") {
    ServerOptions options;
    options.max_stanza_bytes = 100000u;
    ServerProcess server(options);

    auto tls = open_tls_stream(server);
    const Element& features = tls.features;
    INFO(to_xml(features));
    CHECK(!features.find_child("starttls", ns::tls));

    auto mechanisms = offered_mechanisms(features);
    for (auto m : {"SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-512",
                   "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}) {
        CHECK_MESSAGE(contains(mechanisms, m), m);
    }

    auto bindings = offered_channel_bindings(features);
    CHECK(contains(bindings, "tls-exporter"));
    CHECK(contains(bindings, "tls-server-end-point"));

    const Element* limits = features.find_child("limits", ns::stream_limits);
    REQUIRE(limits);
    CHECK(limits->child_text("max-bytes") == "100000");

    // Direct TLS gives the same offer.
    auto direct = open_tls_stream(server, Transport::direct_tls);
    CHECK(offered_mechanisms(direct.features) == mechanisms);
}
