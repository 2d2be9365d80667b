#pragma once
// Chooses where a stanza goes by its destination (RFC 6120 §10): a local account, the
// server itself, or a remote domain. Callable from any I/O thread.
#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <memory>

#include "protocol/errors.hpp"
#include "server/config.hpp"
#include "server/modules/hooks.hpp"
#include "server/routing/iq_dispatcher.hpp"
#include "server/routing/iq_tracker.hpp"
#include "server/routing/session_registry.hpp"
#include "server/routing/stanza.hpp"

namespace parley::server::routing {

class Router {
public:
    Router(const Config& config, SessionRegistry& sessions, modules::Hooks& hooks, IqDispatcher& iq);

    // Routes a stanza whose 'from' is trusted. A missing 'to' means the sender's own
    // account for message and iq, and a broadcast for presence.
    void route(Stanza stanza);

    // Sends the error reply for `stanza` back to its sender, unless the stanza is
    // itself an error (RFC 6120 §8.3.1: never answer an error with an error).
    void bounce(const Stanza& stanza, protocol::StanzaError error);

    // Delivers to one bound local resource; false when it is not bound.
    bool deliver_to_resource(const protocol::Jid& full, protocol::xml::Element el);

    // Sends an iq request of the server's own (type get or set, one payload child) from
    // `from` (the domain or a local account) to `to` (a full JID, local or, with
    // federation, remote); `done` gets the answer (an error reply too), or nullopt on
    // timeout or when `to` is not reachable. Call on an I/O thread.
    void send_iq(protocol::xml::Element iq, const protocol::Jid& from, const protocol::Jid& to,
                 std::chrono::milliseconds timeout, IqTracker::Callback done);
    // send_iq as an asynchronous operation (co_await router.request(..., use_awaitable)):
    // completes on the caller's executor with std::optional<Element>.
    template <class Token>
    auto request(protocol::xml::Element iq, protocol::Jid from, protocol::Jid to, std::chrono::milliseconds timeout,
                 Token&& token) {
        return boost::asio::async_initiate<Token, void(std::optional<protocol::xml::Element>)>(
            [this](auto handler, protocol::xml::Element iq, protocol::Jid from, protocol::Jid to,
                   std::chrono::milliseconds timeout) {
                auto ex = boost::asio::get_associated_executor(handler);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                send_iq(std::move(iq), from, to, timeout, [ex, shared](std::optional<protocol::xml::Element> answer) {
                    boost::asio::post(ex, [shared, answer = std::move(answer)]() mutable {
                        (*shared)(std::move(answer));
                    });
                });
            },
            token, std::move(iq), std::move(from), std::move(to), timeout);
    }
    IqTracker& iq_tracker() { return tracker_; }

    // A service domain of ours without accounts (the MUC service, XEP-0045): every
    // stanza addressed to it or to a JID under it goes to `handler`, on the I/O thread
    // that routes it. Register before the I/O threads start.
    using ServiceHandler = std::function<void(Stanza)>;
    void add_service(std::string domain, ServiceHandler handler);

    // Where stanzas to domains that are neither ours nor our services go (federation,
    // s2s::S2sManager::send). Without one they bounce with remote-server-not-found.
    // Set before the I/O threads start.
    void set_remote(ServiceHandler handler) { remote_ = std::move(handler); }

    // Stanzas to `domain` can go somewhere: it is ours, or federation is on (a remote
    // server that cannot be reached then answers with an error).
    bool reaches(const std::string& domain) const { return remote_ || config_.is_local(domain); }
    // A host with accounts, or a service domain of ours.
    bool is_local_domain(const std::string& domain) const { return config_.is_local(domain); }
    SessionRegistry& sessions() { return sessions_; }

private:
    ServiceHandler* service_for(const std::string& domain);  // nullptr: not a service domain
    void route_to_server(Stanza stanza);
    void route_to_account(Stanza stanza);

    const Config& config_;
    SessionRegistry& sessions_;
    modules::Hooks& hooks_;
    IqDispatcher& iq_;
    IqTracker tracker_;
    std::vector<std::pair<std::string, ServiceHandler>> services_;
    ServiceHandler remote_;
};

}  // namespace parley::server::routing
