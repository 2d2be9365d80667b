// The session table: binding, conflicts, presence priority and unbinding.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "server/routing/session_registry.hpp"

using parley::protocol::Jid;
using parley::server::routing::SessionRef;
using parley::server::routing::SessionRegistry;

namespace {
Jid jid(const char* s) { return *Jid::parse(s); }
SessionRef ref(boost::asio::io_context& io, std::uint64_t id) { return SessionRef{{}, io.get_executor(), id}; }
}  // namespace

TEST_CASE("session registry: bind, find and unbind one resource") {
    boost::asio::io_context io;
    SessionRegistry reg;
    CHECK_FALSE(reg.bind(jid("alice@example.org/phone"), ref(io, 1)).has_value());
    CHECK(reg.size() == 1);
    auto found = reg.find(jid("Alice@Example.org/phone"));
    REQUIRE(found.has_value());
    CHECK(found->id == 1);
    CHECK_FALSE(reg.find(jid("alice@example.org/laptop")).has_value());
    reg.unbind(jid("alice@example.org/phone"), 1);
    CHECK(reg.size() == 0);
    CHECK_FALSE(reg.find(jid("alice@example.org/phone")).has_value());
}

TEST_CASE("session registry: a second bind of the same resource displaces the first") {
    boost::asio::io_context io;
    SessionRegistry reg;
    reg.bind(jid("alice@example.org/phone"), ref(io, 1));
    auto old = reg.bind(jid("alice@example.org/phone"), ref(io, 2));
    REQUIRE(old.has_value());
    CHECK(old->id == 1);
    CHECK(reg.size() == 1);
    // The displaced session's late unbind must not remove the new one.
    reg.unbind(jid("alice@example.org/phone"), 1);
    REQUIRE(reg.find(jid("alice@example.org/phone")).has_value());
    CHECK(reg.find(jid("alice@example.org/phone"))->id == 2);
}

TEST_CASE("session registry: presence sets availability and priority per session") {
    boost::asio::io_context io;
    SessionRegistry reg;
    reg.bind(jid("bob@example.org/a"), ref(io, 1));
    reg.bind(jid("bob@example.org/b"), ref(io, 2));
    reg.set_presence(jid("bob@example.org/a"), 1, true, 5);
    reg.set_presence(jid("bob@example.org/b"), 99, true, 7);  // wrong session id: ignored
    auto entries = reg.resources(jid("bob@example.org"));
    REQUIRE(entries.size() == 2);
    for (const auto& e : entries) {
        if (e.resource == "a") {
            CHECK(e.available);
            CHECK(e.priority == 5);
        } else {
            CHECK_FALSE(e.available);
            CHECK(e.priority == 0);
        }
    }
    CHECK(reg.resource_count(jid("bob@example.org")) == 2);
    CHECK(reg.all().size() == 2);
}
