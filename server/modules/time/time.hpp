#pragma once
// XEP-0202: Entity Time, for the server itself. The server always reports UTC
// (tzo +00:00): its local zone says nothing useful to users and leaks where it runs.
// Queries to accounts are for their clients to answer.
#include <chrono>
#include <string>

#include "server/modules/module.hpp"

namespace parley::server::modules {

class EntityTime final : public Module {
public:
    std::string_view name() const override { return "time"; }
    void start(ModuleContext& ctx) override;
};

// XEP-0082 DateTime in UTC with milliseconds: "2026-11-28T02:51:43.123Z".
std::string xep0082_utc(std::chrono::system_clock::time_point t);

}  // namespace parley::server::modules
