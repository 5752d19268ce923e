// Steering programs for an interface's SO_REUSEPORT group. The kernel picks a
// socket by a hash of the 4-tuple, so router-to-router traffic (one 4-tuple)
// would all land on one dataplane. A classic-BPF program attached with
// SO_ATTACH_REUSEPORT_CBPF returns the index of the socket (in bind order,
// which is dataplane order) instead; an index out of range, or a packet the
// program does not recognise, falls back to the kernel's hash.
//
//   inner-flow: a hash of the encapsulated IPv4/IPv6 header (addresses, and
//     the ports that follow the header), so one underlay flow spreads over
//     every dataplane while each inner flow stays on one (in order). Meant for
//     route mode (IP-in-UDP); opaque relay payloads fall back to the kernel
//     hash only when their first nibble is not 4 or 6.
//   cpu: the dataplane pinned to the CPU that received the packet, so the
//     packet stays on the core whose softirq handled it.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "ferry/config.h"

namespace ferry {

// The program for `steering` over `sockets` sockets; empty for Steering::Kernel.
// `cpus[i]` is the CPU dataplane i is pinned to (for Steering::Cpu).
std::vector<sock_filter> steeringProgram(Steering steering, unsigned sockets,
                                         const std::vector<int>& cpus);

// Attaches `program` to the reuseport group of `fd` (any member). "" or an error.
std::string attachSteering(int fd, const std::vector<sock_filter>& program);

}  // namespace ferry
