#pragma once
// JIDs per RFC 7622: localpart PRECIS UsernameCaseMapped, domainpart IDNA2008
// (U-labels, lower case, trailing dot removed) or an IP literal, resourcepart PRECIS
// OpaqueString; each part at most 1023 octets. Parsing prepares every part, so two
// Jids compare equal exactly when they address the same entity.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace parley::protocol {

class Jid {
public:
    Jid() = default;

    // nullopt → the caller answers jid-malformed.
    static std::optional<Jid> parse(std::string_view text);
    static std::optional<Jid> from_parts(std::string_view local, std::string_view domain,
                                         std::string_view resource = {});

    // Each part alone; nullopt when it is invalid. An empty localpart/resourcepart is
    // invalid here (absence is expressed by not having the part).
    static std::optional<std::string> prep_localpart(std::string_view s);
    static std::optional<std::string> prep_domain(std::string_view s);
    static std::optional<std::string> prep_resource(std::string_view s);

    const std::string& local() const { return local_; }
    const std::string& domain() const { return domain_; }
    const std::string& resource() const { return resource_; }
    bool has_local() const { return !local_.empty(); }
    bool has_resource() const { return !resource_.empty(); }
    bool is_bare() const { return resource_.empty(); }
    bool empty() const { return domain_.empty(); }

    Jid bare() const;
    Jid with_resource(std::string resource) const;  // resource must already be prepared
    std::string to_string() const;    // local@domain/resource
    std::string bare_string() const;  // local@domain

    friend bool operator==(const Jid&, const Jid&) = default;

private:
    std::string local_, domain_, resource_;
};

}  // namespace parley::protocol

template <>
struct std::hash<parley::protocol::Jid> {
    std::size_t operator()(const parley::protocol::Jid& j) const noexcept {
        return std::hash<std::string>{}(j.to_string());
    }
};
