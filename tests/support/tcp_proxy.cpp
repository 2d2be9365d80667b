#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace parley::test {

std::string postgres_socket_path() {
    const char* host = std::getenv("PGHOST");
    const char* port = std::getenv("PGPORT");
    return std::string(host ? host : "/var/run/postgresql") + "/.s.PGSQL." + (port ? port : "5432");
}

TcpProxy::TcpProxy(std::string unix_socket_path) : target_(std::move(unix_socket_path)) {
    if (pipe(wake_) != 0) throw std::runtime_error("pipe failed");
    listen_on(0);
    thread_ = std::thread([this] { run(); });
}

TcpProxy::~TcpProxy() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    (void)!write(wake_[1], "x", 1);
    thread_.join();
    for (auto [a, b] : pairs_) {
        close(a);
        close(b);
    }
    if (listen_fd_ >= 0) close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
}

void TcpProxy::listen_on(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 64) != 0) {
        close(fd);
        throw std::runtime_error(std::string("proxy listen failed: ") + std::strerror(errno));
    }
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen_fd_ = fd;
}

void TcpProxy::cut() {
    std::lock_guard lock(mutex_);
    for (auto [a, b] : pairs_) {
        shutdown(a, SHUT_RDWR);
        close(a);
        close(b);
    }
    pairs_.clear();
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
    (void)!write(wake_[1], "x", 1);
}

void TcpProxy::restore() {
    std::lock_guard lock(mutex_);
    if (listen_fd_ < 0) listen_on(port_);
    (void)!write(wake_[1], "x", 1);
}

void TcpProxy::run() {
    char buf[65536];
    for (;;) {
        std::vector<pollfd> fds;
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return;
            fds.push_back({wake_[0], POLLIN, 0});
            if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
            for (auto [a, b] : pairs_) {
                fds.push_back({a, POLLIN, 0});
                fds.push_back({b, POLLIN, 0});
            }
        }
        if (poll(fds.data(), fds.size(), 200) <= 0) continue;
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        if (fds[0].revents & POLLIN) {
            (void)!read(wake_[0], buf, sizeof buf);
            continue;  // the sets changed: poll again with the current ones
        }
        for (const pollfd& p : fds) {
            if (!p.revents) continue;
            if (p.fd == listen_fd_) {
                int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
                if (client < 0) continue;
                int upstream = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                sockaddr_un addr{};
                addr.sun_family = AF_UNIX;
                std::strncpy(addr.sun_path, target_.c_str(), sizeof addr.sun_path - 1);
                if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                    close(client);
                    close(upstream);
                    continue;
                }
                pairs_.emplace_back(client, upstream);
                continue;
            }
            for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
                if (p.fd != it->first && p.fd != it->second) continue;
                const int other = p.fd == it->first ? it->second : it->first;
                ssize_t n = read(p.fd, buf, sizeof buf);
                bool ok = n > 0;
                for (ssize_t off = 0; ok && off < n;) {
                    ssize_t w = write(other, buf + off, static_cast<std::size_t>(n - off));
                    if (w <= 0) ok = false;
                    else off += w;
                }
                if (!ok) {
                    close(it->first);
                    close(it->second);
                    pairs_.erase(it);
                }
                break;
            }
        }
    }
}

}  // namespace parley::test
