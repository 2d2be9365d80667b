// XEP-0191 blocklists in memory: XEP-0016's JID matching and the per-account list.
#include <doctest/doctest.h>

#include "server/modules/blocking/block_list.hpp"

using parley::protocol::Jid;
using parley::server::modules::blocking::BlockList;
using parley::server::modules::blocking::matches;

namespace {

Jid jid(std::string_view text) {
    auto j = Jid::parse(text);
    REQUIRE(j);
    return *j;
}

// matches() and the list's lookup must agree: the list is what the server uses.
bool list_blocks(std::string_view item, std::string_view other) {
    BlockList list;
    const Jid alice = jid("alice@localhost");
    list.add(alice, {jid(item).to_string()});
    const bool blocked = list.is_blocked(alice, jid(other));
    CHECK_MESSAGE(blocked == matches(jid(item), jid(other)), item << " vs " << other);
    return blocked;
}

}  // namespace

TEST_CASE("a domain item blocks the domain and everyone at it, not other domains") {
    CHECK(list_blocks("evil.example", "evil.example"));
    CHECK(list_blocks("evil.example", "mallory@evil.example"));
    CHECK(list_blocks("evil.example", "mallory@evil.example/laptop"));
    CHECK(list_blocks("evil.example", "evil.example/bot"));
    CHECK_FALSE(list_blocks("evil.example", "mallory@sub.evil.example"));
    CHECK_FALSE(list_blocks("evil.example", "evil.example@good.example"));
    CHECK_FALSE(list_blocks("evil.example", "bob@localhost"));
}

TEST_CASE("a bare JID item blocks every resource of that JID only") {
    CHECK(list_blocks("mallory@evil.example", "mallory@evil.example"));
    CHECK(list_blocks("mallory@evil.example", "mallory@evil.example/phone"));
    CHECK(list_blocks("Mallory@Evil.Example", "mallory@evil.example/laptop"));  // prepared
    CHECK_FALSE(list_blocks("mallory@evil.example", "eve@evil.example"));
    CHECK_FALSE(list_blocks("mallory@evil.example", "evil.example"));
    CHECK_FALSE(list_blocks("mallory@evil.example", "mallory@other.example/phone"));
}

TEST_CASE("a full JID item blocks only that resource") {
    CHECK(list_blocks("mallory@evil.example/phone", "mallory@evil.example/phone"));
    CHECK_FALSE(list_blocks("mallory@evil.example/phone", "mallory@evil.example/laptop"));
    CHECK_FALSE(list_blocks("mallory@evil.example/phone", "mallory@evil.example"));
    CHECK_FALSE(list_blocks("mallory@evil.example/phone", "mallory@evil.example/Phone"));  // resources keep case
}

TEST_CASE("a domain/resource item blocks only that exact JID") {
    CHECK(list_blocks("evil.example/bot", "evil.example/bot"));
    CHECK_FALSE(list_blocks("evil.example/bot", "mallory@evil.example/bot"));
    CHECK_FALSE(list_blocks("evil.example/bot", "evil.example"));
    CHECK_FALSE(list_blocks("evil.example/bot", "evil.example/other"));
}

TEST_CASE("lists are per account and follow add, remove and clear") {
    BlockList list;
    const Jid alice = jid("alice@localhost");
    const Jid bob = jid("bob@localhost");
    const Jid mallory = jid("mallory@evil.example/x");
    CHECK_FALSE(list.is_blocked(alice, mallory));
    list.add(alice, {"mallory@evil.example", "spam.example"});
    list.add(alice, {"mallory@evil.example"});  // idempotent
    CHECK(list.items(alice) == std::vector<std::string>{"mallory@evil.example", "spam.example"});
    // The account may be given as a full JID.
    CHECK(list.is_blocked(jid("alice@localhost/phone"), mallory));
    CHECK_FALSE(list.is_blocked(bob, mallory));
    CHECK(list.items(bob).empty());

    list.remove(alice, {"mallory@evil.example", "not@there"});
    CHECK_FALSE(list.is_blocked(alice, mallory));
    CHECK(list.is_blocked(alice, jid("x@spam.example")));
    CHECK(list.account_count() == 1);
    list.clear(alice);
    CHECK(list.items(alice).empty());
    CHECK(list.account_count() == 0);
    CHECK_FALSE(list.is_blocked(alice, Jid{}));
}
