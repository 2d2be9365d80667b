#pragma once
// A private certificate authority for one test: its own key and root certificate in a
// directory of the test's, and leaf certificates for server domains signed by it, so a
// test can give two servers certificates that verify (RFC 6125) without any system
// trust store. Made with the openssl command (Debian's `openssl` package).
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace parley::test {

struct IssuedCertificate {
    std::filesystem::path certificate;  // PEM: the leaf, then the CA (a chain)
    std::filesystem::path key;          // PEM, mode 0644 so a peer run as another user reads it
};

class TestCa {
public:
    // Creates dir (if needed) and a new CA in it. FAILs the test when openssl fails.
    explicit TestCa(std::filesystem::path dir);
    // The CA's root certificate (PEM): what a verifier is told to trust.
    const std::filesystem::path& root() const { return root_; }
    // A certificate for `names` (subjectAltName DNS entries; the first is also the CN),
    // for serverAuth and, when `client_auth`, clientAuth too (public CAs issue
    // serverAuth-only certificates since 2026).
    IssuedCertificate issue(const std::vector<std::string>& names, bool client_auth = true);

private:
    std::filesystem::path dir_, root_, root_key_;
    int serial_ = 0;
};

}  // namespace parley::test
