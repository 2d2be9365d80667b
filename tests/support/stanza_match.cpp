#include "support/stanza_match.hpp"

#include "protocol/namespaces.hpp"
#include "protocol/xml/stream_parser.hpp"

namespace parley::test {
namespace ns = protocol::ns;
namespace {

class FirstStanza : public protocol::xml::StreamParser::Handler {
public:
    void on_stream_open(protocol::xml::StreamHeader) override {}
    void on_stanza(Element stanza) override {
        if (!stanza_) stanza_ = std::move(stanza);
    }
    void on_stream_close() override {}
    std::optional<Element> stanza_;
};

}  // namespace

std::optional<Element> parse_fragment(std::string_view xml) {
    FirstStanza handler;
    protocol::xml::ParserLimits limits;
    limits.max_stanza_bytes = 64 * 1024 * 1024;
    limits.max_depth = 1000;
    limits.max_attributes = 1000;
    protocol::xml::StreamParser parser(handler, limits);
    std::string doc =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "version='1.0'>";
    doc += xml;
    if (parser.feed(doc)) return std::nullopt;
    return std::move(handler.stanza_);
}

std::string to_xml(const Element& el) { return protocol::xml::to_string(el, ns::client); }

bool is_stream_error(const Element& el) {
    return el.name() == "error" && el.xmlns() == ns::stream;
}

std::string stream_error_condition(const Element& el) {
    if (!is_stream_error(el)) return {};
    for (const auto& child : el.children()) {
        if (!child.is_text() && child.xmlns() == ns::streams_errors && child.name() != "text") {
            return child.name();
        }
    }
    return {};
}

std::string stanza_error_condition(const Element& el) {
    const Element* error = el.find_child("error");
    if (!error) return {};
    for (const auto& child : error->children()) {
        if (!child.is_text() && child.xmlns() == ns::stanzas_errors && child.name() != "text") {
            return child.name();
        }
    }
    return {};
}

std::string stanza_error_type(const Element& el) {
    const Element* error = el.find_child("error");
    return error ? std::string(error->attr("type")) : std::string();
}

std::string sasl_failure_condition(const Element& el) {
    if (el.name() != "failure" || el.xmlns() != ns::sasl) return {};
    for (const auto& child : el.children()) {
        if (!child.is_text() && child.name() != "text") return child.name();
    }
    return {};
}

Match any_stanza() {
    return [](const Element&) { return true; };
}

Match named(std::string name, std::string xmlns) {
    return [name = std::move(name), xmlns = std::move(xmlns)](const Element& el) {
        return el.name() == name && (xmlns.empty() || el.xmlns() == xmlns);
    };
}

Match iq_reply_to(std::string id) {
    return [id = std::move(id)](const Element& el) {
        return el.name() == "iq" && el.attr("id") == id &&
               (el.attr("type") == "result" || el.attr("type") == "error");
    };
}

Match message_with_body(std::string body) {
    return [body = std::move(body)](const Element& el) {
        return el.name() == "message" && el.child_text("body") == body;
    };
}

Match message_from(std::string from) {
    return [from = std::move(from)](const Element& el) {
        return el.name() == "message" && el.attr("from") == from;
    };
}

Match presence() { return named("presence"); }

Match both(Match a, Match b) {
    return [a = std::move(a), b = std::move(b)](const Element& el) { return a(el) && b(el); };
}

}  // namespace parley::test
