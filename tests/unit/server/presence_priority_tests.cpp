#include <doctest/doctest.h>

#include "server/modules/presence/presence_basic.hpp"

using parley::protocol::xml::Element;
using parley::server::modules::presence_priority;

TEST_CASE("presence priority: parsed, clamped, and 0 when absent or invalid") {
    auto with = [](const char* text) {
        Element p("presence", "jabber:client");
        p.add_child("priority").add_text(text);
        return presence_priority(p);
    };
    CHECK(presence_priority(Element("presence", "jabber:client")) == 0);
    CHECK(with("5") == 5);
    CHECK(with("-1") == -1);
    CHECK(with("300") == 127);
    CHECK(with("-300") == -128);
    CHECK(with("abc") == 0);
    CHECK(with("5x") == 0);
}
