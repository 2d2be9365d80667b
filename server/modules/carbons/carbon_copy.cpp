#include "server/modules/carbons/carbon_copy.hpp"

#include "protocol/namespaces.hpp"

namespace parley::server::modules::carbons {

namespace ns = protocol::ns;
using protocol::xml::Element;

bool is_private(const Element& message) { return message.find_child("private", ns::carbons) != nullptr; }

bool is_eligible(const Element& message, Direction direction) {
    if (message.name() != "message") return false;
    const std::string_view type = message.attr("type");
    if (type == "chat") {
        // eligible below unless marked
    } else if (type.empty() || type == "normal") {
        if (!message.find_child("body", message.xmlns())) return false;
    } else {
        return false;  // groupchat, headline, error, anything unknown
    }
    if (is_private(message) || message.find_child("no-copy", ns::hints)) return false;
    // A carbon is never copied again, and a forged one from elsewhere is not spread.
    if (message.find_child("sent", ns::carbons) || message.find_child("received", ns::carbons)) return false;
    if (direction == Direction::received && message.find_child("x", ns::muc_user)) return false;
    return true;
}

Element make_carbon(Direction direction, const Element& message, const std::string& account,
                    const std::string& recipient) {
    Element copy("message", std::string(ns::client));
    copy.set_attr("from", account);
    copy.set_attr("to", recipient);
    const std::string_view type = message.attr("type");
    if (!type.empty()) copy.set_attr("type", std::string(type));
    Element& wrapper = copy.add_child(direction == Direction::sent ? "sent" : "received", std::string(ns::carbons));
    Element& forwarded = wrapper.add_child("forwarded", std::string(ns::forward));
    forwarded.add_child(message);
    return copy;
}

}  // namespace parley::server::modules::carbons
