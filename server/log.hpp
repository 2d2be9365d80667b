#pragma once
// Logging: spdlog to stderr. Event name first, then fields: "session_bound jid=…".
#include <spdlog/spdlog.h>

#include <string_view>

namespace parley::server {
// Installs the stderr logger; returns false when `level` is not a level name.
bool init_logging(std::string_view level);
bool set_log_level(std::string_view level);
}  // namespace parley::server
