#include "support/test_client.hpp"

#include <cstdio>
#include <deque>
#include <mutex>

#include <doctest/doctest.h>
#include <strophe.h>

#include "support/test_failures.hpp"

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;

// The libstrophe context every TestClient of this thread shares, with a log of the
// last lines it wrote (printed when the test fails).
struct SharedContext {
    xmpp_ctx_t* ctx = nullptr;
    xmpp_log_t log{};
    std::deque<std::string> lines;
    int users = 0;
};

thread_local SharedContext g_shared;

void log_line(void* userdata, xmpp_log_level_t level, const char* area, const char* msg) {
    auto* shared = static_cast<SharedContext*>(userdata);
    static constexpr const char* names[] = {"debug", "info", "warn", "error"};
    shared->lines.push_back(std::string(names[level]) + " " + area + ": " + msg);
    if (shared->lines.size() > 400) shared->lines.pop_front();
}

xmpp_ctx_t* acquire_context() {
    static std::once_flag init;
    std::call_once(init, [] { xmpp_initialize(); });
    if (g_shared.users++ == 0) {
        g_shared.log.handler = log_line;
        g_shared.log.userdata = &g_shared;
        g_shared.ctx = xmpp_ctx_new(nullptr, &g_shared.log);
        g_shared.lines.clear();
    }
    return g_shared.ctx;
}

void release_context() {
    if (--g_shared.users > 0) return;
    if (current_test_failed() && !g_shared.lines.empty()) {
        std::fprintf(stderr, "---- libstrophe log (last %zu lines) ----\n", g_shared.lines.size());
        for (const auto& line : g_shared.lines) std::fprintf(stderr, "%s\n", line.c_str());
        std::fprintf(stderr, "---- end of libstrophe log ----\n");
    }
    xmpp_ctx_free(g_shared.ctx);
    g_shared.ctx = nullptr;
}

}  // namespace

struct ClientCallbacks {
    static void on_connection(xmpp_conn_t* conn, xmpp_conn_event_t event, int error,
                              xmpp_stream_error_t* stream_error, void* userdata) {
        auto* self = static_cast<TestClient*>(userdata);
        if (event == XMPP_CONN_CONNECT) {
            self->connected_ = true;
            if (const char* jid = xmpp_conn_get_bound_jid(conn)) self->bound_jid_ = jid;
            return;
        }
        if (event == XMPP_CONN_RAW_CONNECT) return;
        self->disconnected_ = true;
        if (stream_error && stream_error->stanza) {
            char* text = nullptr;
            size_t len = 0;
            if (xmpp_stanza_to_text(stream_error->stanza, &text, &len) == 0) {
                if (auto el = parse_fragment(std::string_view(text, len))) {
                    self->stream_error_ = stream_error_condition(*el);
                }
                xmpp_free(xmpp_conn_get_context(conn), text);
            }
        }
        if (stream_error && !self->stream_error_) self->stream_error_ = "unknown";
    }

    static int on_stanza(xmpp_conn_t* conn, xmpp_stanza_t* stanza, void* userdata) {
        auto* self = static_cast<TestClient*>(userdata);
        char* text = nullptr;
        size_t len = 0;
        if (xmpp_stanza_to_text(stanza, &text, &len) != 0) return 1;
        ReceivedStanza r;
        r.xml.assign(text, len);
        xmpp_free(xmpp_conn_get_context(conn), text);
        r.element = parse_fragment(r.xml);
        self->received_.push_back(std::move(r));
        return 1;  // keep the handler
    }
};

TestClient::TestClient(const ServerProcess& server, std::string name)
    : port_(server.port()), direct_tls_port_(server.direct_tls_port()), name_(std::move(name)) {
    conn_ = xmpp_conn_new(acquire_context());
}

TestClient::TestClient(std::uint16_t c2s_port, std::string name) : port_(c2s_port), name_(std::move(name)) {
    conn_ = xmpp_conn_new(acquire_context());
}

TestClient::~TestClient() {
    if (connected_ && !disconnected_) {
        xmpp_disconnect(conn_);
        run_until([&] { return disconnected_; }, 2s);
    }
    xmpp_conn_release(conn_);
    release_context();
}

void TestClient::run_once() {
    if (g_shared.ctx) xmpp_run_once(g_shared.ctx, 10);
}

template <class Done>
bool TestClient::run_until(Done done, std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() >= deadline) return false;
        run_once();
    }
    return true;
}

bool TestClient::connect(std::string_view jid, std::string_view password, ConnectOptions options) {
    long flags = XMPP_CONN_FLAG_TRUST_TLS | XMPP_CONN_FLAG_MANDATORY_TLS | XMPP_CONN_FLAG_DISABLE_SM;
    if (options.direct_tls) flags |= XMPP_CONN_FLAG_LEGACY_SSL;
    xmpp_conn_set_flags(conn_, flags);
    xmpp_conn_set_jid(conn_, std::string(jid).c_str());
    xmpp_conn_set_pass(conn_, std::string(password).c_str());
    xmpp_handler_add(conn_, &ClientCallbacks::on_stanza, nullptr, nullptr, nullptr, this);
    std::uint16_t port = options.direct_tls ? direct_tls_port_ : port_;
    return xmpp_connect_client(conn_, "127.0.0.1", port, &ClientCallbacks::on_connection, this) ==
           XMPP_EOK;
}

bool TestClient::wait_connected(std::chrono::milliseconds timeout) {
    run_until([&] { return connected_ || disconnected_; }, timeout);
    return is_connected();
}

bool TestClient::login(std::string_view jid, std::string_view password, ConnectOptions options) {
    return connect(jid, password, options) && wait_connected();
}

bool TestClient::wait_disconnected(std::chrono::milliseconds timeout) {
    return run_until([&] { return disconnected_; }, timeout);
}

void TestClient::send(std::string_view xml) {
    xmpp_send_raw(conn_, xml.data(), xml.size());
    flush();
}

void TestClient::send(const Element& stanza) { send(to_xml(stanza)); }

void TestClient::send(xmpp_stanza_t* stanza) {
    xmpp_send(conn_, stanza);
    flush();
}

bool TestClient::flush(std::chrono::milliseconds timeout) {
    return run_until([&] { return disconnected_ || xmpp_conn_send_queue_len(conn_) == 0; }, timeout);
}

std::optional<Element> TestClient::wait_for(const Match& match, std::chrono::milliseconds timeout) {
    std::size_t checked = 0;
    std::optional<Element> found;
    run_until(
        [&] {
            for (; checked < received_.size(); ++checked) {
                auto& r = received_[checked];
                if (!r.taken && r.element && match(*r.element)) {
                    r.taken = true;
                    found = *r.element;
                    return true;
                }
            }
            return false;
        },
        timeout);
    return found;
}

bool TestClient::wait_count(const Match& match, std::size_t n, std::chrono::milliseconds timeout) {
    return run_until([&] { return count(match) >= n; }, timeout);
}

std::size_t TestClient::count(const Match& match) const {
    std::size_t n = 0;
    for (const auto& r : received_) {
        if (r.element && match(*r.element)) ++n;
    }
    return n;
}

std::optional<Element> TestClient::request(Element iq, std::chrono::milliseconds timeout) {
    std::string id(iq.attr("id"));
    if (id.empty()) {
        id = name_ + "-req-" + std::to_string(next_id_++);
        iq.set_attr("id", id);
    }
    send(iq);
    return wait_for(iq_reply_to(id), timeout);
}

void TestClient::send_presence(std::optional<int> priority) {
    std::string xml = "<presence>";
    if (priority) xml += "<priority>" + std::to_string(*priority) + "</priority>";
    xml += "</presence>";
    send(xml);
}

void TestClient::disconnect(std::chrono::milliseconds timeout) {
    if (!connected_ || disconnected_) return;
    xmpp_disconnect(conn_);
    run_until([&] { return disconnected_; }, timeout);
}

}  // namespace parley::test
