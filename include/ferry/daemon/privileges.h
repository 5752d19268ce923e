// Least privilege: after its sockets are open and before any thread starts,
// ferryd can switch to an unprivileged user (config `user:`, `group:`) and
// keep only the capabilities it still uses (kKeptCapabilities), also across
// the re-exec of an upgrade (they are raised to the ambient set).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "ferry/result.h"

namespace ferry {

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
};

// `user` (a name or a number) and `group` (default: the user's primary
// group) looked up; fails naming what does not exist.
Result<Identity> resolveIdentity(const std::string& user, const std::optional<std::string>& group);

// The capabilities kept, each for something ferryd does after the switch:
//   CAP_NET_ADMIN         socket buffers above net.core.{r,w}mem_max
//                         (SO_RCVBUFFORCE) for sockets opened later: new
//                         interfaces at a takeover with a changed config;
//   CAP_NET_BIND_SERVICE  such sockets on ports below 1024;
//   CAP_SYS_NICE          SCHED_FIFO for the BFD and watch threads, which
//                         start after the switch.
// Only those the process has are kept (started without one, it stays without).
std::vector<std::string> keptCapabilityNames();

// Switches every credential to `who` (no supplementary groups), keeps only
// kKeptCapabilities (permitted, effective, inheritable and ambient), and sets
// no_new_privs. Call while the process has one thread.
// Already running as `who` (an upgrade's re-exec), only the capabilities are
// trimmed.
Status dropPrivileges(const Identity& who);

}  // namespace ferry
