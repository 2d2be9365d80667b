#pragma once
// Iq requests addressed to the server or answered on behalf of an account, keyed by
// (type, payload namespace, scope): exactly one owner per key. Handlers are awaitable
// (they may read storage); the dispatcher sends the result or error.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>

#include "protocol/errors.hpp"
#include "server/routing/stanza.hpp"

namespace parley::server::routing {

class Router;

enum class IqType { get, set };
enum class IqScope {
    server,   // to the domain itself
    account,  // to a local account's bare JID (or no 'to'): answered by the server
};

// The payload child of the result (nullopt: an empty result), or an error.
using IqResult = std::variant<std::optional<protocol::xml::Element>, protocol::StanzaError>;
using IqHandler = std::function<boost::asio::awaitable<IqResult>(const Stanza&)>;

class IqDispatcher {
public:
    // Throws std::logic_error if the key already has an owner.
    void add(IqType type, std::string xmlns, IqScope scope, IqHandler handler);
    // True when a handler took the iq (moved from `iq`; it answers later); false:
    // nobody handles it and `iq` is untouched.
    bool dispatch(Stanza& iq, IqScope scope, Router& router);

private:
    std::map<std::tuple<IqType, std::string, IqScope>, IqHandler, std::less<>> handlers_;
};

// The result iq for `request` carrying `payload`.
protocol::xml::Element make_iq_result(const Stanza& request, std::optional<protocol::xml::Element> payload);

}  // namespace parley::server::routing
