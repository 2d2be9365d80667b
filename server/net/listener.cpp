#include "server/net/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <system_error>

#include "server/log.hpp"

namespace parley::server::net {

namespace asio = boost::asio;

Listener::Listener(asio::io_context& accept_ctx, IoPool& pool, const std::string& address, std::uint16_t port,
                   std::string name, OnAccept on_accept)
    : acceptor_(accept_ctx), pool_(pool), name_(std::move(name)), on_accept_(std::move(on_accept)) {
    boost::system::error_code ec;
    const auto ip = asio::ip::make_address(address, ec);
    if (ec) throw std::runtime_error(name_ + ": not an IP address: " + address);
    const tcp::endpoint endpoint(ip, port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint, ec);
    if (ec) throw std::runtime_error(name_ + ": cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    spdlog::info("listening name={} address={} port={}", name_, address, port_);
}

void Listener::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void Listener::stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
}

asio::awaitable<void> Listener::accept_loop() {
    while (acceptor_.is_open()) {
        boost::system::error_code ec;
        tcp::socket socket = co_await acceptor_.async_accept(pool_.next(), asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
        if (ec) {
            // Out of file descriptors and the like: say so and pause instead of spinning.
            spdlog::warn("accept_failed name={} error={}", name_, ec.message());
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        socket.set_option(tcp::no_delay(true), ec);
        on_accept_(std::move(socket));
    }
}

}  // namespace parley::server::net
