#pragma once
// A handle on a stream that lives on another thread: a weak pointer plus the executor
// that owns it. Nothing outside the stream's thread touches the stream itself.
#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <memory>

#include "protocol/errors.hpp"
#include "protocol/xml/element.hpp"

namespace parley::server::routing {

// What a stanza can be delivered to. Call only on the target's own executor.
class StanzaTarget {
public:
    virtual ~StanzaTarget() = default;
    virtual void deliver(protocol::xml::Element stanza) = 0;
    virtual void close_stream(protocol::StreamErrorCondition condition) = 0;
};

struct SessionRef {
    std::weak_ptr<StanzaTarget> target;
    boost::asio::any_io_executor executor;
    std::uint64_t id = 0;

    // Runs on the target's executor: inline when already there, queued otherwise.
    void deliver(protocol::xml::Element stanza) const;
    void close(protocol::StreamErrorCondition condition) const;
};

}  // namespace parley::server::routing
