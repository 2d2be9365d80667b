// parleyd: the Parley XMPP server. Runs in the foreground and logs to stderr.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "server/config.hpp"
#include "server/log.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
    // OpenSSL writes to client sockets itself: a peer that vanished must give EPIPE,
    // not end the process.
    std::signal(SIGPIPE, SIG_IGN);
    std::string config_path = "conf/parley.toml";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--config" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (arg == "--help" || arg == "-h") {
            std::cout << "usage: parleyd [--config FILE]   (default conf/parley.toml)\n";
            return 0;
        } else {
            std::cerr << "parleyd: unknown argument '" << arg << "' (try --help)\n";
            return 2;
        }
    }
    parley::server::Config config;
    try {
        config = parley::server::load_config(config_path);
    } catch (const parley::server::ConfigError& e) {
        std::cerr << "parleyd: config error: " << e.what() << "\n";
        return 1;
    }
    parley::server::init_logging(config.log.level);
    spdlog::info("starting config={}", config.file.string());
    try {
        parley::server::Server server(std::move(config));
        return server.run();
    } catch (const std::exception& e) {
        spdlog::critical("startup_failed error={}", e.what());
        return 1;
    }
}
