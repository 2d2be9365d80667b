#include "support/test_ca.hpp"

#include <doctest/doctest.h>

#include <fstream>

#include "support/child_process.hpp"

namespace parley::test {

namespace {

void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const CommandResult r = run_command(args, std::chrono::seconds(30));
    REQUIRE_MESSAGE(r.exit_code == 0, "openssl " << args[1] << " failed:\n" << r.output);
}

}  // namespace

TestCa::TestCa(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    root_ = dir_ / "ca.crt";
    root_key_ = dir_ / "ca.key";
    openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             root_key_.string(), "-out", root_.string(), "-days", "2", "-subj", "/CN=Parley Test CA", "-addext",
             "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
}

IssuedCertificate TestCa::issue(const std::vector<std::string>& names, bool client_auth) {
    REQUIRE(!names.empty());
    const std::string base = names.front() + "-" + std::to_string(++serial_);
    const auto key = dir_ / (base + ".key");
    const auto csr = dir_ / (base + ".csr");
    const auto leaf = dir_ / (base + ".leaf.crt");
    const auto ext = dir_ / (base + ".ext");
    {
        std::ofstream out(ext);
        out << "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            << "extendedKeyUsage=serverAuth" << (client_auth ? ",clientAuth" : "") << "\nsubjectAltName=";
        for (std::size_t i = 0; i < names.size(); ++i) out << (i ? "," : "") << "DNS:" << names[i];
        out << "\n";
    }
    openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             key.string(), "-out", csr.string(), "-subj", "/CN=" + names.front()});
    openssl({"x509", "-req", "-in", csr.string(), "-CA", root_.string(), "-CAkey", root_key_.string(),
             "-set_serial", std::to_string(1000 + serial_), "-days", "2", "-extfile", ext.string(), "-out",
             leaf.string()});
    IssuedCertificate issued{dir_ / (base + ".crt"), key};
    {
        std::ifstream l(leaf), r(root_);
        std::ofstream chain(issued.certificate);
        chain << l.rdbuf() << r.rdbuf();
    }
    std::filesystem::permissions(key, std::filesystem::perms(0644));
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    return issued;
}

}  // namespace parley::test
