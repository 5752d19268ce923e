#include "ferry/process/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace ferry::process {

std::string netnsPath(const std::string& name) { return "/run/netns/" + name; }

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
  setns(original_, CLONE_NEWNET);
  close(original_);
}

}  // namespace ferry::process
