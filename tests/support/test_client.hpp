#pragma once
// An XMPP client for scenes (alice, bob, carol) on top of libstrophe, the way a real
// client library sees the server. Every TestClient of a thread shares one libstrophe
// context, so waiting on any of them keeps all of them moving (alice's queued stanzas
// are written while the test waits for bob to receive them). Call from one thread only.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/server_process.hpp"
#include "support/stanza_match.hpp"

typedef struct _xmpp_conn_t xmpp_conn_t;
typedef struct _xmpp_stanza_t xmpp_stanza_t;

namespace parley::test {

using namespace std::chrono_literals;

struct ConnectOptions {
    bool direct_tls = false;  // XEP-0368 port instead of STARTTLS
};

struct ReceivedStanza {
    std::string xml;                 // as libstrophe printed it
    std::optional<Element> element;  // parsed (nullopt if that failed)
    bool taken = false;              // returned by a wait_for already
};

class TestClient {
public:
    explicit TestClient(const ServerProcess& server, std::string name = {});
    // A client of another server (a federation peer such as Prosody) whose STARTTLS c2s
    // port is 127.0.0.1:c2s_port; direct TLS is then not available.
    explicit TestClient(std::uint16_t c2s_port, std::string name = {});
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    // Starts connecting as `jid` ("alice@localhost/phone"; no resource = the server
    // picks one). False when libstrophe refuses to start.
    bool connect(std::string_view jid, std::string_view password, ConnectOptions options = {});
    // True once the session is established (TLS, SASL, bind); false on failure or timeout.
    bool wait_connected(std::chrono::milliseconds timeout = 10s);
    // connect + wait_connected.
    bool login(std::string_view jid, std::string_view password, ConnectOptions options = {});

    bool is_connected() const { return connected_ && !disconnected_; }
    bool is_disconnected() const { return disconnected_; }
    bool wait_disconnected(std::chrono::milliseconds timeout = 10s);
    // The condition of the stream error that ended the connection ("conflict").
    const std::optional<std::string>& stream_error() const { return stream_error_; }
    const std::string& bound_jid() const { return bound_jid_; }
    const std::string& name() const { return name_; }

    // Queues and then flushes (bounded) everything libstrophe has to send.
    void send(std::string_view xml);
    void send(const Element& stanza);
    void send(xmpp_stanza_t* stanza);
    bool flush(std::chrono::milliseconds timeout = 5s);

    // The first received stanza matching, not returned before; marks it taken.
    std::optional<Element> wait_for(const Match& match, std::chrono::milliseconds timeout = 5s);
    // Waits until `count` stanzas (taken or not) match.
    bool wait_count(const Match& match, std::size_t count, std::chrono::milliseconds timeout = 10s);
    // Sends an iq (an id is added when it has none) and waits for its result or error.
    std::optional<Element> request(Element iq, std::chrono::milliseconds timeout = 5s);
    // Sends available presence, with a priority when given.
    void send_presence(std::optional<int> priority = std::nullopt);

    std::size_t count(const Match& match) const;
    const std::vector<ReceivedStanza>& received() const { return received_; }

    // Ends the stream (</stream:stream>) and waits until the connection is closed.
    void disconnect(std::chrono::milliseconds timeout = 5s);

    // Runs every client's event loop for one short step.
    static void run_once();

private:
    friend struct ClientCallbacks;
    template <class Done>
    bool run_until(Done done, std::chrono::milliseconds timeout);

    std::uint16_t port_ = 0, direct_tls_port_ = 0;  // 127.0.0.1
    std::string name_;
    xmpp_conn_t* conn_ = nullptr;
    bool connected_ = false, disconnected_ = false;
    std::optional<std::string> stream_error_;
    std::string bound_jid_;
    std::vector<ReceivedStanza> received_;
    unsigned next_id_ = 1;
};

}  // namespace parley::test
