#include "support/raw_login.hpp"

#include <algorithm>

#include <doctest/doctest.h>

#include "protocol/namespaces.hpp"

namespace parley::test {
namespace ns = protocol::ns;

std::optional<Element> open_stream_and_read_features(RawClient& client, std::string_view domain) {
    if (!client.open_stream(domain)) return std::nullopt;
    if (!client.wait_header()) return std::nullopt;
    return client.wait_for(named("features", std::string(ns::stream)));
}

TlsStream open_tls_stream(const ServerProcess& server, Transport transport) {
    TlsStream out;
    if (transport == Transport::direct_tls) {
        out.client = std::make_unique<RawClient>(server.direct_tls_port());
        REQUIRE_MESSAGE(out.client->start_tls("xmpp-client"), out.client->tls_error());
    } else {
        out.client = std::make_unique<RawClient>(server.port());
        auto plain = open_stream_and_read_features(*out.client, server.domain());
        REQUIRE_MESSAGE(plain, "no features before TLS; received: " << out.client->received());
        REQUIRE(plain->find_child("starttls", ns::tls));
        REQUIRE(out.client->send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
        auto proceed = out.client->next();
        REQUIRE_MESSAGE(proceed, "no answer to <starttls/>; received: " << out.client->received());
        REQUIRE_MESSAGE((proceed->name() == "proceed" && proceed->xmlns() == ns::tls), to_xml(*proceed));
        REQUIRE_MESSAGE(out.client->start_tls(), out.client->tls_error());
    }
    auto features = open_stream_and_read_features(*out.client, server.domain());
    REQUIRE_MESSAGE(features, "no features after TLS; received: " << out.client->received());
    out.features = std::move(*features);
    return out;
}

namespace {

std::string sasl_element(std::string_view name, std::string_view payload,
                         std::string_view mechanism = {}) {
    std::string xml = "<";
    xml += name;
    xml += " xmlns='urn:ietf:params:xml:ns:xmpp-sasl'";
    if (!mechanism.empty()) {
        xml += " mechanism='";
        xml += mechanism;
        xml += "'";
    }
    xml += ">";
    xml += payload.empty() ? std::string("=") : base64_encode(payload);
    xml += "</";
    xml += name;
    xml += ">";
    return xml;
}

Match any_sasl_reply() {
    return [](const Element& el) {
        return (el.xmlns() == ns::sasl &&
                (el.name() == "challenge" || el.name() == "success" || el.name() == "failure")) ||
               is_stream_error(el);
    };
}

// Fills `out` from a terminal reply; false when the reply is not terminal.
bool finish(const Element& reply, SaslOutcome& out) {
    if (reply.name() == "success") {
        out.success = true;
        return true;
    }
    if (reply.name() == "failure") {
        out.failure = sasl_failure_condition(reply);
        return true;
    }
    if (is_stream_error(reply)) {
        out.problem = "stream error: " + stream_error_condition(reply);
        return true;
    }
    return false;
}

}  // namespace

SaslOutcome sasl_scram(RawClient& client, ScramClientOptions options) {
    SaslOutcome out;
    std::string flag = options.gs2_flag;
    if (flag.empty() && options.mechanism.ends_with("-PLUS")) flag = "p=" + options.cb_type;
    if (flag.starts_with("p=") && options.cb_data.empty() && client.ssl()) {
        std::string type = flag.substr(2);
        options.cb_data = type == "tls-server-end-point" ? tls_server_end_point_binding(client.ssl())
                                                         : tls_exporter_binding(client.ssl());
    }
    ScramClient scram(options);
    client.send(sasl_element("auth", scram.client_first(), options.mechanism));

    auto challenge = client.wait_for(any_sasl_reply());
    if (!challenge) {
        out.problem = "no reply to <auth/>";
        return out;
    }
    if (finish(*challenge, out)) return out;
    auto server_first = base64_decode(challenge->text());
    if (!server_first) {
        out.problem = "challenge is not base64: " + to_xml(*challenge);
        return out;
    }
    auto client_final = scram.client_final(*server_first);
    if (!client_final) {
        out.problem = scram.error();
        client.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        return out;
    }
    client.send(sasl_element("response", *client_final));

    auto reply = client.wait_for(any_sasl_reply());
    if (!reply) {
        out.problem = "no reply to the client-final message";
        return out;
    }
    // RFC 6120 §6.3.10: the server-final message rides in <success/> (or, from some
    // servers, in one more challenge that the client answers with an empty response).
    if (reply->name() == "challenge") {
        auto server_final = base64_decode(reply->text());
        out.server_verified = server_final && scram.verify_server_final(*server_final);
        client.send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        reply = client.wait_for(any_sasl_reply());
        if (!reply) {
            out.problem = "no reply to the empty response";
            return out;
        }
        finish(*reply, out);
        return out;
    }
    finish(*reply, out);
    if (out.success) {
        auto server_final = base64_decode(reply->text());
        out.server_verified = server_final && scram.verify_server_final(*server_final);
        if (!out.server_verified) out.problem = scram.error();
    }
    return out;
}

SaslOutcome sasl_plain(RawClient& client, std::string_view user, std::string_view password) {
    SaslOutcome out;
    std::string message;
    message += '\0';
    message += user;
    message += '\0';
    message += password;
    client.send(sasl_element("auth", message, "PLAIN"));
    auto reply = client.wait_for(any_sasl_reply());
    if (!reply) {
        out.problem = "no reply to <auth/>";
        return out;
    }
    if (!finish(*reply, out)) out.problem = "unexpected challenge: " + to_xml(*reply);
    return out;
}

std::optional<Element> restart_stream(RawClient& client, std::string_view domain) {
    return open_stream_and_read_features(client, domain);
}

std::string bind_resource(RawClient& client, std::string_view resource) {
    Element iq("iq", std::string(ns::client));
    iq.set_attr("type", "set").set_attr("id", "bind-1");
    Element& bind = iq.add_child("bind", std::string(ns::bind));
    if (!resource.empty()) bind.add_child("resource").add_text(std::string(resource));
    if (!send_element(client, iq)) return {};
    auto reply = client.wait_for(iq_reply_to("bind-1"));
    if (!reply || reply->attr("type") != "result") return {};
    const Element* b = reply->find_child("bind", ns::bind);
    return b ? b->child_text("jid") : std::string();
}

std::unique_ptr<RawClient> raw_login(const ServerProcess& server, std::string_view user,
                                     std::string_view password, std::string_view resource) {
    auto tls = open_tls_stream(server, Transport::starttls);
    ScramClientOptions scram;
    scram.mechanism = "SCRAM-SHA-256";
    scram.username = std::string(user);
    scram.password = std::string(password);
    auto mechanisms = offered_mechanisms(tls.features);
    if (std::find(mechanisms.begin(), mechanisms.end(), "SCRAM-SHA-256-PLUS") != mechanisms.end()) {
        scram.mechanism = "SCRAM-SHA-256-PLUS";
    }
    auto outcome = sasl_scram(*tls.client, scram);
    REQUIRE_MESSAGE(outcome.success, "login of " << user << " failed: " << outcome.failure << " "
                                                 << outcome.problem);
    CHECK(outcome.server_verified);
    auto features = restart_stream(*tls.client, server.domain());
    REQUIRE_MESSAGE(features, "no features after SASL; received: " << tls.client->received());
    REQUIRE(features->find_child("bind", ns::bind));
    auto jid = bind_resource(*tls.client, resource);
    REQUIRE_MESSAGE(!jid.empty(), "bind failed; received: " << tls.client->received());
    return std::move(tls.client);
}

std::vector<std::string> offered_mechanisms(const Element& features) {
    std::vector<std::string> out;
    if (const Element* m = features.find_child("mechanisms", ns::sasl)) {
        for (const auto& child : m->children()) {
            if (child.name() == "mechanism") out.push_back(child.text());
        }
    }
    return out;
}

std::vector<std::string> offered_channel_bindings(const Element& features) {
    std::vector<std::string> out;
    if (const Element* cb = features.find_child("sasl-channel-binding", ns::sasl_cb)) {
        for (const auto& child : cb->children()) {
            if (child.name() == "channel-binding") out.emplace_back(child.attr("type"));
        }
    }
    return out;
}

bool send_element(RawClient& client, const Element& el) { return client.send(to_xml(el)); }

}  // namespace parley::test
