#include "server/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace parley::server {

bool set_log_level(std::string_view level) {
    auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") return false;
    spdlog::set_level(lvl);
    return true;
}

bool init_logging(std::string_view level) {
    auto logger = spdlog::stderr_color_mt("parley");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
    spdlog::set_default_logger(logger);
    return set_log_level(level);
}

}  // namespace parley::server
