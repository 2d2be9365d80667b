#pragma once
// Iq requests the server itself sends (to a client's full JID, or later to a remote
// entity), matched with their answers: caps verification asks a client for disco#info,
// offline delivery pings a client to learn that it received what came before.
// Thread-safe: a request may be answered on any I/O thread.
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "protocol/jid.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::routing {

class IqTracker {
public:
    // Called once: with the answer (type result or error), or nullopt when none came
    // in time or the target is gone. Runs on the thread that saw the answer or the timeout.
    using Callback = std::function<void(std::optional<protocol::xml::Element>)>;

    // Registers a request to `to` and returns the id to put on it. The timer runs on the
    // calling thread's io_context (an I/O thread).
    std::string add(const protocol::Jid& to, std::chrono::milliseconds timeout, Callback cb);
    // An iq result/error addressed to the server or to an account: true when it
    // answered one of our requests (it is consumed then). Only an answer from the JID
    // the request went to counts.
    bool complete(const protocol::Jid& from, const protocol::xml::Element& answer);
    // Gives up on a request (its callback gets nullopt), e.g. when it could not be sent.
    void fail(const std::string& id);

    std::size_t pending() const;

private:
    struct Pending {
        std::string to;
        Callback cb;
    };
    std::optional<Callback> take(const std::string& id, const std::string* from);

    mutable std::mutex mutex_;
    std::unordered_map<std::string, Pending> pending_;
    std::uint64_t next_ = 0;
};

}  // namespace parley::server::routing
