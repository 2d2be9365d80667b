#pragma once
// A TCP proxy on a loopback port in front of a Unix socket (the private PostgreSQL),
// so that a test can take the database away from one server process and give it back
// without disturbing the cluster other tests use. cut() closes every proxied
// connection and the listening socket (new connections are refused); restore()
// listens again on the same port.
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::test {

class TcpProxy {
public:
    explicit TcpProxy(std::string unix_socket_path);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    std::uint16_t port() const { return port_; }
    void cut();
    void restore();

private:
    void run();
    void listen_on(std::uint16_t port);

    std::string target_;
    std::uint16_t port_ = 0;
    std::mutex mutex_;
    int listen_fd_ = -1;
    int wake_[2] = {-1, -1};
    std::vector<std::pair<int, int>> pairs_;  // client fd, upstream fd
    bool stopping_ = false;
    std::thread thread_;
};

// The private cluster's Unix socket (from PGHOST and PGPORT).
std::string postgres_socket_path();

}  // namespace parley::test
