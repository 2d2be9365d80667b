#pragma once
// N single-threaded io_contexts, each run by one thread. A connection lives its whole
// life on one context, so session code needs no locks.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace parley::server::net {

class IoPool {
public:
    explicit IoPool(unsigned threads);
    ~IoPool();

    void start();  // runs each context on its own thread
    void stop();   // stops the contexts (pending handlers are dropped)
    void join();

    std::size_t size() const { return contexts_.size(); }
    boost::asio::io_context& next();  // round-robin, for new connections
    boost::asio::io_context& for_key(std::string_view key);  // stable owner of a key
    boost::asio::io_context& at(std::size_t i) { return *contexts_[i]; }
    // The context run by the calling thread; nullptr off the pool's threads.
    static boost::asio::io_context* current();

private:
    using Guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
    std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
    std::vector<Guard> guards_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace parley::server::net
