#include "ferry/process/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <system_error>
#include <thread>
#include <utility>

#include "ferry/process/child.h"

namespace ferry::process {

std::string netnsPath(const std::string& name) { return "/run/netns/" + name; }

void deleteNetns(const std::string& name) {
  using namespace std::chrono_literals;
  for (int attempt = 0; attempt < 20; ++attempt) {
    // Killed processes can hold the namespace for a moment; nginx workers,
    // for instance, are not our children.
    for (int round = 0; round < 3; ++round) {
      std::string pids;
      if (runCommand({"ip", "netns", "pids", name}, &pids) != 0) break;
      std::istringstream in(pids);
      bool any = false;
      for (pid_t pid; in >> pid;) {
        if (pid == getpid()) continue;
        kill(pid, SIGKILL);
        any = true;
      }
      if (!any) break;
      std::this_thread::sleep_for(50ms);
    }
    if (runCommand({"ip", "netns", "del", name}) == 0) return;
    struct stat st;
    if (stat(netnsPath(name).c_str(), &st) != 0) return;  // gone
    std::this_thread::sleep_for(100ms);
  }
}

bool netnsUsable(const std::string& probe_name) {
  if (geteuid() != 0) return false;
  if (runCommand({"ip", "netns", "add", probe_name}) != 0) return false;
  runCommand({"ip", "netns", "del", probe_name});
  return true;
}

Result<Netns> Netns::create(const std::string& name) {
  if (auto why = runChecked({"ip", "netns", "add", name}); !why.empty())
    return Result<Netns>::failure(why);
  Netns n;
  n.name_ = name;
  return n;
}

Netns::Netns(Netns&& other) noexcept : name_(std::exchange(other.name_, {})) {}

Netns& Netns::operator=(Netns&& other) noexcept {
  if (this != &other) {
    if (!name_.empty()) deleteNetns(name_);
    name_ = std::exchange(other.name_, {});
  }
  return *this;
}

Netns::~Netns() {
  if (!name_.empty()) deleteNetns(name_);
}

NetnsScope::NetnsScope(const std::string& netns) {
  if (netns.empty()) return;
  original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_ < 0) throw std::system_error(errno, std::generic_category(), "open own netns");
  const int target = open(netnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    const int err = errno;
    close(original_);
    throw std::system_error(err, std::generic_category(), "open " + netnsPath(netns));
  }
  const int r = setns(target, CLONE_NEWNET);
  const int err = errno;
  close(target);
  if (r != 0) {
    close(original_);
    throw std::system_error(err, std::generic_category(), "setns " + netns);
  }
}

NetnsScope::~NetnsScope() {
  if (original_ < 0) return;
  // Going on in the wrong namespace would bind every later socket there:
  // a failure to return (which holding the original's fd all but rules out)
  // ends the process with a message rather than run on.
  if (setns(original_, CLONE_NEWNET) != 0) {
    const std::string message =
        std::string("NetnsScope: cannot return to the original network namespace: ") +
        std::strerror(errno) + "\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message.data(), message.size());
    std::abort();
  }
  close(original_);
}

}  // namespace ferry::process
