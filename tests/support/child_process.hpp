#pragma once
// A child process started by the tests (parleyd, parleyctl, createdb, dropdb), waited
// on through a pidfd so every wait is a bounded wait on a condition, never a sleep.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace parley::test {

class ChildProcess {
public:
    ChildProcess() = default;
    // Starts argv[0] (a path) with stdin from /dev/null and stdout and stderr written to
    // output_fd (which the child gets a copy of; the caller keeps its own). Throws
    // std::runtime_error when the process cannot be started.
    static ChildProcess spawn(const std::vector<std::string>& argv, int output_fd);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    // A child still running is killed (SIGKILL) and reaped.
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    bool started() const { return pid_ > 0; }
    bool has_exited();  // reaps it when it has
    void send_signal(int sig);

    // Exit code, or 128 + signal number; nullopt when still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    // Waits up to `timeout` for the child to exit without reaping; true if it exited.
    // Used as the pause between two checks of another condition.
    bool wait_exit_event(std::chrono::milliseconds timeout);
    std::optional<int> exit_status() const { return status_; }

    // SIGKILL and reap (if still running).
    void kill_and_reap();

private:
    bool try_reap();
    void release();

    pid_t pid_ = -1;
    int pidfd_ = -1;
    std::optional<int> status_;
};

struct CommandResult {
    int exit_code = -1;  // -1 when it timed out (it is then killed)
    std::string output;  // stdout and stderr, interleaved
    bool timed_out = false;
};

// Runs a command to completion, bounded by `timeout`.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// "a b 'c d'" for messages.
std::string describe_command(const std::vector<std::string>& argv);

}  // namespace parley::test
