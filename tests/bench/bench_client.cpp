#include "bench_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include <netinet/in.h>
#include <openssl/ssl.h>

#include "protocol/sasl/sasl.hpp"
#include "protocol/xml/element.hpp"

namespace parley::bench {

namespace asio = boost::asio;
using protocol::xml::Element;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view ns_tls = "urn:ietf:params:xml:ns:xmpp-tls";
constexpr std::string_view ns_sasl = "urn:ietf:params:xml:ns:xmpp-sasl";

[[noreturn]] void fail(const char* step, const std::string& detail) {
    throw std::runtime_error(std::string(step) + ": " + detail);
}

std::string sasl_text(const Element& el, const char* step) {
    auto raw = protocol::sasl::base64_decode(el.text());
    if (!raw) fail(step, "bad base64 from the server");
    return *raw;
}

}  // namespace

BenchClient::BenchClient(asio::io_context& io, asio::ssl::context& tls, const ServerAddress& server,
                         std::string localpart, std::string password, ScramKeyCache& keys)
    : server_(server),
      localpart_(std::move(localpart)),
      password_(std::move(password)),
      bare_jid_(localpart_ + "@" + server.domain),
      keys_(keys),
      stream_(io, tls),
      deadline_(io),
      close_wait_(io),
      parser_(*this, protocol::xml::ParserLimits{}) {}

BenchClient::~BenchClient() = default;

void BenchClient::on_stream_open(protocol::xml::StreamHeader) {}
void BenchClient::on_stream_close() { server_closed_ = true; }

void BenchClient::on_stanza(Element stanza) {
    // Nothing is dropped: without a handler (during login, or before the scenario set
    // one) the stanza waits in the inbox.
    if (handler_) handler_(stanza);
    else inbox_.push_back(std::move(stanza));
}

void BenchClient::open_stream() {
    std::string header =
        "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='";
    protocol::xml::escape_attr(server_.domain, header);
    header += "'>";
    send(std::move(header));
}

asio::awaitable<void> BenchClient::read_more(const char* step) {
    boost::system::error_code ec;
    std::size_t n = 0;
    if (tls_) {
        n = co_await stream_.async_read_some(asio::buffer(read_buf_), asio::redirect_error(asio::use_awaitable, ec));
    } else {
        n = co_await stream_.next_layer().async_read_some(asio::buffer(read_buf_),
                                                          asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) fail(step, "read: " + ec.message());
    if (auto err = parser_.feed(std::string_view(read_buf_, n))) fail(step, "the server's XML is not acceptable");
}

namespace {

void fail_on_stream_error(const Element& el, const char* step) {
    if (el.name() == "error" && el.xmlns() == protocol::xml::stream_namespace) {
        const Element* cond = el.first_child_element();
        fail(step, "stream error " + (cond ? cond->name() : std::string("?")));
    }
}

}  // namespace

asio::awaitable<Element> BenchClient::await_iq(std::string_view id, const char* step) {
    std::size_t scanned = 0;
    for (;;) {
        for (; scanned < inbox_.size(); ++scanned) {
            Element& el = inbox_[scanned];
            fail_on_stream_error(el, step);
            if (el.name() == "iq" && el.attr("id") == id) {
                Element reply = std::move(el);
                inbox_.erase(inbox_.begin() + static_cast<std::ptrdiff_t>(scanned));
                co_return reply;
            }
        }
        if (server_closed_) fail(step, "the server closed the stream");
        co_await read_more(step);
    }
}

asio::awaitable<Element> BenchClient::next_stanza(const char* step) {
    while (inbox_.empty()) {
        if (server_closed_) fail(step, "the server closed the stream");
        co_await read_more(step);
    }
    Element el = std::move(inbox_.front());
    inbox_.pop_front();
    fail_on_stream_error(el, step);
    co_return el;
}

asio::awaitable<void> BenchClient::connect() {
    boost::system::error_code ec;
    const tcp::endpoint ep(asio::ip::make_address(server_.host), server_.port);
    auto& sock = stream_.next_layer();
    if (!server_.source.empty()) {
        // One source address has about 28,000 ephemeral ports towards one server port;
        // more connections need more addresses (127.0.0.2, ...). IP_BIND_ADDRESS_NO_PORT
        // leaves the port to connect(), so ports are shared across destinations.
        sock.open(ep.protocol());
        const int one = 1;
        ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sock.bind(tcp::endpoint(asio::ip::make_address(server_.source), 0), ec);
        if (ec) fail("bind", server_.source + ": " + ec.message());
    }
    co_await sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) fail("connect", ec.message());
    sock.set_option(tcp::no_delay(true));
    open_ = true;
}

asio::awaitable<void> BenchClient::authenticate() {
    Element features = co_await next_stanza("features");
    const Element* mechs = features.find_child("mechanisms", ns_sasl);
    bool offered = false;
    if (mechs) {
        for (const auto& m : mechs->children()) offered = offered || m.text() == server_.mechanism;
    }
    if (!offered) fail("features", server_.mechanism + " not offered");

    const std::string auth = "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='" + server_.mechanism + "'>";
    if (server_.mechanism == "PLAIN") {
        std::string creds(1, '\0');  // authzid empty, then authcid NUL password (RFC 4616)
        creds.append(localpart_).push_back('\0');
        creds.append(password_);
        send(auth + protocol::sasl::base64_encode(creds) + "</auth>");
        Element outcome = co_await next_stanza("sasl");
        if (outcome.name() != "success") fail("sasl", "<" + outcome.name() + "/> to PLAIN");
        co_return;
    }
    const ScramHash hash = server_.mechanism == "SCRAM-SHA-1"     ? ScramHash::sha1
                           : server_.mechanism == "SCRAM-SHA-512" ? ScramHash::sha512
                                                                  : ScramHash::sha256;
    ScramClient scram(hash, localpart_, password_, keys_);
    send(auth + protocol::sasl::base64_encode(scram.client_first()) + "</auth>");
    Element challenge = co_await next_stanza("sasl");
    if (challenge.name() != "challenge") fail("sasl", "got <" + challenge.name() + "/> to auth");
    auto final_msg = scram.client_final(sasl_text(challenge, "sasl"));
    if (!final_msg) fail("sasl", "malformed server-first message");
    send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + protocol::sasl::base64_encode(*final_msg) +
         "</response>");
    Element outcome = co_await next_stanza("sasl");
    if (outcome.name() != "success") {
        const Element* cond = outcome.first_child_element();
        fail("sasl", "<" + outcome.name() + "/> " + (cond ? cond->name() : std::string()));
    }
    // Some servers put the server-final message in a last challenge (RFC 6120 §6.3.10
    // allows both); only the <success/> form is checked here.
    if (!outcome.text().empty() && !scram.verify_server_final(sasl_text(outcome, "sasl"))) {
        fail("sasl", "wrong server signature");
    }
}

asio::awaitable<void> BenchClient::login(std::chrono::milliseconds timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([this](boost::system::error_code ec) {
        if (!ec) abort();
    });
    boost::system::error_code ec;
    co_await connect();

    if (server_.plain) {
        open_stream();
    } else {
        if (!server_.direct_tls) {
            std::string header =
                "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='" + server_.domain + "'>"
                "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
            co_await asio::async_write(stream_.next_layer(), asio::buffer(header),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) fail("starttls", ec.message());
            Element features = co_await next_stanza("features");
            if (!features.find_child("starttls", ns_tls)) fail("features", "no <starttls/> offered");
            Element proceed = co_await next_stanza("starttls");
            if (proceed.name() != "proceed") fail("starttls", "got <" + proceed.name() + "/>");
            parser_.reset();
        }
        // SNI, as a real client sends it: some servers pick the certificate by it.
        SSL_set_tlsext_host_name(stream_.native_handle(), server_.domain.c_str());
        co_await stream_.async_handshake(asio::ssl::stream_base::client,
                                         asio::redirect_error(asio::use_awaitable, ec));
        if (ec) fail("tls", ec.message());
        tls_ = true;
        open_stream();
    }
    co_await authenticate();
    parser_.reset();

    open_stream();
    Element features = co_await next_stanza("features");
    if (!features.find_child("bind")) fail("features", "no <bind/> offered");
    send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
         "<resource>bench</resource></bind></iq>");
    // Only the steps before bind use next_stanza: until then the server sends nothing
    // but the replies. From bind on, other stanzas may come first and stay queued.
    Element bound = co_await await_iq("bind1", "bind");
    if (bound.attr("type") != "result") fail("bind", "type='" + std::string(bound.attr("type")) + "'");
    const Element* bind = bound.first_child_element();
    full_jid_ = bind ? bind->child_text("jid") : std::string();
    if (full_jid_.empty()) fail("bind", "no jid in the result");

    // Presence, then a ping: its reply comes after the server has handled the presence.
    send("<presence/><iq type='get' id='ping1'><ping xmlns='urn:xmpp:ping'/></iq>");
    co_await await_iq("ping1", "presence");
    deadline_.cancel();
}

void BenchClient::start_reading(StanzaHandler handler) {
    handler_ = std::move(handler);
    // Stanzas that came during the login (or while there was no handler) go first, in
    // order. No read can complete meanwhile: this runs on the io_context's one thread.
    while (handler_ && !inbox_.empty()) {
        Element el = std::move(inbox_.front());
        inbox_.pop_front();
        handler_(el);
    }
    if (reading_) return;  // the loop already runs and now calls the new handler
    reading_ = true;
    asio::co_spawn(stream_.get_executor(), read_loop(), asio::detached);
}

asio::awaitable<void> BenchClient::read_loop() {
    try {
        while (!server_closed_) co_await read_more("read");
    } catch (const std::exception& e) {
        if (open_) read_error_ = e.what();
    }
    reading_ = false;
    open_ = open_ && !server_closed_;
    close_wait_.cancel();
}

void BenchClient::send(std::string xml) {
    if (!open_) return;
    out_ += xml;
    if (!writing_) start_write();
}

void BenchClient::start_write() {
    writing_ = true;
    writing_buf_.clear();
    writing_buf_.swap(out_);
    auto done = [this](boost::system::error_code ec, std::size_t) {
        writing_ = false;
        if (ec) {
            open_ = false;
            return;
        }
        if (!out_.empty()) start_write();
    };
    if (tls_) asio::async_write(stream_, asio::buffer(writing_buf_), done);
    else asio::async_write(stream_.next_layer(), asio::buffer(writing_buf_), done);
}

asio::awaitable<void> BenchClient::close(std::chrono::milliseconds grace) {
    if (open_ && reading_) {
        send("</stream:stream>");
        close_wait_.expires_after(grace);
        boost::system::error_code ec;
        co_await close_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    abort();
}

void BenchClient::abort() {
    open_ = false;
    boost::system::error_code ec;
    deadline_.cancel();
    close_wait_.cancel();
    stream_.next_layer().shutdown(tcp::socket::shutdown_both, ec);
    stream_.next_layer().close(ec);
}

}  // namespace parley::bench
