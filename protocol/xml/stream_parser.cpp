// The XMPP stream reader: expat in namespace mode with triplets, so every name comes
// as "uri<SEP>local<SEP>prefix". Depth 0 is outside the stream, 1 inside <stream>,
// 2 and deeper inside a stanza, which is built in place as an Element tree.
//
// Data after </stream:stream> is ignored. After stop() (or an error) the rest of the
// current feed is discarded and later feeds do nothing until reset().
#include "protocol/xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <cassert>
#include <exception>
#include <utility>
#include <vector>

#include "protocol/namespaces.hpp"

namespace parley::protocol::xml {

namespace {

// Never valid in an XML 1.0 document, so it cannot occur inside a URI or a name.
constexpr char sep = '\x01';

struct ExpandedName {
    std::string_view uri, local, prefix;
};

ExpandedName split_name(const char* raw) {
    std::string_view s(raw);
    const auto first = s.find(sep);
    if (first == std::string_view::npos) return {{}, s, {}};
    ExpandedName n;
    n.uri = s.substr(0, first);
    s.remove_prefix(first + 1);
    const auto second = s.find(sep);
    if (second == std::string_view::npos) {
        n.local = s;
    } else {
        n.local = s.substr(0, second);
        n.prefix = s.substr(second + 1);
    }
    return n;
}

bool is_xml_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

StreamErrorCondition condition_for(XML_Error code) {
    switch (code) {
    case XML_ERROR_UNBOUND_PREFIX:
        return StreamErrorCondition::bad_namespace_prefix;
    case XML_ERROR_UNKNOWN_ENCODING:
    case XML_ERROR_INCORRECT_ENCODING:
        return StreamErrorCondition::unsupported_encoding;
    case XML_ERROR_NO_MEMORY:
        return StreamErrorCondition::resource_constraint;
    default:
        return StreamErrorCondition::not_well_formed;
    }
}

}  // namespace

struct StreamParser::Impl {
    Impl(Handler& h, ParserLimits l) : handler(h), limits(l) {
        parser = XML_ParserCreateNS("UTF-8", sep);
        configure();
    }
    ~Impl() {
        if (parser) XML_ParserFree(parser);
    }

    Handler& handler;
    ParserLimits limits;
    XML_Parser parser;

    // ---- per-stream state (cleared by clear_state) ----
    std::size_t depth = 0;
    bool opened = false;
    bool closed = false;
    bool halted = false;  // stop(), an error, or the stream's end: ignore callbacks
    std::optional<StreamErrorCondition> error;
    StreamHeader header;
    Element stanza;
    std::vector<Element*> open_elements;  // path from `stanza` to the innermost open element
    std::size_t ns_decls = 0;             // declarations on the element about to start
    long long fed = 0;                    // bytes given to expat since the stream began
    long long boundary = 0;               // where the bytes counted against the limit start
    // Namespace declarations on the stream element (prefix, uri), to replay after hibernation.
    std::vector<std::pair<std::string, std::string>> root_namespaces;
    std::string root_prefix;
    bool hibernated = false;
    bool replaying = false;  // feeding the stored stream header to a fresh expat parser

    // ---- feed bookkeeping ----
    bool in_feed = false;
    bool reset_pending = false;
    std::exception_ptr handler_exception;

    void configure() {
        XML_SetUserData(parser, this);
        XML_SetReturnNSTriplet(parser, XML_TRUE);
        XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
        // Without this expat may hold a complete stanza back until more bytes arrive.
        XML_SetReparseDeferralEnabled(parser, XML_FALSE);
        XML_SetElementHandler(parser, &Impl::on_start, &Impl::on_end);
        XML_SetCharacterDataHandler(parser, &Impl::on_text);
        XML_SetStartNamespaceDeclHandler(parser, &Impl::on_ns_decl);
        XML_SetXmlDeclHandler(parser, &Impl::on_xml_decl);
        XML_SetStartDoctypeDeclHandler(parser, &Impl::on_doctype);
        XML_SetEntityDeclHandler(parser, &Impl::on_entity_decl);
        XML_SetProcessingInstructionHandler(parser, &Impl::on_pi);
        XML_SetCommentHandler(parser, &Impl::on_comment);
    }

    void clear_state() {
        depth = 0;
        opened = closed = halted = false;
        error.reset();
        header = StreamHeader{};
        stanza = Element{};
        open_elements.clear();
        ns_decls = 0;
        fed = boundary = 0;
        root_namespaces.clear();
        root_prefix.clear();
        replaying = false;
    }

    void reset_now() {
        if (hibernated) {
            parser = XML_ParserCreateNS("UTF-8", sep);
            hibernated = false;
        }
        XML_ParserReset(parser, "UTF-8");
        configure();
        clear_state();
        reset_pending = false;
    }

    void halt() {
        if (halted) return;
        halted = true;
        if (in_feed) XML_StopParser(parser, XML_FALSE);
    }

    void fail(StreamErrorCondition c) {
        if (!error) error = c;
        halt();
    }

    // Handlers must not unwind through expat's C frames: keep the exception for feed().
    template <typename F>
    void deliver(F&& f) {
        try {
            f();
        } catch (...) {
            handler_exception = std::current_exception();
            halt();
        }
    }

    long long event_end() const {
        return XML_GetCurrentByteIndex(parser) + XML_GetCurrentByteCount(parser);
    }

    bool over_limit(long long end) const {
        return end - boundary > static_cast<long long>(limits.max_stanza_bytes);
    }

    static Impl& self(void* data) { return *static_cast<Impl*>(data); }

    // ---- expat callbacks ----

    static void on_ns_decl(void* data, const XML_Char* prefix, const XML_Char* uri) {
        Impl& s = self(data);
        if (s.halted) return;
        ++s.ns_decls;
        if (s.depth == 0 && prefix == nullptr) s.header.content_namespace = uri ? uri : "";
        if (s.depth == 0 && !s.replaying) s.root_namespaces.emplace_back(prefix ? prefix : "", uri ? uri : "");
    }

    static void on_start(void* data, const XML_Char* name, const XML_Char** atts) {
        Impl& s = self(data);
        if (s.halted) return;
        std::size_t attr_count = 0;
        while (atts[2 * attr_count] != nullptr) ++attr_count;
        const std::size_t decls = s.ns_decls;
        s.ns_decls = 0;
        // The stream header is bounded by its size only: it carries more declarations
        // than a stanza (xmlns, xmlns:stream, xmlns:db) and is read once.
        if (s.depth == 0) return s.open_stream(name, atts);
        if (attr_count + decls > s.limits.max_attributes) return s.fail(StreamErrorCondition::policy_violation);
        if (s.depth == 1) s.boundary = XML_GetCurrentByteIndex(s.parser);
        if (s.over_limit(s.event_end())) return s.fail(StreamErrorCondition::policy_violation);
        if (s.depth > s.limits.max_depth) return s.fail(StreamErrorCondition::policy_violation);

        const ExpandedName n = split_name(name);
        Element* el;
        if (s.depth == 1) {
            s.stanza = Element(std::string(n.local), std::string(n.uri));
            el = &s.stanza;
        } else {
            el = &s.open_elements.back()->add_child(Element(std::string(n.local), std::string(n.uri)));
        }
        s.open_elements.push_back(el);
        ++s.depth;
        for (std::size_t i = 0; i < attr_count; ++i) s.add_attribute(*el, atts[2 * i], atts[2 * i + 1]);
    }

    void add_attribute(Element& el, const char* raw_name, const char* value) {
        const ExpandedName n = split_name(raw_name);
        if (n.uri.empty()) {
            el.append_attr(std::string(n.local), value);
            return;
        }
        if (n.uri == ns::xml) {
            el.append_attr("xml:" + std::string(n.local), value);
            return;
        }
        // Rare: a namespaced attribute keeps "prefix:local"; its declaration is copied
        // onto the element so the serialized element stays well-formed on its own.
        std::string prefix(n.prefix);
        const std::string decl = "xmlns:" + prefix;
        if (const std::string* bound = el.find_attr(decl); bound == nullptr) {
            el.append_attr(decl, std::string(n.uri));
        }
        el.append_attr(prefix + ":" + std::string(n.local), value);
    }

    void open_stream(const char* name, const char** atts) {
        if (over_limit(event_end())) return fail(StreamErrorCondition::policy_violation);
        const ExpandedName n = split_name(name);
        if (n.uri != ns::stream || n.local != "stream") return fail(StreamErrorCondition::invalid_namespace);
        if (header.content_namespace != ns::client && header.content_namespace != ns::server) {
            return fail(StreamErrorCondition::invalid_namespace);
        }
        header.stream_prefix = std::string(n.prefix);
        for (std::size_t i = 0; atts[i] != nullptr; i += 2) {
            const ExpandedName a = split_name(atts[i]);
            std::string value(atts[i + 1]);
            if (a.uri.empty()) {
                if (a.local == "to") header.to = std::move(value);
                else if (a.local == "from") header.from = std::move(value);
                else if (a.local == "id") header.id = std::move(value);
                else if (a.local == "version") header.version = std::move(value);
            } else if (a.uri == ns::xml && a.local == "lang") {
                header.lang = std::move(value);
            }
        }
        depth = 1;
        opened = true;
        boundary = event_end();
        root_prefix = header.stream_prefix;
        if (!replaying) deliver([&] { handler.on_stream_open(std::move(header)); });
        header = StreamHeader{};
    }

    static void on_end(void* data, const XML_Char*) {
        Impl& s = self(data);
        if (s.halted) return;
        if (s.depth == 1) {
            s.depth = 0;
            s.closed = true;
            s.deliver([&] { s.handler.on_stream_close(); });
            s.halt();  // anything after the stream's end is ignored
            return;
        }
        if (s.over_limit(s.event_end())) return s.fail(StreamErrorCondition::policy_violation);
        s.open_elements.pop_back();
        --s.depth;
        if (s.depth == 1) {
            s.boundary = s.event_end();
            s.deliver([&] { s.handler.on_stanza(std::move(s.stanza)); });
            s.stanza = Element{};
        }
    }

    static void on_text(void* data, const XML_Char* text, int len) {
        Impl& s = self(data);
        if (s.halted) return;
        const std::string_view chunk(text, static_cast<std::size_t>(len));
        if (s.depth <= 1) {
            // Whitespace between stanzas is a keepalive; other text has no place here.
            if (!is_xml_space(chunk)) return s.fail(StreamErrorCondition::bad_format);
            s.boundary = s.event_end();
            return;
        }
        if (s.over_limit(s.event_end())) return s.fail(StreamErrorCondition::policy_violation);
        s.open_elements.back()->append_text(chunk);
    }

    static void on_xml_decl(void* data, const XML_Char*, const XML_Char* encoding, int) {
        Impl& s = self(data);
        if (s.halted) return;
        if (encoding != nullptr && !iequals(encoding, "UTF-8")) s.fail(StreamErrorCondition::unsupported_encoding);
    }

    // RFC 6120 §11.1: no DTDs, entity declarations, processing instructions or comments.
    static void restricted(void* data) {
        Impl& s = self(data);
        if (!s.halted) s.fail(StreamErrorCondition::restricted_xml);
    }
    static void on_doctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
        restricted(data);
    }
    static void on_entity_decl(void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*,
                               const XML_Char*, const XML_Char*, const XML_Char*) {
        restricted(data);
    }
    static void on_pi(void* data, const XML_Char*, const XML_Char*) { restricted(data); }
    static void on_comment(void* data, const XML_Char*) { restricted(data); }

    // ---- feeding ----

    // Between stanzas with nothing buffered, expat's state is only the open stream
    // element: free it, and rebuild it from the stored declarations on the next feed.
    bool hibernate() {
        if (hibernated || in_feed || halted || !opened || closed || depth != 1 || fed != boundary) return false;
        XML_ParserFree(parser);
        parser = nullptr;
        hibernated = true;
        return true;
    }

    void wake() {
        parser = XML_ParserCreateNS("UTF-8", sep);
        configure();
        hibernated = false;
        std::string open = "<" + (root_prefix.empty() ? std::string() : root_prefix + ":") + "stream";
        for (const auto& [prefix, uri] : root_namespaces) {
            open += prefix.empty() ? " xmlns='" : " xmlns:" + prefix + "='";
            escape_attr(uri, open);
            open += "'";
        }
        open += ">";
        replaying = true;
        depth = 0;
        opened = false;
        XML_Parse(parser, open.data(), static_cast<int>(open.size()), XML_FALSE);
        replaying = false;
        fed = boundary = static_cast<long long>(open.size());
    }

    std::optional<StreamErrorCondition> feed(std::string_view data) {
        assert(!in_feed && "StreamParser::feed is not reentrant");
        if (error) return error;
        if (hibernated && !data.empty()) wake();
        while (!data.empty() && !halted) {
            // XML_Parse takes an int length.
            const std::size_t n = std::min<std::size_t>(data.size(), 1u << 30);
            feed_chunk(data.substr(0, n));
            data.remove_prefix(n);
        }
        if (handler_exception) {
            auto e = std::exchange(handler_exception, nullptr);
            if (reset_pending) reset_now();
            std::rethrow_exception(e);
        }
        if (reset_pending) {
            reset_now();
            return std::nullopt;
        }
        return error;
    }

    void feed_chunk(std::string_view data) {
        in_feed = true;
        fed += static_cast<long long>(data.size());
        const XML_Status status = XML_Parse(parser, data.data(), static_cast<int>(data.size()), XML_FALSE);
        in_feed = false;
        if (status == XML_STATUS_ERROR) {
            if (!halted) fail(condition_for(XML_GetErrorCode(parser)));
            halted = true;
            return;
        }
        // Bytes expat holds for an unfinished tag or text count too, so a stanza that
        // never ends is refused once it passes the limit rather than buffered forever.
        if (!halted && !closed && over_limit(fed)) {
            fail(StreamErrorCondition::policy_violation);
        }
    }
};

StreamParser::StreamParser(Handler& handler, ParserLimits limits)
    : impl_(std::make_unique<Impl>(handler, limits)) {}

StreamParser::~StreamParser() = default;

std::optional<StreamErrorCondition> StreamParser::feed(std::string_view data) { return impl_->feed(data); }

void StreamParser::reset() {
    // Inside a callback expat is still on the stack: finish the feed first.
    if (impl_->in_feed) {
        impl_->reset_pending = true;
        impl_->halt();
        return;
    }
    impl_->reset_now();
}

void StreamParser::stop() { impl_->halt(); }

bool StreamParser::hibernate() { return impl_->hibernate(); }

}  // namespace parley::protocol::xml
