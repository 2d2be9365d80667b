#pragma once
// A small XML element tree for stanzas: elements with a namespace URI, qualified
// attribute names ("to", "xml:lang"), and children that are elements or text.
// A text node is an Element whose name is empty; its text is text_content().
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace parley::protocol::xml {

struct Attribute {
    std::string name;   // qualified: "to", "xml:lang"
    std::string value;  // unescaped
};

class Element {
public:
    Element() = default;
    explicit Element(std::string name, std::string xmlns = {});
    static Element text_node(std::string text);

    bool is_text() const { return name_.empty(); }
    const std::string& name() const { return name_; }
    const std::string& xmlns() const { return xmlns_; }
    void set_name(std::string name) { name_ = std::move(name); }
    void set_xmlns(std::string xmlns) { xmlns_ = std::move(xmlns); }
    const std::string& text_content() const { return text_; }  // text nodes only

    // Attributes. attr() returns "" when absent; find_attr() nullptr.
    std::string_view attr(std::string_view name) const;
    const std::string* find_attr(std::string_view name) const;
    bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
    Element& set_attr(std::string_view name, std::string value);  // replaces; returns *this
    void remove_attr(std::string_view name);
    const std::vector<Attribute>& attributes() const { return attrs_; }

    // Children. add_child(name) inherits this element's namespace.
    Element& add_child(Element child);  // returns the added child
    Element& add_child(std::string name);
    Element& add_child(std::string name, std::string xmlns);
    Element& add_text(std::string text);  // returns *this
    // Appends to the last child when it is a text node, else adds one; returns *this.
    // For the parser, which gets text in pieces (no temporary string per piece).
    Element& append_text(std::string_view text);
    // Adds an attribute without looking for an existing one of that name (the
    // parser's input is already free of duplicates).
    void append_attr(std::string name, std::string value);
    const std::vector<Element>& children() const { return children_; }
    std::vector<Element>& children() { return children_; }

    // First child element with this name and namespace (xmlns empty: any namespace).
    const Element* find_child(std::string_view name, std::string_view xmlns = {}) const;
    Element* find_child(std::string_view name, std::string_view xmlns = {});
    // First child element of any name in this namespace.
    const Element* find_child_ns(std::string_view xmlns) const;
    const Element* first_child_element() const;
    std::size_t child_element_count() const;
    void remove_children(std::string_view name, std::string_view xmlns);

    // Concatenated direct text children.
    std::string text() const;
    // text() of find_child(name, xmlns), "" when absent.
    std::string child_text(std::string_view name, std::string_view xmlns = {}) const;

private:
    std::string name_;
    std::string xmlns_;
    std::string text_;
    std::vector<Attribute> attrs_;
    std::vector<Element> children_;
};

// Namespace of the stream element; serialized with the "stream:" prefix and no
// declaration, since the stream header declares it.
inline constexpr std::string_view stream_namespace = "http://etherx.jabber.org/streams";

// Appends the XML of `el` to `out`. An xmlns declaration is written only where the
// element's namespace differs from its parent's; `parent_xmlns` is the namespace in
// scope where `el` is written (the stream's content namespace for a stanza, such as
// "jabber:client"). A top-level element in "jabber:client" or "jabber:server" written
// where the parent namespace is the other of the two takes the parent's: stanzas are
// routed between c2s and s2s streams without rewriting.
void serialize(const Element& el, std::string& out, std::string_view parent_xmlns = {});
std::string to_string(const Element& el, std::string_view parent_xmlns = {});

void escape_text(std::string_view text, std::string& out);  // & < >
void escape_attr(std::string_view text, std::string& out);  // & < > ' "

}  // namespace parley::protocol::xml
