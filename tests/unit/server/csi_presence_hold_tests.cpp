// XEP-0352: the held presence of an inactive session, and its configured bound.
#include "server/modules/csi/presence_hold.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "server/config.hpp"

using parley::protocol::xml::Element;
using parley::server::modules::csi::PresenceHold;

namespace {

Element presence(std::string status) {
    Element p("presence", "jabber:client");
    p.add_child("status").add_text(std::move(status));
    return p;
}

std::vector<std::string> statuses(const std::vector<Element>& all) {
    std::vector<std::string> out;
    for (const auto& p : all) out.push_back(p.child_text("status"));
    return out;
}

}  // namespace

TEST_CASE("presence hold keeps the latest per sender, in the order the latest arrived") {
    PresenceHold hold(10);
    CHECK(hold.empty());
    CHECK(hold.hold("bob@x/a", presence("b1")));
    CHECK(hold.hold("carol@x/a", presence("c1")));
    CHECK(hold.hold("bob@x/a", presence("b2")));  // replaces b1, now after c1
    CHECK(hold.hold("bob@x/b", presence("bb1")));  // another resource is another sender
    CHECK(hold.size() == 3);
    CHECK(statuses(hold.take_all()) == std::vector<std::string>{"c1", "b2", "bb1"});
    CHECK(hold.empty());
    CHECK(hold.take_all().empty());
}

TEST_CASE("presence hold gives one sender's presence back alone") {
    PresenceHold hold(10);
    hold.hold("bob@x/a", presence("b1"));
    hold.hold("carol@x/a", presence("c1"));
    CHECK_FALSE(hold.take("dave@x/a"));
    auto bob = hold.take("bob@x/a");
    REQUIRE(bob);
    CHECK(bob->child_text("status") == "b1");
    CHECK_FALSE(hold.take("bob@x/a"));
    CHECK(hold.size() == 1);
    hold.hold("bob@x/a", presence("b2"));  // held again after being taken
    CHECK(statuses(hold.take_all()) == std::vector<std::string>{"c1", "b2"});
}

TEST_CASE("presence hold says when it is over its limit") {
    PresenceHold hold(2);
    CHECK(hold.hold("a@x/r", presence("a")));
    CHECK(hold.hold("b@x/r", presence("b")));
    CHECK(hold.hold("b@x/r", presence("b2")));  // a replacement does not grow it
    CHECK_FALSE(hold.hold("c@x/r", presence("c")));
    CHECK(statuses(hold.take_all()) == std::vector<std::string>{"a", "b2", "c"});
    CHECK(hold.hold("d@x/r", presence("d")));
}

TEST_CASE("max_csi_held_presences defaults to 1000 and is range-checked") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("parley_csi_config_" + std::to_string(getpid()));
    fs::create_directories(dir);
    auto load = [&](const std::string& text) {
        const fs::path file = dir / "parley.toml";
        std::ofstream(file) << text;
        return parley::server::load_config(file);
    };
    CHECK(load("").limits.max_csi_held_presences == 1000);
    CHECK(load("[limits]\nmax_csi_held_presences = 5\n").limits.max_csi_held_presences == 5);
    try {
        load("[limits]\n\nmax_csi_held_presences = 0\n");
        FAIL("no error for 0");
    } catch (const parley::server::ConfigError& e) {
        CHECK(e.key() == "limits.max_csi_held_presences");
        CHECK(e.line() == 3);
    }
    fs::remove_all(dir);
}
