// Child processes for the benchmark: routers under test (ferryd, the mmsg
// relay, nginx) and the `ip` commands that build the topology, optionally
// inside a network namespace (setns between fork and exec, as `ip netns exec`
// does, without its extra process). Setup code: errors come back as text.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ferry::bench {

class Child {
 public:
  struct Options {
    std::string netns;        // enter /run/netns/NAME first ("" = stay)
    std::string output_path;  // stdout and stderr go here ("" = /dev/null)
  };

  // fork + (setns) + exec of argv[0] (searched in PATH). The child gets an
  // empty signal mask and default dispositions, and SIGKILL when the bench
  // dies (PR_SET_PDEATHSIG). nullopt with `error` set when it cannot start.
  static std::optional<Child> spawn(const std::vector<std::string>& argv, const Options& options,
                                    std::string* error);

  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  ~Child();  // stop(2 s)

  pid_t pid() const noexcept { return pid_; }
  const std::string& outputPath() const noexcept { return output_path_; }
  // The child's output so far (last `max_bytes`).
  std::string output(size_t max_bytes = 4096) const;
  bool running();
  // Exit status (0..255, 128+N for a signal) once it has exited.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig) const;
  // SIGTERM, then SIGKILL after `grace`; reaps. Returns the exit status.
  std::optional<int> stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string output_path_;
};

// Runs argv to completion (in `netns` if given); returns the exit status, or
// -1 when it could not start. `output` receives stdout and stderr together.
int runCommand(const std::vector<std::string>& argv, std::string* output = nullptr,
               const std::string& netns = "");

// Like runCommand, but "" on success and otherwise a message with the
// command and its output.
std::string runChecked(const std::vector<std::string>& argv, const std::string& netns = "");

// Moves the calling thread into a network namespace (or back) for the life
// of the object: sockets created meanwhile belong to that namespace.
class NetnsScope {
 public:
  // netns "" = no change. Throws std::system_error when setns fails.
  explicit NetnsScope(const std::string& netns);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int original_ = -1;
};

}  // namespace ferry::bench
