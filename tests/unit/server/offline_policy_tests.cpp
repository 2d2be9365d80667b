// XEP-0160 storage rules with the XEP-0334 hints and XEP-0085 §5.6, and the XEP-0203
// stamp format.
#include <doctest/doctest.h>

#include "server/modules/offline/offline_policy.hpp"

using parley::protocol::xml::Element;
namespace off = parley::server::modules::offline;

namespace {
Element message(std::string type) {
    Element m("message", "jabber:client");
    if (!type.empty()) m.set_attr("type", std::move(type));
    return m;
}
Element with_body(std::string type) {
    Element m = message(std::move(type));
    m.add_child("body").add_text("hi");
    return m;
}
}  // namespace

TEST_CASE("offline policy: normal and chat with a body are stored, other types never") {
    CHECK(off::should_store(with_body("")));
    CHECK(off::should_store(with_body("normal")));
    CHECK(off::should_store(with_body("chat")));
    CHECK_FALSE(off::should_store(with_body("headline")));
    CHECK_FALSE(off::should_store(with_body("groupchat")));
    CHECK_FALSE(off::should_store(with_body("error")));
    CHECK_FALSE(off::should_store(with_body("bogus")));
    // Any payload counts, not just a body (an OMEMO message has none).
    Element encrypted = message("chat");
    encrypted.add_child("encrypted", "eu.siacs.conversations.axolotl");
    CHECK(off::should_store(encrypted));
}

TEST_CASE("offline policy: hints and chat states") {
    Element no_store = with_body("chat");
    no_store.add_child("no-store", std::string(off::ns_hints));
    CHECK_FALSE(off::should_store(no_store));

    Element composing = message("chat");
    composing.add_child("composing", std::string(off::ns_chatstates));
    composing.add_child("thread").add_text("t1");
    CHECK_FALSE(off::should_store(composing));
    CHECK_FALSE(off::should_store(message("chat")));  // nothing at all

    Element active_with_body = with_body("chat");
    active_with_body.add_child("active", std::string(off::ns_chatstates));
    CHECK(off::should_store(active_with_body));

    Element forced = composing;
    forced.add_child("store", std::string(off::ns_hints));
    CHECK(off::should_store(forced));
    // <store/> does not make a headline storable, and <no-store/> wins over <store/>.
    Element headline = with_body("headline");
    headline.add_child("store", std::string(off::ns_hints));
    CHECK_FALSE(off::should_store(headline));
    Element both = forced;
    both.add_child("no-store", std::string(off::ns_hints));
    CHECK_FALSE(off::should_store(both));
}

TEST_CASE("offline policy: delay stamp is XEP-0082 UTC with milliseconds") {
    using namespace std::chrono;
    const system_clock::time_point t{milliseconds(1'700'000'000'123)};
    CHECK(off::utc_stamp(t) == "2023-11-14T22:13:20.123Z");
    CHECK(off::utc_stamp(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    Element m = with_body("chat");
    off::add_delay(m, "localhost", off::utc_stamp(t));
    const Element* delay = m.find_child("delay", off::ns_delay);
    REQUIRE(delay);
    CHECK(delay->attr("from") == "localhost");
    CHECK(delay->attr("stamp") == "2023-11-14T22:13:20.123Z");
}
