// XEP-0280: which messages are copied, the shape of a copy, and the RFC 6121 §8.5
// delivery plan that decides who does not get the original.
#include <doctest/doctest.h>

#include "protocol/xml/element.hpp"
#include "server/modules/carbons/carbon_copy.hpp"
#include "server/modules/message/message_targets.hpp"

using parley::protocol::Jid;
using parley::protocol::xml::Element;
using parley::server::modules::MessagePlan;
using parley::server::modules::plan_message_delivery;
using parley::server::routing::ResourceEntry;
namespace carbons = parley::server::modules::carbons;
using carbons::Direction;

namespace {

Element message(std::string type, bool body = true) {
    Element m("message", "jabber:client");
    if (!type.empty()) m.set_attr("type", std::move(type));
    m.set_attr("from", "bob@x/desk").set_attr("to", "alice@x");
    if (body) m.add_child("body").add_text("hi");
    return m;
}

ResourceEntry resource(std::string name, bool available, int priority) {
    ResourceEntry r;
    r.resource = std::move(name);
    r.available = available;
    r.priority = priority;
    return r;
}

Jid jid(std::string_view s) { return *Jid::parse(s); }

}  // namespace

TEST_CASE("carbons: chat, and normal with a body, are eligible") {
    for (auto d : {Direction::sent, Direction::received}) {
        CHECK(carbons::is_eligible(message("chat"), d));
        CHECK(carbons::is_eligible(message("chat", false), d));  // chat states alone too
        CHECK(carbons::is_eligible(message(""), d));
        CHECK(carbons::is_eligible(message("normal"), d));
        CHECK_FALSE(carbons::is_eligible(message("normal", false), d));
        CHECK_FALSE(carbons::is_eligible(message("groupchat"), d));
        CHECK_FALSE(carbons::is_eligible(message("headline"), d));
        CHECK_FALSE(carbons::is_eligible(message("error"), d));
        CHECK_FALSE(carbons::is_eligible(Element("presence", "jabber:client"), d));
    }
}

TEST_CASE("carbons: private, no-copy, carbons themselves and received MUC messages are not copied") {
    Element priv = message("chat");
    priv.add_child("private", "urn:xmpp:carbons:2");
    CHECK(carbons::is_private(priv));
    CHECK_FALSE(carbons::is_eligible(priv, Direction::sent));
    CHECK_FALSE(carbons::is_eligible(priv, Direction::received));

    Element hint = message("chat");
    hint.add_child("no-copy", "urn:xmpp:hints");
    CHECK_FALSE(carbons::is_private(hint));
    CHECK_FALSE(carbons::is_eligible(hint, Direction::sent));
    CHECK_FALSE(carbons::is_eligible(hint, Direction::received));

    Element carbon = carbons::make_carbon(Direction::sent, message("chat"), "alice@x", "alice@x/a");
    CHECK_FALSE(carbons::is_eligible(carbon, Direction::received));

    Element pm = message("chat");
    pm.add_child("x", "http://jabber.org/protocol/muc#user");
    CHECK_FALSE(carbons::is_eligible(pm, Direction::received));
    CHECK(carbons::is_eligible(pm, Direction::sent));  // a PM the user sent: her own words
}

TEST_CASE("carbons: a copy wraps the original in <forwarded/>, from the bare JID, same type") {
    const Element original = message("chat");
    const Element copy = carbons::make_carbon(Direction::received, original, "alice@x", "alice@x/laptop");
    CHECK(copy.name() == "message");
    CHECK(copy.xmlns() == "jabber:client");
    CHECK(copy.attr("from") == "alice@x");
    CHECK(copy.attr("to") == "alice@x/laptop");
    CHECK(copy.attr("type") == "chat");
    const Element* received = copy.find_child("received", "urn:xmpp:carbons:2");
    REQUIRE(received);
    CHECK(copy.find_child("sent", "urn:xmpp:carbons:2") == nullptr);
    const Element* forwarded = received->find_child("forwarded", "urn:xmpp:forward:0");
    REQUIRE(forwarded);
    const Element* inner = forwarded->find_child("message", "jabber:client");
    REQUIRE(inner);
    CHECK(inner->attr("from") == "bob@x/desk");
    CHECK(inner->child_text("body") == "hi");
    CHECK_FALSE(carbons::make_carbon(Direction::sent, message(""), "a@x", "a@x/r").has_attr("type"));
    CHECK(carbons::make_carbon(Direction::sent, message(""), "a@x", "a@x/r").find_child("sent", "urn:xmpp:carbons:2"));
}

TEST_CASE("message plan: bare JID goes to the highest non-negative priority") {
    std::vector<ResourceEntry> rs{resource("phone", true, 5), resource("laptop", true, 1),
                                  resource("tablet", true, 5), resource("idle", false, 9),
                                  resource("hidden", true, -1)};
    auto plan = plan_message_delivery(jid("alice@x"), "chat", rs);
    CHECK(plan.action == MessagePlan::Action::deliver);
    CHECK(plan.targets == std::vector<std::size_t>{0, 2});
    auto headline = plan_message_delivery(jid("alice@x"), "headline", rs);
    CHECK(headline.targets == std::vector<std::size_t>{0, 1, 2});
    CHECK(plan_message_delivery(jid("alice@x"), "groupchat", rs).action == MessagePlan::Action::bounce);
    CHECK(plan_message_delivery(jid("alice@x"), "error", rs).action == MessagePlan::Action::drop);
}

TEST_CASE("message plan: full JID goes to that resource, else falls back by type") {
    std::vector<ResourceEntry> rs{resource("phone", true, 5), resource("laptop", false, 1)};
    auto direct = plan_message_delivery(jid("alice@x/laptop"), "chat", rs);
    CHECK(direct.action == MessagePlan::Action::deliver);
    CHECK(direct.targets == std::vector<std::size_t>{1});  // bound is enough
    auto fallback = plan_message_delivery(jid("alice@x/gone"), "chat", rs);
    CHECK(fallback.action == MessagePlan::Action::deliver);
    CHECK(fallback.targets == std::vector<std::size_t>{0});
    CHECK(plan_message_delivery(jid("alice@x/gone"), "groupchat", rs).action == MessagePlan::Action::bounce);
    CHECK(plan_message_delivery(jid("alice@x/gone"), "headline", rs).action == MessagePlan::Action::drop);
    CHECK(plan_message_delivery(jid("alice@x/gone"), "error", rs).action == MessagePlan::Action::drop);
}

TEST_CASE("message plan: nobody available is undeliverable") {
    std::vector<ResourceEntry> rs{resource("phone", true, -1), resource("laptop", false, 3)};
    CHECK(plan_message_delivery(jid("alice@x"), "chat", rs).action == MessagePlan::Action::undeliverable);
    CHECK(plan_message_delivery(jid("alice@x"), "", {}).action == MessagePlan::Action::undeliverable);
    CHECK(plan_message_delivery(jid("alice@x/none"), "", {}).action == MessagePlan::Action::undeliverable);
}
