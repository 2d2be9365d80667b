// Hook chains run in priority order and stop where a handler says so.
#include <doctest/doctest.h>

#include <string>

#include "server/modules/hooks.hpp"

using namespace parley::server::modules;

namespace {
struct Event {
    std::string trace;
};
}  // namespace

TEST_CASE("hook chain: highest priority first, stop ends the chain") {
    HookChain<Event> chain;
    chain.add(priority::deliver, [](Event& e) { e.trace += "deliver;"; return HookResult::stop; });
    chain.add(priority::filter, [](Event& e) { e.trace += "filter;"; return HookResult::pass; });
    chain.add(priority::archive, [](Event& e) { e.trace += "archive;"; return HookResult::pass; });
    chain.add(-10, [](Event& e) { e.trace += "never;"; return HookResult::pass; });
    Event ev;
    CHECK(chain.run(ev) == HookResult::stop);
    CHECK(ev.trace == "filter;archive;deliver;");
}

TEST_CASE("hook chain: a filter can stop delivery") {
    HookChain<Event> chain;
    chain.add(priority::deliver, [](Event& e) { e.trace += "deliver;"; return HookResult::stop; });
    chain.add(priority::filter, [](Event& e) { e.trace += "blocked;"; return HookResult::stop; });
    Event ev;
    chain.run(ev);
    CHECK(ev.trace == "blocked;");
}
