#include "protocol/xml/element.hpp"

#include <algorithm>
#include <array>

namespace parley::protocol::xml {

Element::Element(std::string name, std::string xmlns)
    : name_(std::move(name)), xmlns_(std::move(xmlns)) {}

Element Element::text_node(std::string text) {
    Element el;
    el.text_ = std::move(text);
    return el;
}

const std::string* Element::find_attr(std::string_view name) const {
    for (const auto& a : attrs_) {
        if (a.name == name) return &a.value;
    }
    return nullptr;
}

std::string_view Element::attr(std::string_view name) const {
    const std::string* v = find_attr(name);
    return v ? std::string_view(*v) : std::string_view();
}

Element& Element::set_attr(std::string_view name, std::string value) {
    for (auto& a : attrs_) {
        if (a.name == name) {
            a.value = std::move(value);
            return *this;
        }
    }
    attrs_.push_back(Attribute{std::string(name), std::move(value)});
    return *this;
}

void Element::append_attr(std::string name, std::string value) {
    attrs_.push_back(Attribute{std::move(name), std::move(value)});
}

void Element::remove_attr(std::string_view name) {
    std::erase_if(attrs_, [&](const Attribute& a) { return a.name == name; });
}

Element& Element::add_child(Element child) {
    children_.push_back(std::move(child));
    return children_.back();
}

Element& Element::add_child(std::string name) {
    return add_child(Element(std::move(name), xmlns_));
}

Element& Element::add_child(std::string name, std::string xmlns) {
    return add_child(Element(std::move(name), std::move(xmlns)));
}

Element& Element::add_text(std::string text) {
    // Adjacent text nodes are merged so that a built tree equals its parsed copy.
    if (!children_.empty() && children_.back().is_text()) {
        children_.back().text_ += text;
    } else {
        children_.push_back(text_node(std::move(text)));
    }
    return *this;
}

Element& Element::append_text(std::string_view text) {
    if (!children_.empty() && children_.back().is_text()) {
        children_.back().text_.append(text);
    } else {
        children_.push_back(text_node(std::string(text)));
    }
    return *this;
}

namespace {
bool ns_matches(const Element& el, std::string_view name, std::string_view xmlns) {
    return !el.is_text() && el.name() == name && (xmlns.empty() || el.xmlns() == xmlns);
}
}  // namespace

const Element* Element::find_child(std::string_view name, std::string_view xmlns) const {
    for (const auto& c : children_) {
        if (ns_matches(c, name, xmlns)) return &c;
    }
    return nullptr;
}

Element* Element::find_child(std::string_view name, std::string_view xmlns) {
    for (auto& c : children_) {
        if (ns_matches(c, name, xmlns)) return &c;
    }
    return nullptr;
}

const Element* Element::find_child_ns(std::string_view xmlns) const {
    for (const auto& c : children_) {
        if (!c.is_text() && c.xmlns() == xmlns) return &c;
    }
    return nullptr;
}

const Element* Element::first_child_element() const {
    for (const auto& c : children_) {
        if (!c.is_text()) return &c;
    }
    return nullptr;
}

std::size_t Element::child_element_count() const {
    return static_cast<std::size_t>(
        std::count_if(children_.begin(), children_.end(), [](const Element& c) { return !c.is_text(); }));
}

void Element::remove_children(std::string_view name, std::string_view xmlns) {
    std::erase_if(children_, [&](const Element& c) { return ns_matches(c, name, xmlns); });
}

std::string Element::text() const {
    std::string out;
    for (const auto& c : children_) {
        if (c.is_text()) out += c.text_;
    }
    return out;
}

std::string Element::child_text(std::string_view name, std::string_view xmlns) const {
    const Element* c = find_child(name, xmlns);
    return c ? c->text() : std::string();
}

// ---- serializer -----------------------------------------------------------------

namespace {

// Replacement for each byte that needs escaping; nullptr for the rest. Text escapes
// \r too: a parser turns a literal \r into \n, so only a reference round-trips.
using EscapeTable = std::array<const char*, 256>;

constexpr EscapeTable make_table(bool attr) {
    EscapeTable t{};
    t['&'] = "&amp;";
    t['<'] = "&lt;";
    t['>'] = "&gt;";
    t['\r'] = "&#xD;";
    if (attr) {
        // Attribute-value normalization turns literal whitespace into spaces.
        t['\''] = "&apos;";
        t['"'] = "&quot;";
        t['\t'] = "&#x9;";
        t['\n'] = "&#xA;";
    }
    return t;
}

constexpr EscapeTable text_table = make_table(false);
constexpr EscapeTable attr_table = make_table(true);

void escape(std::string_view in, std::string& out, const EscapeTable& table) {
    std::size_t run_start = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char* rep = table[static_cast<unsigned char>(in[i])];
        if (rep == nullptr) continue;
        out.append(in.data() + run_start, i - run_start);
        out.append(rep);
        run_start = i + 1;
    }
    out.append(in.data() + run_start, in.size() - run_start);
}

bool is_stanza_namespace(std::string_view ns) {
    return ns == "jabber:client" || ns == "jabber:server";
}

// `in_scope` is the default namespace where `el` is written; `orig_scope` is the
// namespace its parent had in the tree. They differ only below a stanza moved between
// jabber:client and jabber:server: elements that inherited the stanza's namespace
// follow it, while an explicit jabber:client deeper down (a forwarded message) stays.
void write_element(const Element& el, std::string& out, std::string_view in_scope,
                   std::string_view orig_scope) {
    if (el.is_text()) {
        escape(el.text_content(), out, text_table);
        return;
    }
    // The stream namespace is bound to "stream:" by the stream header; the default
    // namespace in scope for the children does not change.
    const bool stream_prefixed = el.xmlns() == stream_namespace;
    out += '<';
    if (stream_prefixed) out += "stream:";
    out += el.name();
    std::string_view child_scope = in_scope;
    std::string_view child_orig = orig_scope;
    if (!stream_prefixed && !el.xmlns().empty() && el.xmlns() != orig_scope) {
        if (el.xmlns() != in_scope) {
            out += " xmlns='";
            escape(el.xmlns(), out, attr_table);
            out += '\'';
        }
        child_scope = el.xmlns();
        child_orig = el.xmlns();
    }
    for (const auto& a : el.attributes()) {
        out += ' ';
        out += a.name;
        out += "='";
        escape(a.value, out, attr_table);
        out += '\'';
    }
    if (el.children().empty()) {
        out += "/>";
        return;
    }
    out += '>';
    for (const auto& c : el.children()) write_element(c, out, child_scope, child_orig);
    out += "</";
    if (stream_prefixed) out += "stream:";
    out += el.name();
    out += '>';
}

}  // namespace

void serialize(const Element& el, std::string& out, std::string_view parent_xmlns) {
    // A stanza routed between c2s and s2s streams takes the stream's namespace.
    if (!el.is_text() && el.xmlns() != parent_xmlns && is_stanza_namespace(el.xmlns()) &&
        is_stanza_namespace(parent_xmlns)) {
        write_element(el, out, parent_xmlns, el.xmlns());
        return;
    }
    write_element(el, out, parent_xmlns, parent_xmlns);
}

std::string to_string(const Element& el, std::string_view parent_xmlns) {
    std::string out;
    out.reserve(256);
    serialize(el, out, parent_xmlns);
    return out;
}

void escape_text(std::string_view text, std::string& out) { escape(text, out, text_table); }
void escape_attr(std::string_view text, std::string& out) { escape(text, out, attr_table); }

}  // namespace parley::protocol::xml
