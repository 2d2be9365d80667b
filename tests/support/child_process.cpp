#include "support/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace parley::test {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, int output_fd) {
    if (argv.empty()) throw std::runtime_error("spawn: empty command");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, output_fd, 2);
    // The test's own sockets (libstrophe's are not close-on-exec) must not leak into the
    // server, or a connection the test closes would stay open in the child.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    // A fresh process group, so that a terminal's Ctrl-C goes to the test runner alone.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // The test runner ignores SIGPIPE (see test_failures.cpp); the child starts with
    // the default disposition, as it would from a shell.
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);

    // posix_spawnp: createdb/dropdb come from PATH, parleyd/parleyctl are absolute.
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
    ChildProcess child;
    child.pid_ = pid;
    child.pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_), pidfd_(other.pidfd_), status_(other.status_) {
    other.pid_ = -1;
    other.pidfd_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        release();
        pid_ = other.pid_;
        pidfd_ = other.pidfd_;
        status_ = other.status_;
        other.pid_ = -1;
        other.pidfd_ = -1;
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    kill_and_reap();
    release();
}

void ChildProcess::release() {
    if (pidfd_ >= 0) ::close(pidfd_);
    pidfd_ = -1;
}

bool ChildProcess::try_reap() {
    if (pid_ <= 0 || status_) return status_.has_value();
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = decode_status(status);
        return true;
    }
    if (r < 0 && errno == ECHILD) {
        status_ = -1;
        return true;
    }
    return false;
}

bool ChildProcess::has_exited() { return try_reap(); }

void ChildProcess::send_signal(int sig) {
    if (pid_ > 0 && !try_reap()) ::kill(pid_, sig);
}

bool ChildProcess::wait_exit_event(std::chrono::milliseconds timeout) {
    if (pid_ <= 0 || status_) return true;
    if (pidfd_ >= 0) {
        pollfd p{pidfd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
        return r > 0;
    }
    // No pidfd (old kernel): fall back to short polls of waitpid.
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (try_reap()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return try_reap();
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!try_reap()) {
        int left = remaining_ms(deadline);
        if (left == 0) return std::nullopt;
        wait_exit_event(std::chrono::milliseconds(left));
    }
    return status_;
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0 || try_reap()) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = decode_status(status);
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    CommandResult result;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    ChildProcess child;
    try {
        child = ChildProcess::spawn(argv, fds[1]);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[1]);

    auto deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
        pollfd p{fds[0], POLLIN, 0};
        int left = remaining_ms(deadline);
        if (left == 0) break;
        int r = ::poll(&p, 1, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: every writer (the child and its children) is gone
        result.output.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);

    auto status = child.wait_exit(std::chrono::milliseconds(remaining_ms(deadline)));
    if (!status) {
        result.timed_out = true;
        child.kill_and_reap();
        return result;
    }
    result.exit_code = *status;
    return result;
}

std::string describe_command(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        if (!out.empty()) out += ' ';
        if (a.find_first_of(" \t'\"") != std::string::npos) {
            out += '\'' + a + '\'';
        } else {
            out += a;
        }
    }
    return out;
}

}  // namespace parley::test
