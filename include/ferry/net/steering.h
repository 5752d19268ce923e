// Steering programs for an interface's SO_REUSEPORT group. The kernel's own
// choice is a hash of the 4-tuple with a per-boot secret, which no program can
// reproduce; so ferry always attaches a classic-BPF program
// (SO_ATTACH_REUSEPORT_CBPF) that returns the index of the socket (in bind
// order, which is dataplane order), and replaces it whole when a dataplane
// stalls or runs again. Every mode first picks a *slot* (a dataplane):
//
//   kernel: a hash of the underlay 4-tuple (source and destination address and
//     port, read from the IP and UDP headers), so one underlay flow lands on
//     one dataplane and flows spread over all of them: what the kernel's hash
//     does, with a hash ferry knows.
//   inner-flow: a hash of the encapsulated IPv4/IPv6 header (addresses, and
//     the ports that follow the header), so one underlay flow spreads over
//     every dataplane while each inner flow stays on one (in order). Meant for
//     route mode (IP-in-UDP); payloads that are not IPv4/IPv6 (first nibble
//     not 4 or 6) or too short for their header take the 4-tuple hash.
//   cpu: the dataplane pinned to the CPU that received the packet, so the
//     packet stays on the core whose softirq handled it; a CPU with no
//     dataplane takes the 4-tuple hash.
//
// Re-steering (a stalled dataplane's share moved to the others): a packet
// whose slot is a dataplane marked `away` goes instead to one of the others,
// chosen by (hash / sockets) % healthy (the 4-tuple hash in cpu mode), so the
// moved share spreads evenly over the healthy dataplanes, each moved flow
// still lands on one of them, and a flow whose slot is healthy never moves.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/result.h"

namespace ferry {

// Where the shares go. `healthy`: the dataplanes that keep their own share and
// take the moved ones, ascending; `away[i]`: dataplane i's share is moved.
struct SteeringPlan {
  std::vector<unsigned> healthy;
  std::vector<bool> away;
  bool moves() const noexcept { return healthy.size() < away.size(); }
};

// The plan for `sockets` dataplanes of which `away` (shorter: the rest are not
// away) should hand their share over. Never steers to nobody: when every
// dataplane is away, nothing moves.
SteeringPlan planSteering(unsigned sockets, const std::vector<bool>& away);

// The program for `steering` over `sockets` sockets (never empty).
// `cpus[i]` is the CPU dataplane i is pinned to (for Steering::kCpu).
// `away`: see planSteering(); empty = every dataplane keeps its share.
// About 2 instructions per dataplane and mode, 4 for cpu with some away: a
// program past BPF_MAXINSNS (4096; cpu steering with about 1000 dataplanes,
// some away) throws std::length_error. Without `away` it always fits the
// 1024 dataplanes the config allows.
std::vector<sock_filter> steeringProgram(Steering steering, unsigned sockets,
                                         const std::vector<int>& cpus,
                                         const std::vector<bool>& away = {});

// Attaches `program` to the reuseport group of `fd` (any member), replacing
// the one attached before (the kernel swaps them atomically: every datagram
// meets one or the other).
Status attachSteering(int fd, const std::vector<sock_filter>& program);

}  // namespace ferry
