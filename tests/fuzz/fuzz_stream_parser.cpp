// libFuzzer target: the stream reader and the JID parser must never crash, hang or
// leak on any input, however it is split. Built with clang by scripts/fuzz; the same
// entry point replays the corpus in every test run (replay_main.cpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/jid.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace {

using namespace parley::protocol;

struct Sink : xml::StreamParser::Handler {
    std::size_t events = 0;
    void on_stream_open(xml::StreamHeader h) override {
        ++events;
        (void)Jid::parse(h.to);
        (void)Jid::parse(h.from);
    }
    void on_stanza(xml::Element stanza) override {
        ++events;
        (void)Jid::parse(stanza.attr("to"));
        std::string out;
        xml::serialize(stanza, out, "jabber:client");
    }
    void on_stream_close() override { ++events; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    // The first byte picks where the input is split, so that fragmentation is fuzzed too.
    const std::size_t split = data[0] % size;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    xml::ParserLimits limits;
    limits.max_stanza_bytes = 4096;
    limits.max_depth = 16;
    Sink sink;
    xml::StreamParser parser(sink, limits);
    const std::size_t cut = split < input.size() ? split : input.size();
    if (!parser.feed(input.substr(0, cut))) {
        parser.hibernate();  // a no-op unless between stanzas; then the rest wakes it
        (void)parser.feed(input.substr(cut));
    }
    return 0;
}
