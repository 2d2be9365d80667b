#include "support/peer_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "support/test_ca.hpp"

namespace parley::test {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

bool accepts_connection(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

bool wait_until_listening(ChildProcess& process, const std::vector<std::uint16_t>& ports,
                          std::chrono::milliseconds timeout, std::chrono::milliseconds pause) {
    const auto deadline = Clock::now() + timeout;
    std::vector<bool> open(ports.size(), false);
    while (Clock::now() < deadline) {
        if (process.has_exited()) return false;
        bool all = true;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            open[i] = open[i] || accepts_connection(ports[i]);
            all = all && open[i];
        }
        if (all) return true;
        // Nothing to wait on for "the port is open"; pausing on the child's exit event
        // at least ends the wait early when it dies.
        process.wait_exit_event(pause);
    }
    return false;
}

std::string not_listening_reason(ChildProcess& process, std::chrono::seconds waited) {
    if (process.has_exited()) return "exited with status " + std::to_string(*process.exit_status());
    return "was still not listening after " + std::to_string(waited.count()) + " s";
}

bool wait_for_text(ChildProcess& process, const std::function<std::string()>& read, std::string_view text,
                   std::chrono::milliseconds timeout, std::chrono::milliseconds pause) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        if (read().find(text) != std::string::npos) return true;
        if (Clock::now() >= deadline) return false;
        if (process.wait_exit_event(pause)) return read().find(text) != std::string::npos;
    }
}

std::filesystem::path make_temp_dir(std::string_view prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "XXXXXX";
    if (!::mkdtemp(pattern.data())) {
        FAIL("cannot create a temporary directory from " << pattern << ": " << std::string(std::strerror(errno)));
    }
    return pattern;
}

std::filesystem::path make_peer_dir(std::string_view prefix) {
    auto dir = make_temp_dir(prefix);
    std::filesystem::permissions(dir, std::filesystem::perms(0755));
    return dir;
}

void copy_to(const std::filesystem::path& from, const std::filesystem::path& to) {
    std::error_code ec;
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
    REQUIRE_MESSAGE(!ec, "cannot copy " << from << " to " << to << ": " << ec.message());
}

void install_certificates(const std::filesystem::path& certs, const std::filesystem::path& certificate,
                          const std::filesystem::path& key, const std::filesystem::path& ca_file,
                          const std::vector<std::string>& names, const std::filesystem::path& own_ca_dir) {
    std::filesystem::create_directories(certs);
    if (certificate.empty()) {
        TestCa own(own_ca_dir);
        const auto issued = own.issue(names);
        copy_to(issued.certificate, certs / "host.crt");
        copy_to(issued.key, certs / "host.key");
    } else {
        copy_to(certificate, certs / "host.crt");
        copy_to(key, certs / "host.key");
    }
    std::filesystem::permissions(certs / "host.key", std::filesystem::perms(0600));
    if (!ca_file.empty()) copy_to(ca_file, certs / "ca.crt");
}

bool is_root() { return ::geteuid() == 0; }

void give_to_user(const std::filesystem::path& path, const char* user) {
    if (!is_root()) return;
    const passwd* pw = ::getpwnam(user);
    REQUIRE_MESSAGE(pw, "no user " << user);
    auto own = [&](const std::filesystem::path& p) {
        if (::lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
            FAIL("chown " << p << ": " << std::string(std::strerror(errno)));
        }
    };
    own(path);
    if (std::filesystem::is_directory(path)) {
        for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) own(entry.path());
    }
}

std::vector<std::string> as_user(const char* user, const std::vector<std::string>& env,
                                 const std::vector<std::string>& command) {
    std::vector<std::string> argv;
    if (is_root()) {
        argv = {"/usr/bin/setpriv", std::string("--reuid=") + user, std::string("--regid=") + user,
                "--init-groups", "--reset-env", "--"};
    }
    if (is_root() || !env.empty()) {
        argv.insert(argv.end(), {"/usr/bin/env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
        argv.insert(argv.end(), env.begin(), env.end());
    }
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
}

int open_output(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE_MESSAGE(fd >= 0, "cannot create " << path);
    return fd;
}

std::optional<int> stop_process(ChildProcess& process, std::chrono::milliseconds grace, const char* name) {
    if (!process.started() || process.exit_status()) return std::nullopt;
    process.send_signal(SIGTERM);
    auto status = process.wait_exit(grace);
    if (!status) {
        std::fprintf(stderr, "%s (pid %d) did not exit within %lld ms of SIGTERM: killed\n", name, process.pid(),
                     static_cast<long long>(grace.count()));
        process.kill_and_reap();
        status = process.exit_status();
    }
    return status;
}

void print_log(std::string_view title, std::string_view details, std::string text, std::size_t keep) {
    if (text.size() > keep) text = "[...]\n" + text.substr(text.size() - keep);
    const std::string t(title), d(details);
    std::fprintf(stderr, "---- %s %s ----\n%s\n---- end of %s ----\n", t.c_str(), d.c_str(), text.c_str(),
                 t.c_str());
}

}  // namespace parley::test
