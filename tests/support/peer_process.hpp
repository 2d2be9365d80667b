#pragma once
// What the harness does the same way for every server it runs (parleyd, Prosody,
// ejabberd): files in a private directory, quoted config strings, a server run as its
// own system user, "is it listening yet", stopping by PID, and the log printed when
// the test failed.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/child_process.hpp"

namespace parley::test {

// The whole file, or "" when it cannot be read (a log not written yet).
std::string read_file(const std::filesystem::path& path);

// `s` in double quotes with `"` and `\` escaped: a Lua string, a double-quoted YAML
// scalar and a TOML basic string alike, for the values the tests write (paths, names).
std::string quoted(std::string_view s);

// Whether something accepts a TCP connection on 127.0.0.1:port (a blocking connect
// on loopback is answered at once: accepted or refused).
bool accepts_connection(std::uint16_t port);

// Waits up to `timeout` until every port has accepted a connection once; false when
// `process` exits first or time runs out. `pause` is the wait on the process's exit
// between two rounds.
bool wait_until_listening(ChildProcess& process, const std::vector<std::uint16_t>& ports,
                          std::chrono::milliseconds timeout, std::chrono::milliseconds pause);

// "exited with status N" or "was still not listening after N s", after a failed wait.
std::string not_listening_reason(ChildProcess& process, std::chrono::seconds waited);

// Waits up to `timeout` until `read()` contains `text`, pausing on the process's exit.
bool wait_for_text(ChildProcess& process, const std::function<std::string()>& read, std::string_view text,
                   std::chrono::milliseconds timeout, std::chrono::milliseconds pause);

// A new directory $TMPDIR/<prefix>XXXXXX (default /tmp); FAILs the test when it cannot.
std::filesystem::path make_temp_dir(std::string_view prefix);
// The same, mode 0755: a server's own user must get through it to what it owns inside.
std::filesystem::path make_peer_dir(std::string_view prefix);

// Copies a file over `to`; REQUIREs success.
void copy_to(const std::filesystem::path& from, const std::filesystem::path& to);

// The certificate a peer serves, in `certs` as host.crt and host.key (mode 0600):
// `certificate` and `key` when given, else one for `names` issued by a CA of its own
// made in `own_ca_dir`, which no one else trusts (so peers fall back to dialback).
// `ca_file` (what it trusts), when given, goes to ca.crt.
void install_certificates(const std::filesystem::path& certs, const std::filesystem::path& certificate,
                          const std::filesystem::path& key, const std::filesystem::path& ca_file,
                          const std::vector<std::string>& names, const std::filesystem::path& own_ca_dir);

// Whether the tests run as root (and so must run a server as its own user).
bool is_root();
// When root: gives `path` (and all below it) to the system user `user`; else nothing.
void give_to_user(const std::filesystem::path& path, const char* user);
// `command` as the system user `user` when root (setpriv with a reset environment),
// through /usr/bin/env with a plain PATH and `env` ("NAME=value") when root or when
// `env` is not empty. setpriv and env both exec: a spawned child's PID is the command's.
std::vector<std::string> as_user(const char* user, const std::vector<std::string>& env,
                                 const std::vector<std::string>& command);

// Opens (appends to) the file a server's stdout and stderr go to; REQUIREs success.
int open_output(const std::filesystem::path& path);

// SIGTERM, then SIGKILL when it has not exited within `grace` (said on stderr, naming
// it `name`). Returns the exit status; nullopt when it was not running.
std::optional<int> stop_process(ChildProcess& process, std::chrono::milliseconds grace, const char* name);

// Prints "---- <title> <details> ----", `text` (its last `keep` bytes) and
// "---- end of <title> ----" on stderr.
void print_log(std::string_view title, std::string_view details, std::string text,
               std::size_t keep = std::string::npos);

}  // namespace parley::test
