#pragma once
// Incremental XMPP stream reader over expat (namespace-aware). Feeds of any size,
// down to one byte, give the same events. Stanzas are assembled at depth 1.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errors.hpp"
#include "protocol/xml/element.hpp"

namespace parley::protocol::xml {

struct StreamHeader {
    std::string to, from, id, version, lang;
    std::string content_namespace;  // the default namespace: "jabber:client", ...
    std::string stream_prefix;      // "stream" normally
};

struct ParserLimits {
    std::size_t max_stanza_bytes = 262144;  // bytes of one depth-1 element
    std::size_t max_depth = 32;             // element nesting inside a stanza
    std::size_t max_attributes = 64;        // per element
};

class StreamParser {
public:
    class Handler {
    public:
        virtual ~Handler() = default;
        virtual void on_stream_open(StreamHeader header) = 0;
        virtual void on_stanza(Element stanza) = 0;
        virtual void on_stream_close() = 0;
    };

    StreamParser(Handler& handler, ParserLimits limits);
    ~StreamParser();
    StreamParser(const StreamParser&) = delete;
    StreamParser& operator=(const StreamParser&) = delete;

    // Parses `data`, calling the handler for each event. On bad input returns the
    // stream error condition (not_well_formed, restricted_xml, policy_violation,
    // invalid_namespace, ...); the parser is then unusable until reset().
    // Limits exceeded → policy_violation. DOCTYPE, entity declarations, processing
    // instructions, comments → restricted_xml. Root not {stream ns}stream, or a
    // content namespace other than jabber:client / jabber:server → invalid_namespace.
    // Data after the stream's close tag is ignored. Handlers must not call feed().
    std::optional<StreamErrorCondition> feed(std::string_view data);

    // Starts a new stream (after STARTTLS or SASL success): forgets all state. Called
    // inside a handler callback it acts like stop() and takes effect when feed() returns.
    void reset();

    // Frees the XML parser's memory while the stream waits between stanzas with no
    // partial input buffered (an idle connection); the next feed() rebuilds it from
    // the stream header's namespace declarations, invisibly to the handler. Returns
    // false (and does nothing) when the parser is not at such a point.
    bool hibernate();

    // May be called from inside a handler callback: no further events are delivered
    // from the current feed() (the rest of that data is discarded), and later feeds
    // do nothing until reset().
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace parley::protocol::xml
