#include <doctest/doctest.h>

#include "protocol/errors.hpp"
#include "protocol/namespaces.hpp"

using namespace parley::protocol;
using parley::protocol::xml::Element;

TEST_CASE("errors: condition names") {
    CHECK(to_string(StreamErrorCondition::bad_format) == "bad-format");
    CHECK(to_string(StreamErrorCondition::not_well_formed) == "not-well-formed");
    CHECK(to_string(StreamErrorCondition::see_other_host) == "see-other-host");
    CHECK(to_string(StreamErrorCondition::unsupported_version) == "unsupported-version");
    CHECK(to_string(StanzaErrorCondition::bad_request) == "bad-request");
    CHECK(to_string(StanzaErrorCondition::service_unavailable) == "service-unavailable");
    CHECK(to_string(StanzaErrorCondition::unexpected_request) == "unexpected-request");
    CHECK(to_string(StanzaErrorType::continue_) == "continue");
    CHECK(to_string(StanzaErrorType::wait) == "wait");

    // Every stanza condition's name parses back to itself.
    for (int i = 0; i <= static_cast<int>(StanzaErrorCondition::unexpected_request); ++i) {
        const auto c = static_cast<StanzaErrorCondition>(i);
        CAPTURE(to_string(c));
        CHECK(stanza_condition_from_string(to_string(c)) == c);
    }
    CHECK_FALSE(stanza_condition_from_string("payment-required").has_value());
    CHECK_FALSE(stanza_condition_from_string("").has_value());
}

TEST_CASE("errors: default types follow RFC 6120 §8.3.3") {
    CHECK(default_type(StanzaErrorCondition::bad_request) == StanzaErrorType::modify);
    CHECK(default_type(StanzaErrorCondition::conflict) == StanzaErrorType::cancel);
    CHECK(default_type(StanzaErrorCondition::forbidden) == StanzaErrorType::auth);
    CHECK(default_type(StanzaErrorCondition::jid_malformed) == StanzaErrorType::modify);
    CHECK(default_type(StanzaErrorCondition::not_authorized) == StanzaErrorType::auth);
    CHECK(default_type(StanzaErrorCondition::recipient_unavailable) == StanzaErrorType::wait);
    CHECK(default_type(StanzaErrorCondition::remote_server_timeout) == StanzaErrorType::wait);
    CHECK(default_type(StanzaErrorCondition::resource_constraint) == StanzaErrorType::wait);
    CHECK(default_type(StanzaErrorCondition::service_unavailable) == StanzaErrorType::cancel);
    CHECK(default_type(StanzaErrorCondition::subscription_required) == StanzaErrorType::auth);
    CHECK(default_type(StanzaErrorCondition::unexpected_request) == StanzaErrorType::wait);
}

TEST_CASE("errors: stream error element") {
    CHECK(xml::to_string(make_stream_error(StreamErrorCondition::not_well_formed), "jabber:client") ==
          "<stream:error><not-well-formed xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    CHECK(xml::to_string(make_stream_error(StreamErrorCondition::policy_violation, "too big & slow"),
                         "jabber:server") ==
          "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
          "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>too big &amp; slow</text></stream:error>");
}

TEST_CASE("errors: stanza error reply") {
    Element iq("iq", "jabber:client");
    iq.set_attr("from", "juliet@example.com/balcony").set_attr("to", "example.com");
    iq.set_attr("type", "get").set_attr("id", "v1");
    iq.add_child("query", "jabber:iq:version");

    SUBCASE("default type, no text") {
        const Element reply = make_error_reply(iq, {StanzaErrorCondition::service_unavailable, {}, {}, {}});
        CHECK(xml::to_string(reply, "jabber:client") ==
              "<iq id='v1' type='error' to='juliet@example.com/balcony' from='example.com'>"
              "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
        CHECK(reply.find_child("error", "jabber:client") != nullptr);
    }
    SUBCASE("explicit type, text and application condition") {
        StanzaError err;
        err.condition = StanzaErrorCondition::bad_request;
        err.text = "no <id>";
        err.type = StanzaErrorType::cancel;
        err.app = Element("unsupported", "http://jabber.org/protocol/pubsub#errors");
        err.app->set_attr("feature", "publish");
        CHECK(xml::to_string(make_error_reply(iq, err), "jabber:client") ==
              "<iq id='v1' type='error' to='juliet@example.com/balcony' from='example.com'>"
              "<error type='cancel'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
              "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no &lt;id&gt;</text>"
              "<unsupported xmlns='http://jabber.org/protocol/pubsub#errors' feature='publish'/></error></iq>");
    }
    SUBCASE("absent addresses and id stay absent") {
        Element msg("message", "jabber:server");
        msg.set_attr("to", "bob@example.net");
        msg.add_child("body").add_text("payload not echoed");
        const Element reply = make_error_reply(msg, {StanzaErrorCondition::item_not_found, {}, {}, {}});
        CHECK(xml::to_string(reply, "jabber:server") ==
              "<message type='error' from='bob@example.net'><error type='cancel'>"
              "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        CHECK_FALSE(reply.has_attr("id"));
        CHECK_FALSE(reply.has_attr("to"));
    }
}
