#include "server/modules/csi/presence_hold.hpp"

namespace parley::server::modules::csi {

using protocol::xml::Element;

bool PresenceHold::hold(std::string sender, Element presence) {
    if (auto it = by_sender_.find(sender); it != by_sender_.end()) {
        // Moved to the back: the flush order is that of the latest updates.
        Entries::iterator entry = it->second;
        by_sender_.erase(it);
        entries_.erase(entry);
    }
    entries_.emplace_back(std::move(sender), std::move(presence));
    auto last = std::prev(entries_.end());
    by_sender_.emplace(std::string_view(last->first), last);
    return entries_.size() <= limit_;
}

std::optional<Element> PresenceHold::take(std::string_view sender) {
    auto it = by_sender_.find(sender);
    if (it == by_sender_.end()) return std::nullopt;
    Entries::iterator entry = it->second;
    by_sender_.erase(it);
    Element presence = std::move(entry->second);
    entries_.erase(entry);
    return presence;
}

std::vector<Element> PresenceHold::take_all() {
    std::vector<Element> out;
    out.reserve(entries_.size());
    for (auto& [sender, presence] : entries_) out.push_back(std::move(presence));
    by_sender_.clear();
    entries_.clear();
    return out;
}

}  // namespace parley::server::modules::csi
