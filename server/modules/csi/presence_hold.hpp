#pragma once
// XEP-0352's "hold presence while inactive": the latest presence per sender, kept in
// the order the latest ones arrived. Owned by one session: call on its thread only.
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol/xml/element.hpp"

namespace parley::server::modules::csi {

class PresenceHold {
public:
    explicit PresenceHold(std::size_t limit) : limit_(limit) {}

    // Keeps `presence` from `sender` (a full JID), replacing what that sender had held
    // before. True while the hold is within its limit; false: the caller should flush.
    bool hold(std::string sender, protocol::xml::Element presence);
    // The held presence of `sender`, removed; nullopt when there is none.
    std::optional<protocol::xml::Element> take(std::string_view sender);
    // Everything held, oldest first, and the hold is empty again.
    std::vector<protocol::xml::Element> take_all();

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

private:
    using Entries = std::list<std::pair<std::string, protocol::xml::Element>>;
    std::size_t limit_;
    Entries entries_;
    // Keys view the sender strings inside entries_, which std::list never moves.
    std::unordered_map<std::string_view, Entries::iterator> by_sender_;
};

}  // namespace parley::server::modules::csi
