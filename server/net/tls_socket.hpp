#pragma once
// TLS over a non-blocking TCP socket with OpenSSL reading and writing the socket
// itself. Unlike asio::ssl::stream it keeps no record buffers of its own. The caller waits for socket
// readiness (async_wait) when an operation says want_read / want_write.
// OpenSSL's record buffers stay allocated while the connection is busy and are freed
// by release_buffers() when it goes quiet.
// Call only on the socket's thread.
#include <boost/asio/ip/tcp.hpp>
#include <openssl/ssl.h>

#include <cstddef>
#include <string>

namespace parley::server::net {

class TlsSocket {
public:
    enum class Io { done, want_read, want_write, closed, failed };

    // Takes no ownership of `socket`, which must outlive this object; puts it in
    // non-blocking mode.
    TlsSocket(boost::asio::ip::tcp::socket& socket, SSL_CTX* ctx);
    ~TlsSocket();
    TlsSocket(const TlsSocket&) = delete;
    TlsSocket& operator=(const TlsSocket&) = delete;

    SSL* native_handle() const { return ssl_; }

    Io handshake();
    // Reads decrypted bytes into buf; n is set on done. closed: the peer ended the
    // connection (close_notify or EOF).
    Io read(char* buf, std::size_t capacity, std::size_t& n);
    // Writes some of data; n is set on done (partial writes are allowed).
    Io write(const char* data, std::size_t size, std::size_t& n);
    // Frees the record buffers if nothing is pending in them (an idle connection);
    // OpenSSL allocates them again on the next read or write.
    bool release_buffers();
    // Sends close_notify if the socket takes it at once; never waits.
    void shutdown();
    // After the socket is closed no operation may touch it (its fd may be reused).
    void detach() { detached_ = true; }
    // The last OpenSSL error, for logs.
    const std::string& error() const { return error_; }

private:
    Io classify(int ret);

    SSL* ssl_ = nullptr;
    bool detached_ = false;
    std::string error_;
};

}  // namespace parley::server::net
