// The route-mode forwarding table: the config's `routes:` validated and built
// into IPv4 and IPv6 LPM tables plus one next-hop group per route, and the
// per-packet decision over it. Immutable once built: the control thread builds
// a new one off the hot path (reload) and publishes it by pointer; liveness
// changes need no rebuild, only a new `up_mask` (next_hop.h).
//
//   routes:
//     - { prefix: "10.2.0.0/16", via: [east, west] }              # failover
//     - { prefix: "2001:db8::/32", via: [east, west], ecmp: true }
//     - { prefix: "10.9.0.0/16", drop: blackhole }                # or unreachable, prohibit
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ferry/route/icmp.h"
#include "ferry/route/inner.h"
#include "ferry/route/ip.h"
#include "ferry/route/lpm.h"
#include "ferry/route/next_hop.h"
#include "ferry/route/route_set.h"

namespace ferry::route {

// One `routes:` entry as the config parser read it (text not yet validated).
struct RouteSpec {
  std::string prefix;            // "10.2.0.0/16"
  std::vector<std::string> via;  // interface names, in preference order
  bool ecmp = false;
  std::string drop =
      {};  // "blackhole", "unreachable" or "prohibit" (then no `via`); empty: forwards
  // ECMP only: per `via` entry its weight (1..kMaxWeight), a weighted ECMP
  // group (next_hop.h); empty: every interface's share the same.
  std::vector<uint32_t> weights = {};
};

// A problem found in the routes, located so that the config parser can print
// file:line:column: route index, the field, and for `via` the item index.
struct RouteIssue {
  enum class Severity : uint8_t { kError, kWarning };
  enum class Field : uint8_t { kPrefix, kVia, kEcmp, kDrop, kWeights };
  size_t route = 0;
  Field field = Field::kPrefix;
  // Index in `via` (Field::kVia) or `weights` (Field::kWeights; kWholeList:
  // the list as a whole), else 0.
  size_t item = 0;
  static constexpr size_t kWholeList = SIZE_MAX;
  Severity severity = Severity::kError;
  std::string message;
};

struct RouteTableOptions {
  // Host bits in a prefix ("10.2.0.1/16"): kReject makes it an error; kKeep a
  // warning, and the route uses the masked prefix.
  HostBits host_bits = HostBits::kReject;
  // Seed of the ECMP flow hash (inner.h flowHash). One table serves every
  // dataplane, so all of them choose the same path for a flow.
  uint32_t hash_seed = 0;
};

// What to do with one inner packet.
struct Decision {
  Verdict verdict = Verdict::kBadInnerHeader;  // kForward, or the drop reason to count
  uint32_t interface = kAllDown;               // egress interface index (kForward)
  uint32_t route = kNoRouteIndex;  // the matched route (per-route counters), or kNoRouteIndex
  uint32_t length = 0;            // bytes of the payload to send (kForward)
  Family family = Family::kIpv4;  // of the inner packet (which ICMP source to use)
  // The ICMP error that applies (send it if configured and the rate limit
  // allows; the builder may still decline, icmp.h): Time Exceeded for
  // kTtlExceeded; Destination Unreachable for kNoRoute and kAllNextHopsDown
  // (fail closed: traffic is not sent over a link BFD calls down) and for
  // kUnreachable (a `drop: unreachable` route); administratively prohibited
  // for kProhibited (`drop: prohibit`); none for kBlackhole.
  std::optional<IcmpError> icmp;
};

class RouteTable {
 public:
  // An empty table: every packet is kNoRoute.
  RouteTable() = default;

  // Validates every route and reports all problems found (errors and
  // warnings) in `issues`, in route order; returns the table when there is no
  // error. Checks: prefix syntax and length, host bits (per options), duplicate
  // prefixes (after masking; reported on the later route), `via` empty,
  // naming an unknown interface, or naming one twice, more than
  // kMaxGroupMembers interfaces, `ecmp: true` with fewer than two interfaces;
  // `drop` other than blackhole/unreachable/prohibit, or with `via`, `ecmp`
  // or `weights`; `weights` without `ecmp: true`, not one per `via` entry, or
  // one outside 1..kMaxWeight.
  // `interfaces` are the configured interface names; a name's position is its
  // interface index (the bit in up_mask), so at most kMaxInterfaces of them.
  static std::optional<RouteTable> build(std::span<const RouteSpec> routes,
                                         std::span<const std::string> interfaces,
                                         const RouteTableOptions& options,
                                         std::vector<RouteIssue>* issues);

  // Builds the tries over routes already checked (a routes file, see
  // route_set.h), sharing `routes` rather than copying it. Fails (saying why
  // in `error`) only on a duplicate prefix. Only options.hash_seed applies.
  static std::optional<RouteTable> build(std::shared_ptr<const RouteSet> routes,
                                         const RouteTableOptions& options, std::string* error);

  // The table over `routes` made from this one when the two differ in a few
  // prefixes (LpmTable::patchIndexed): `head_order` lists routes' first
  // head_order.size() routes in prefix order (the rest are in prefix
  // order), `renumber` maps this table's route indices to routes' (or
  // kNoRouteIndex: gone), and `changed` are the prefixes in exactly one of
  // the two. Each family's trie is patched, or built afresh where a patch
  // declines; `tries_patched` (if set) says how many were patched (0..2).
  // Fails (saying why in `error`) only as build() does, on a duplicate prefix.
  std::optional<RouteTable> patched(std::shared_ptr<const RouteSet> routes,
                                    std::span<const uint32_t> head_order,
                                    std::span<const uint32_t> renumber,
                                    std::span<const Prefix> changed, std::string* error,
                                    unsigned* tries_patched = nullptr) const;

  // Per packet, in place on the UDP payload: parse and validate the inner
  // packet, look its destination up, choose the next hop among the members
  // that are up in `up_mask`, and — only when forwarding — decrement the TTL.
  // The TTL is checked after the route, as Linux does: with TTL ≤ 1 a packet
  // that would be forwarded is kTtlExceeded, but one with no route, a drop
  // route or no next hop up gets that verdict (and its ICMP error) instead.
  // Any other outcome leaves the bytes untouched (so an ICMP error quotes the
  // packet as received).
  Decision forward(std::span<uint8_t> payload, uint64_t up_mask) const noexcept;

  // forward() for each of a run of packets (the segments of one GRO train):
  // out[i] is what forward(payloads[i], up_mask) returns, with the same
  // writes. The destinations are looked up in one batch per family
  // (LpmTable's batch lookup), which overlaps the trie walks' cache misses:
  // an IPv6 walk one address at a time runs nearly serially. `out` must be at
  // least as long as `payloads`; any length works (taken kMaxBatch at a time).
  void forward(std::span<const std::span<uint8_t>> payloads, uint64_t up_mask,
               std::span<Decision> out) const noexcept;
  static constexpr size_t kMaxBatch = 64;

  // The index of the route for `destination`, or kNoRouteIndex.
  uint32_t lookup(const IpAddress& destination) const noexcept {
    return destination.isV4() ? v4_.lookup(destination.v4()) : v6_.lookup(destination.v6());
  }

  size_t size() const noexcept { return routes_->size(); }
  const Prefix& prefix(uint32_t route) const noexcept { return routes_->prefix(route); }
  // For each route of this table (by index), the index of the route with
  // the same prefix in `previous`, or kNoRouteIndex (a table's prefixes are
  // unique: build() refuses duplicates): how per-route counters
  // carry over when this table replaces `previous` (RouteCounters). Sorts
  // both tables' prefixes, except a sorted tail: O(n log n + m log m) at
  // worst, 50–80 ms for 1.2 M routes each (an FPM batch's TableMerger
  // has them from its merge instead).
  std::vector<uint32_t> indicesIn(const RouteTable& previous) const;
  const NextHopGroup& group(uint32_t route) const noexcept { return routes_->group(route); }
  uint32_t hashSeed() const noexcept { return seed_; }
  // The tries and the routes (which a config may share).
  size_t memoryBytes() const noexcept {
    return v4_.memoryBytes() + v6_.memoryBytes() + routes_->memoryBytes();
  }

 private:
  // Builds v4_ and v6_ over routes_.
  bool buildTries(std::string* error);
  // Whether the route decides the packet's fate: forwardable, or TTL ≤ 1
  // (then the route says whether it is Time Exceeded or another answer).
  static bool needsLookup(const InnerPacket& p) noexcept {
    return p.verdict == Verdict::kForward || p.verdict == Verdict::kTtlExceeded;
  }
  // The rest of forward() once the destination's route is known.
  void finish(std::span<uint8_t> payload, const InnerPacket& p, uint32_t route, uint64_t up_mask,
              Decision& d) const noexcept;
  void forwardBatch(std::span<const std::span<uint8_t>> payloads, uint64_t up_mask,
                    Decision* out) const noexcept;
  Ipv4Lpm v4_;
  Ipv6Lpm v6_;
  std::shared_ptr<const RouteSet> routes_ = std::make_shared<const RouteSet>();
  uint32_t seed_ = 0;
};

std::string_view toString(RouteIssue::Field field) noexcept;  // "prefix", "via", "ecmp", …

}  // namespace ferry::route
