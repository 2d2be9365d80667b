#pragma once
// Lets a coroutine wait until a number of spawned tasks have finished (one thread).
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace parley::bench {

class WaitGroup {
public:
    explicit WaitGroup(boost::asio::any_io_executor ex) : timer_(ex) {}
    void add(int n = 1) { count_ += n; }
    void done() {
        if (--count_ == 0) timer_.cancel();
    }
    boost::asio::awaitable<void> wait() {
        while (count_ > 0) {
            // The timer never fires by itself: done() cancels it to wake us.
            timer_.expires_at(boost::asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        }
    }

private:
    boost::asio::steady_timer timer_;
    int count_ = 0;
};

}  // namespace parley::bench
