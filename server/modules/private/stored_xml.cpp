#include "server/modules/private/stored_xml.hpp"

#include "protocol/xml/stream_parser.hpp"

namespace parley::server::modules {

using protocol::xml::Element;

namespace {

// The stream parser is the only namespace-aware XML reader we have; a stored element
// becomes the one "stanza" of a stream header written here.
struct FirstElement final : protocol::xml::StreamParser::Handler {
    std::optional<Element> element;
    int count = 0;
    void on_stream_open(protocol::xml::StreamHeader) override {}
    void on_stanza(Element el) override {
        if (++count == 1) element = std::move(el);
    }
    void on_stream_close() override {}
};

constexpr std::string_view stream_open =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
constexpr std::string_view stream_close = "</stream:stream>";

}  // namespace

std::string to_stored_xml(const Element& el) { return protocol::xml::to_string(el); }

std::optional<Element> parse_stored_xml(std::string_view xml) {
    FirstElement handler;
    // Generous limits: the text already passed the stanza limits when it was stored,
    // and those limits may since have been lowered. The stream header counts against
    // the byte limit too.
    protocol::xml::ParserLimits limits;
    limits.max_stanza_bytes = stream_open.size() + xml.size() + stream_close.size();
    limits.max_depth = 1024;
    limits.max_attributes = 1 << 16;
    protocol::xml::StreamParser parser(handler, limits);
    std::string text;
    text.reserve(stream_open.size() + xml.size() + stream_close.size());
    text.append(stream_open).append(xml).append(stream_close);
    if (parser.feed(text)) return std::nullopt;
    if (handler.count != 1) return std::nullopt;
    return std::move(handler.element);
}

}  // namespace parley::server::modules
