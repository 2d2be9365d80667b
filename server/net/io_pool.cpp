#include "server/net/io_pool.hpp"

#include <functional>

namespace parley::server::net {
namespace {
thread_local boost::asio::io_context* current_context = nullptr;
}

boost::asio::io_context* IoPool::current() { return current_context; }

IoPool::IoPool(unsigned threads) {
    if (threads == 0) threads = 1;
    for (unsigned i = 0; i < threads; ++i) {
        contexts_.push_back(std::make_unique<boost::asio::io_context>(1));
        guards_.emplace_back(contexts_.back()->get_executor());
    }
}

IoPool::~IoPool() {
    stop();
    join();
}

void IoPool::start() {
    for (auto& ctx : contexts_) {
        threads_.emplace_back([c = ctx.get()] {
            current_context = c;
            c->run();
        });
    }
}

void IoPool::stop() {
    guards_.clear();
    for (auto& ctx : contexts_) ctx->stop();
}

void IoPool::join() {
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

boost::asio::io_context& IoPool::next() {
    return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

boost::asio::io_context& IoPool::for_key(std::string_view key) {
    return *contexts_[std::hash<std::string_view>{}(key) % contexts_.size()];
}

}  // namespace parley::server::net
