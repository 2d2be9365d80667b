#pragma once
// TLS for client (and later server) streams: TLS 1.2 and 1.3 only, Mozilla's
// "intermediate" profile, certificates from config or a self-signed one made at start.
#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "server/config.hpp"

namespace parley::server::net {

// Builds a server context from config; throws std::runtime_error naming the file on
// failure. When tls.certificate is empty a self-signed certificate for every host is
// made (once) under state_dir/tls and reused afterwards.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const Config& config);

// The TLS 1.2 cipher list in use: [tls] ciphers, else Mozilla intermediate (s2s
// contexts use the same one).
std::string tls12_cipher_list(const Config& config);

// Writes a new self-signed certificate and key for `hosts` (key mode 0600).
void write_self_signed(const std::vector<std::string>& hosts, const std::filesystem::path& cert,
                       const std::filesystem::path& key);

// Channel-binding data of an established TLS connection (raw bytes; empty when the
// binding cannot be used on it). tls-exporter needs TLS 1.3 or extended master secret
// (RFC 9266 §3).
std::string tls_exporter_binding(SSL* ssl);
std::string tls_server_end_point_binding(SSL* ssl);

}  // namespace parley::server::net
