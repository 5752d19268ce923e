// Network namespaces by name (/run/netns/NAME, as `ip netns add` makes them),
// entered by the calling thread.
#pragma once

#include <string>

namespace ferry::process {

// The path `ip netns` gives namespace `name`.
std::string netnsPath(const std::string& name);

// Moves the calling thread into a network namespace (and back) for the life
// of the object: sockets created meanwhile belong to that namespace. Only
// the network namespace: /sys stays the one of where the thread was.
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

}  // namespace ferry::process
