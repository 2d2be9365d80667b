#pragma once
// The whole server: owns the I/O pool, storage, TLS, the session table, the router,
// the modules and the listeners, and runs until SIGTERM/SIGINT. SIGHUP reloads the
// certificate and the log level.
#include <memory>

#include "server/config.hpp"

namespace parley::server {

class Server {
public:
    explicit Server(Config config);
    ~Server();
    // Blocks until a shutdown signal; returns the process exit code.
    int run();

private:
    struct State;
    Config config_;
    std::unique_ptr<State> state_;
};

}  // namespace parley::server
