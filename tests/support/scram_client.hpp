#pragma once
// The client side of SCRAM (RFC 5802, RFC 7677), including -PLUS with channel binding,
// written independently of the server's implementation so that each checks the other.
// Tests can also make it misbehave: a chosen GS2 flag, wrong binding data, a bad proof.
#include <optional>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;

namespace parley::test {

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

// RFC 9266: 32 bytes of SSL_export_keying_material with label EXPORTER-Channel-Binding.
std::string tls_exporter_binding(SSL* ssl);
// RFC 5929 §4.1: hash of the server's certificate with its signature's hash, but
// SHA-256 when that is MD5 or SHA-1.
std::string tls_server_end_point_binding(SSL* ssl);

struct ScramClientOptions {
    std::string mechanism = "SCRAM-SHA-256";  // any SCRAM-SHA-{1,256,512}[-PLUS]
    std::string username;
    std::string password;
    std::string authzid;
    // The GS2 channel-binding flag: "n", "y" or "p=<type>". Empty: "p=<cb_type>" for a
    // -PLUS mechanism, "n" otherwise.
    std::string gs2_flag;
    std::string cb_type = "tls-exporter";
    std::string cb_data;      // appended to the GS2 header in c= when the flag is p=
    std::string nonce;        // empty: random
    bool corrupt_proof = false;
};

class ScramClient {
public:
    explicit ScramClient(ScramClientOptions options);

    const std::string& gs2_header() const { return gs2_header_; }
    std::string client_first();
    // nullopt (see error()) when server-first is malformed or does not extend our nonce.
    std::optional<std::string> client_final(std::string_view server_first);
    // True when server-final carries the expected ServerSignature.
    bool verify_server_final(std::string_view server_final);
    const std::string& error() const { return error_; }

private:
    ScramClientOptions o_;
    std::string gs2_header_, client_nonce_, client_first_bare_, expected_server_signature_;
    std::string error_;
};

}  // namespace parley::test
