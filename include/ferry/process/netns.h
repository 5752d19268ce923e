// Network namespaces by name (/run/netns/NAME, as `ip netns add` makes
// them): made and deleted with `ip netns`, entered by the calling thread.
// Setup code: failures come back as Result.
#pragma once

#include <optional>
#include <string>

#include "ferry/result.h"

namespace ferry::process {

// The path `ip netns` gives namespace `name`.
std::string netnsPath(const std::string& name);

// Kills every process in namespace `name` but this one (SIGKILL: they would
// keep it alive after it is deleted), then deletes it; retried for up to 2 s
// while `ip netns del` fails and the name is still there.
void deleteNetns(const std::string& name);

// Whether namespaces can be made here: root, and `ip netns add` of
// `probe_name` works (that namespace is deleted at once).
bool netnsUsable(const std::string& probe_name);

// A network namespace that exists for the life of the object: made by
// create(), deleted (deleteNetns) by the destructor. Move-only.
class Netns {
 public:
  // `ip netns add name`; fails with its command and output.
  static Result<Netns> create(const std::string& name);

  Netns() = default;  // none
  Netns(Netns&& other) noexcept;
  Netns& operator=(Netns&& other) noexcept;  // deletes the one it had
  ~Netns();
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
};

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
