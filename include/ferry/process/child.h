// Child processes: fork + exec of a command, optionally inside a network
// namespace, with stdout and stderr sent to files. Used by the benchmark
// (routers under test, the `ip` commands that build its topology) and by the
// integration tests' harness. Setup code: failures come back as Result.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ferry/result.h"

namespace ferry::process {

class Child {
 public:
  struct Options {
    // Run inside /run/netns/NAME ("" = stay), entered as `ip netns exec NAME`
    // does it, without its extra process: setns between fork and exec, then
    // a private mount namespace in which /sys is mounted again, so that
    // /sys/class/net lists that namespace's devices.
    std::string netns = {};
    std::string stdout_path = {};  // created or truncated; "" = /dev/null
    // "" = /dev/null; the same path as stdout_path = one file holding both
    // streams in the order they were written.
    std::string stderr_path = {};
    // NAME=value entries added to the environment the child inherits; one
    // whose NAME is already there replaces it.
    std::vector<std::string> env = {};
    // The child leads a process group of its own, so that kill() reaches
    // what it starts too (and a terminal's Ctrl-C does not reach it).
    bool own_process_group = false;
  };

  // fork + exec of argv[0] (searched in PATH). The child gets stdin from
  // /dev/null, an empty signal mask and default dispositions, and SIGKILL
  // when the thread that spawned it dies (PR_SET_PDEATHSIG). Returns once
  // the child has entered its namespace and exec'd, so it is in there (and
  // a namespace deletion finds it). Fails when it cannot start here; when it
  // cannot enter the namespace or exec, it writes why to its stderr and
  // exits 126 or 127.
  static Result<Child> spawn(const std::vector<std::string>& argv, const Options& options);

  Child() = default;  // no process
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;  // stop()s the process it had
  ~Child();                                  // stop()

  pid_t pid() const noexcept { return pid_; }
  const std::string& stdoutPath() const noexcept { return stdout_path_; }
  const std::string& stderrPath() const noexcept { return stderr_path_; }
  // What the child has written so far, its last `max_bytes` ("…" marks a
  // cut); "" for /dev/null.
  static constexpr size_t kAll = std::numeric_limits<size_t>::max();
  std::string stdoutText(size_t max_bytes = kAll) const;
  std::string stderrText(size_t max_bytes = kAll) const;

  bool running();
  // Exit status once it has exited: 0..255, or 128+N for signal N; nullopt
  // when it still runs after `timeout`, or there is no process.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig) const;  // nothing once it has exited
  // SIGTERM, then SIGKILL after `grace`; reaps. Returns the exit status.
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(2));
  // SIGKILL at once (to its process group too, when it has one of its own)
  // and reaps. Returns the exit status.
  std::optional<int> kill();

 private:
  pid_t pid_ = -1;
  bool own_process_group_ = false;
  std::optional<int> status_;
  std::string stdout_path_, stderr_path_;
};

// Runs argv to completion (in `netns` if given, as Child does) and returns
// its exit status, or -1 when it could not start or still ran after
// `timeout` (then it is stopped). `output` receives stdout and stderr
// together, in order.
int runCommand(const std::vector<std::string>& argv, std::string* output = nullptr,
               const std::string& netns = "",
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Like runCommand, but "" on success and otherwise a message with the
// command, its exit status and the end of its output.
std::string runChecked(const std::vector<std::string>& argv, const std::string& netns = "");

}  // namespace ferry::process
