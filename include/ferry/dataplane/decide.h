// The per-datagram forwarding decision, as one pure function: a datagram (a
// plain one, or one segment of a GRO train), what the ingress interface is,
// and the forwarding snapshot in; an action out. The event loop
// (dataplane.cc) only carries actions out: sends, the BFD hand-off, counters,
// ICMP (with its rate limit, which needs the clock).
//
// Not decided here, because they hold for a whole receive (a GRO train is
// one 4-tuple, so they cannot differ between its segments): whether the
// datagram fit its buffer, and the source check against the interface's peer.
#pragma once

#include <cstdint>
#include <span>

#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/forwarding.h"
#include "ferry/route/icmp.h"
#include "ferry/route/ip.h"

namespace ferry {

struct Action {
  enum class Kind : uint8_t {
    kForward,  // send `length` bytes to `egress`'s peer
    kBfd,      // an in-band BFD control packet: hand it to the control module
    kDrop,     // count under `drop`
    kIcmp,     // count under `drop`, then answer with `icmp` (if the rate limit allows)
    kEcho,     // an echo request to ferry itself: count under `drop` (kLocal), then
               // answer with an echo reply (route::buildEchoReply; the same rate limit)
  };
  Kind kind = Kind::kDrop;
  Drop drop = Drop::kNoRoute;            // Drop and Icmp: the reason to count
  uint16_t egress = 0;                   // Forward
  uint32_t length = 0;                   // Forward: bytes to send (route: the inner packet)
  // Route mode: the route whose counter counts it (Forward, and Drop or
  // Icmp from a drop route).
  uint32_t route_index = route::kNoRouteIndex;
  route::Family family = route::Family::kIpv4;  // Icmp: of the inner packet (the source to use)
  route::IcmpError icmp = route::IcmpError::kTimeExceeded;  // Icmp: which error

  static constexpr Action forward(uint16_t egress, uint32_t length,
                                  uint32_t route_index = route::kNoRouteIndex) noexcept {
    Action a;
    a.kind = Kind::kForward;
    a.egress = egress;
    a.length = length;
    a.route_index = route_index;
    return a;
  }
  static constexpr Action echo(route::Family family) noexcept {
    Action a;
    a.kind = Kind::kEcho;
    a.drop = Drop::kLocal;
    a.family = family;
    return a;
  }
  static constexpr Action toBfd() noexcept {
    Action a;
    a.kind = Kind::kBfd;
    return a;
  }
  static constexpr Action dropped(Drop why) noexcept {
    Action a;
    a.drop = why;
    return a;
  }
  friend constexpr bool operator==(const Action&, const Action&) = default;
};

// What the decision needs to know about the ingress interface.
struct Ingress {
  uint16_t index = 0;
  bool bfd_inband = false;  // BFD control packets share the data port
  bool has_peer = false;    // in-band BFD needs a peer (its session's address)
};

// In-band BFD test: version 1 in the top 3 bits of the first byte
// (0x20–0x3F), a Length field (byte 3) of 24..datagram, and at most 64
// bytes. IPv4 starts 0x4_, IPv6 0x6_, so route-mode data never looks like
// this; in relay mode only a short datagram that also has a plausible Length
// does.
bool looksLikeBfd(std::span<const uint8_t> datagram) noexcept;

// The decision for one datagram. `max_datagram` is tuning.max_datagram. In
// route mode a forwarded packet's TTL / hop limit is decremented in place
// (with its checksum); every other outcome leaves the bytes as received, so
// an ICMP error quotes the packet unchanged. An Icmp action is returned only
// when the snapshot has an ICMP source for the packet's family.
Action decide(const Ingress& ingress, std::span<uint8_t> datagram, uint32_t max_datagram,
              const ForwardingState& state) noexcept;

// decide() for every datagram of one receive (the segments of a GRO train):
// actions[i] is what decide(ingress, datagrams[i], ...) returns, with the
// same writes. In route mode the inner packets' destinations are looked up in
// one batch per family (RouteTable::forward over a span), which is what makes
// a train's IPv6 lookups cheaper than one at a time. `actions` must be at
// least as long as `datagrams`.
void decide(const Ingress& ingress, std::span<const std::span<uint8_t>> datagrams,
            uint32_t max_datagram, const ForwardingState& state, std::span<Action> actions) noexcept;

}  // namespace ferry
