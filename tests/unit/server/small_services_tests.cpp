// The pure parts of the small server services: XEP-0082 time stamps (XEP-0202) and
// the XEP-0157 serverinfo form.
#include <doctest/doctest.h>

#include "server/modules/contact/contact.hpp"
#include "server/modules/time/time.hpp"

using parley::server::Config;
using parley::server::modules::serverinfo_form;
using parley::server::modules::xep0082_utc;
using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST_CASE("XEP-0082 UTC stamps have milliseconds and a Z") {
    CHECK(xep0082_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    // 2026-11-28T02:51:43.123Z
    CHECK(xep0082_utc(system_clock::time_point{milliseconds(1795834303123)}) ==
          "2026-11-28T02:51:43.123Z");
    // Leap day, last millisecond of the day.
    CHECK(xep0082_utc(system_clock::time_point{milliseconds(951868799999)}) ==
          "2000-02-29T23:59:59.999Z");
    // Before the epoch the millisecond part still counts forwards.
    CHECK(xep0082_utc(system_clock::time_point{milliseconds(-1)}) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("the serverinfo form lists the configured kinds of address, in order") {
    Config::Contact c;
    CHECK_FALSE(serverinfo_form(c).has_value());

    c.support = {"xmpp:support@example.org?join"};
    c.abuse = {"mailto:abuse@example.org", "xmpp:abuse@example.org"};
    auto form = serverinfo_form(c);
    REQUIRE(form);
    CHECK(form->name() == "x");
    CHECK(form->xmlns() == "jabber:x:data");
    CHECK(form->attr("type") == "result");
    std::vector<std::string> vars;
    for (const auto& f : form->children()) vars.emplace_back(f.attr("var"));
    CHECK(vars == std::vector<std::string>{"FORM_TYPE", "abuse-addresses", "support-addresses"});

    const auto& type = form->children()[0];
    CHECK(type.attr("type") == "hidden");
    CHECK(type.child_text("value") == "http://jabber.org/network/serverinfo");
    const auto& abuse = form->children()[1];
    REQUIRE(abuse.children().size() == 2);
    CHECK(abuse.children()[0].text() == "mailto:abuse@example.org");
    CHECK(abuse.children()[1].text() == "xmpp:abuse@example.org");
    CHECK(form->children()[2].child_text("value") == "xmpp:support@example.org?join");
}
