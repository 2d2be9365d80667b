#include "server/routing/iq_tracker.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <stdexcept>

#include "server/net/io_pool.hpp"

namespace parley::server::routing {

std::string IqTracker::add(const protocol::Jid& to, std::chrono::milliseconds timeout, Callback cb) {
    auto* io = net::IoPool::current();
    if (!io) throw std::logic_error("iq request sent outside an I/O thread");
    std::string id;
    {
        std::lock_guard lock(mutex_);
        id = "s2c-" + std::to_string(++next_);
        pending_.emplace(id, Pending{to.to_string(), std::move(cb)});
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(*io, timeout);
    timer->async_wait([this, id, timer](boost::system::error_code) {
        if (auto cb = take(id, nullptr)) (*cb)(std::nullopt);
    });
    return id;
}

std::optional<IqTracker::Callback> IqTracker::take(const std::string& id, const std::string* from) {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return std::nullopt;
    if (from && *from != it->second.to) return std::nullopt;
    Callback cb = std::move(it->second.cb);
    pending_.erase(it);
    return cb;
}

bool IqTracker::complete(const protocol::Jid& from, const protocol::xml::Element& answer) {
    const std::string* id = answer.find_attr("id");
    if (!id || id->rfind("s2c-", 0) != 0) return false;
    const std::string sender = from.to_string();
    auto cb = take(*id, &sender);
    if (!cb) return false;
    (*cb)(answer);
    return true;
}

void IqTracker::fail(const std::string& id) {
    if (auto cb = take(id, nullptr)) (*cb)(std::nullopt);
}

std::size_t IqTracker::pending() const {
    std::lock_guard lock(mutex_);
    return pending_.size();
}

}  // namespace parley::server::routing
