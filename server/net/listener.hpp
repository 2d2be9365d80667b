#pragma once
// Accepts TCP connections on one address and hands each socket, already placed on an
// I/O context of the pool, to a callback.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <string>

#include "server/net/io_pool.hpp"

namespace parley::server::net {

class Listener {
public:
    using tcp = boost::asio::ip::tcp;
    using OnAccept = std::function<void(tcp::socket)>;

    // Binds and listens at once; throws std::system_error naming the address.
    Listener(boost::asio::io_context& accept_ctx, IoPool& pool, const std::string& address,
             std::uint16_t port, std::string name, OnAccept on_accept);
    void start();
    void stop();  // call on the accept context's thread
    std::uint16_t port() const { return port_; }

private:
    boost::asio::awaitable<void> accept_loop();

    tcp::acceptor acceptor_;
    IoPool& pool_;
    std::string name_;
    std::uint16_t port_;
    OnAccept on_accept_;
};

}  // namespace parley::server::net
