#include "server/net/tls_socket.hpp"

#include <openssl/err.h>

#include <cerrno>
#include <cstring>

namespace parley::server::net {

TlsSocket::TlsSocket(boost::asio::ip::tcp::socket& socket, SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    if (ssl_) {
        SSL_set_fd(ssl_, static_cast<int>(socket.native_handle()));
        // Not SSL_MODE_RELEASE_BUFFERS: it frees and reallocates both record buffers
        // around every read and write of a busy connection. release_buffers() frees
        // them once the connection has gone quiet instead.
        SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        SSL_clear_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
        SSL_set_accept_state(ssl_);
    }
}

TlsSocket::~TlsSocket() {
    if (ssl_) SSL_free(ssl_);
}

TlsSocket::Io TlsSocket::classify(int ret) {
    const int err = SSL_get_error(ssl_, ret);
    switch (err) {
        case SSL_ERROR_WANT_READ:
            return Io::want_read;
        case SSL_ERROR_WANT_WRITE:
            return Io::want_write;
        case SSL_ERROR_ZERO_RETURN:
            ERR_clear_error();
            return Io::closed;
        case SSL_ERROR_SYSCALL:
            // EOF without close_notify, or a reset: the peer is gone either way.
            error_ = errno ? std::string(std::strerror(errno)) : std::string("unexpected eof");
            ERR_clear_error();
            return Io::closed;
        default: {
            char buf[256];
            ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
            error_ = buf;
            ERR_clear_error();
            return Io::failed;
        }
    }
}

TlsSocket::Io TlsSocket::handshake() {
    if (!ssl_ || detached_) return Io::failed;
    const int ret = SSL_do_handshake(ssl_);
    return ret == 1 ? Io::done : classify(ret);
}

TlsSocket::Io TlsSocket::read(char* buf, std::size_t capacity, std::size_t& n) {
    if (!ssl_ || detached_) return Io::closed;
    const int ret = SSL_read_ex(ssl_, buf, capacity, &n);
    return ret == 1 ? Io::done : classify(ret);
}

TlsSocket::Io TlsSocket::write(const char* data, std::size_t size, std::size_t& n) {
    if (!ssl_ || detached_) return Io::closed;
    const int ret = SSL_write_ex(ssl_, data, size, &n);
    return ret == 1 ? Io::done : classify(ret);
}

bool TlsSocket::release_buffers() {
    if (!ssl_ || detached_) return false;
    return SSL_free_buffers(ssl_) == 1;
}

void TlsSocket::shutdown() {
    if (!ssl_ || detached_ || !SSL_is_init_finished(ssl_)) return;
    SSL_shutdown(ssl_);
    ERR_clear_error();
}

}  // namespace parley::server::net
