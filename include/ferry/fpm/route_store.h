// RouteStore: the routes zebra has streamed over FPM (decoder.h), kept
// between forwarding snapshots, and turned into next-hop groups of ferry
// interfaces. Pure: no I/O; time is passed in (microseconds, any monotonic
// origin), so tests drive batching and the stale sweep exactly.
//
// Next hops → interfaces: a next-hop address maps to the configured interface
// whose `peer` has that address (the port is not compared). A route's next
// hops that map to no interface are counted (unmapped_nexthops) and dropped
// from its group; a route none of whose next hops maps (or that has no
// gateway at all: interface-only, blackhole/unreachable, unknown next-hop
// id) is left out of the table and counted (left_out). Several next hops
// → an ECMP group over their interfaces (each interface once, in the order
// zebra sent them; at most kMaxGroupMembers). zebra's next-hop weights
// (RTA_MULTIPATH, NHA_GROUP) make it a weighted ECMP group; two next hops
// on one interface add their weights (capped at route::kMaxWeight), and an
// unmapped next hop's share goes to the others, in proportion.
//
// Batching: publishDue(now) is true when something changed and the last
// publish is at least batch_us ago, so a burst of a million updates becomes a
// few rebuilds while a lone update after a quiet spell is published at once.
// A rebuild of a full table takes hundreds of milliseconds, more than
// batch_us: the gap is then twice the last rebuild's time instead, so that a
// steady stream of changes keeps the thread that rebuilds at most half busy
// rather than rebuilding back to back.
//
// zebra going away: the routes stay (forwarding goes on with the last table).
// On the next connection, the routes' next-hop ids are resolved to addresses
// and the next-hop objects forgotten (ids belong to one zebra process), and
// a resync starts: routes zebra re-sends are fresh again. The routes not
// re-sent are swept once the connection is resync_us old and the stream has
// been quiet for quiet_us (a full table still streaming in is not cut
// short), and at the latest resync_max_us after the connection. Like BGP
// graceful restart's stale timer, resync_us must cover zebra's own restart:
// its clients (staticd, bgpd) reconnect and re-announce seconds after it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ferry/fpm/decoder.h"
#include "ferry/route/ip.h"
#include "ferry/route/next_hop.h"
#include "ferry/route/route_set.h"
#include "ferry/route/route_table.h"

namespace ferry::fpm {

// The FPM routes resolved to interfaces, in prefix order: what a forwarding
// snapshot takes from the store.
struct ResolvedRoutes {
  // On huge pages where large: a full table's list (86 MB) is written anew
  // at every batch, and on 4 KiB pages its page faults were two thirds of
  // the store's take (bench/RESULTS.md, "Patched, not rebuilt").
  std::vector<std::pair<route::Prefix, route::NextHopGroup>,
              route::HugePageAllocator<std::pair<route::Prefix, route::NextHopGroup>>>
      routes;
  size_t left_out = 0;           // routes with no usable next hop
  size_t unmapped_nexthops = 0;  // next hops (per route) that are no interface's peer
  // The first kLeftOutListed routes left out, with why (for show routes).
  std::vector<std::pair<route::Prefix, std::string>> left_out_examples;
  static constexpr size_t kLeftOutListed = 20;
};

struct StoreCounters {
  uint64_t route_adds = 0;     // RTM_NEWROUTE applied (new or replacing)
  uint64_t route_deletes = 0;  // RTM_DELROUTE that removed a route
  uint64_t nexthop_adds = 0;
  uint64_t nexthop_deletes = 0;
  uint64_t stale_swept = 0;  // routes removed by a stale sweep
  uint64_t sweeps = 0;
};

class RouteStore {
 public:
  struct Options {
    uint64_t batch_us = 100'000;
    uint64_t resync_us = 30'000'000;
    uint64_t quiet_us = 1'000'000;
    uint64_t resync_max_us = 300'000'000;
    // Changes kept aside before they are folded in without a publish.
    size_t max_pending = 65'536;
  };

  // `peers`: per interface index, its peer's address (nullopt: no peer).
  RouteStore(std::vector<std::optional<route::IpAddress>> peers, Options options);

  // A zebra connection starts (see above) / ends.
  void connected(uint64_t now_us);
  void disconnected(uint64_t now_us);
  void apply(const Update& update, uint64_t now_us);
  // Runs the stale sweep when the resync is over.
  void tick(uint64_t now_us);

  bool publishDue(uint64_t now_us) const noexcept {
    return dirty_ && now_us >= last_publish_us_ + batchGap();
  }
  // How long the last publish took, from take() to the table in place: the
  // next waits at least twice that after it started (see Batching above).
  void built(uint64_t build_us) noexcept { last_build_us_ = build_us; }
  // The least time from one publish's start to the next one's.
  uint64_t batchGap() const noexcept { return std::max(options_.batch_us, 2 * last_build_us_); }
  // The next time tick()/publish has something to do, or UINT64_MAX.
  uint64_t nextDeadline() const noexcept;
  // The routes as they stand, resolved to interfaces. Marks the store clean
  // as of `now_us` (the caller publishes what it got).
  ResolvedRoutes take(uint64_t now_us);
  ResolvedRoutes resolve() const;

  // Makes the next publishDue() true as if a route had changed (the config's
  // routes changed: the merge must be redone).
  void markChanged() noexcept { dirty_ = true; }
  bool dirty() const noexcept { return dirty_; }
  bool resyncing() const noexcept { return resyncing_; }
  size_t routeCount() const noexcept { return route_count_; }
  size_t nextHopCount() const noexcept { return nexthops_.size(); }
  const StoreCounters& counters() const noexcept { return counters_; }
  // The first kLeftOutListed routes the last sweep removed.
  const std::vector<route::Prefix>& lastSwept() const noexcept { return last_swept_; }

 private:
  // One route, 40 bytes. The routes live in `base_`, sorted by prefix and
  // packed, plus the changes since the last fold in `delta_` (a small
  // ordered map): a change costs a map insert and, the first time a prefix
  // changes between folds, a binary search of base_ (to keep the count), and
  // take() folds the changes in with one sequential merge, instead of a tree
  // of a million nodes walked at every publish (bench/RESULTS.md, "A full
  // table over FPM").
  struct StoredRoute {
    route::Prefix prefix;
    uint32_t gateways = 0;    // index in gateway_lists_ (0: none)
    uint32_t nexthop_id = 0;  // when set, the gateways come from this next-hop object
    uint32_t generation = 0;  // the connection that last sent it
    uint8_t type = 1;         // rtm_type (RTN_UNICAST: forwards)
  };
  struct StoredNextHop {
    std::optional<route::IpAddress> gateway;
    std::vector<uint32_t> group;
    std::vector<uint16_t> weights;  // per group member; empty: all 1
    bool blackhole = false;
  };
  // A next hop with its weight (1 unless zebra sent one).
  struct Hop {
    route::IpAddress address;
    uint16_t weight = 1;
  };
  using Hops = std::vector<Hop>;
  // What a route's next hops resolve to (the same for every route with the
  // same gateways or next-hop id): a group, or why the route is left out.
  struct Resolution {
    std::optional<route::NextHopGroup> group;
    std::string why;
    size_t unmapped = 0;  // next hops that are no interface's peer
  };
  struct GatewaysLess {
    bool operator()(const Hops& a, const Hops& b) const noexcept;
  };

  // The addresses of next-hop object `id` (a group's members' gateways);
  // empty with `why` set when it has none.
  Hops gatewaysOf(uint32_t id, std::string* why) const;
  // Interface index of the interface whose peer is `gateway`, or -1.
  int interfaceOf(const route::IpAddress& gateway) const noexcept;
  Resolution resolveGateways(const Hops& gateways, std::string why) const;
  // An update's gateways with their weights.
  static Hops hopsOf(const RouteUpdate& update);
  // The index of `gateways` in gateway_lists_, added if new.
  uint32_t intern(const Hops& gateways);
  // Whether base_ has a route for `prefix` / a route for it exists (in
  // delta_, else in base_).
  bool inBase(const route::Prefix& prefix) const;
  bool exists(const route::Prefix& prefix) const;
  // Merges delta_ into base_ (one sequential pass), and drops gateway
  // lists no route uses any more when they have piled up.
  void fold();
  // Calls fn(const StoredRoute&) for every route in prefix order, base_ and
  // delta_ merged.
  template <typename Fn>
  void forEach(Fn&& fn) const;

  std::vector<std::optional<route::IpAddress>> peers_;
  Options options_;
  std::vector<StoredRoute> base_;                                 // sorted by prefix
  std::map<route::Prefix, std::optional<StoredRoute>> delta_;     // nullopt: deleted
  size_t route_count_ = 0;
  std::vector<Hops> gateway_lists_{{}};                           // [0]: none
  std::map<Hops, uint32_t, GatewaysLess> gateway_index_;
  size_t gateway_lists_kept_ = 1;  // after the last clean-up
  // Next hops in gateway_lists_, and how many the last clean-up kept: a
  // stream that sends one prefix over and over with new next hops grows the
  // lists without growing delta_, so it too makes a fold.
  size_t interned_hops_ = 0;
  size_t interned_hops_kept_ = 0;
  std::unordered_map<uint32_t, StoredNextHop> nexthops_;
  StoreCounters counters_;
  std::vector<route::Prefix> last_swept_;
  uint32_t generation_ = 0;
  bool dirty_ = false;
  bool resyncing_ = false;
  uint64_t last_publish_us_ = 0;
  uint64_t last_build_us_ = 0;
  uint64_t resync_start_us_ = 0;
  uint64_t last_message_us_ = 0;
};

struct MergeStats {
  size_t config_routes = 0;
  size_t fpm_routes = 0;
  size_t shadowed = 0;  // FPM routes whose prefix the config also has (the config's wins)
};

// One RouteSet of the config's routes (first, in their order) and the FPM
// routes (after, in prefix order) whose prefix the config does not have: on
// the same prefix the config's route wins, as a static route of lower
// administrative distance would. `config` may be null (no config routes).
std::shared_ptr<const route::RouteSet> mergeRoutes(const route::RouteTable* config,
                                                   const ResolvedRoutes& fpm, MergeStats* stats);

// mergeRoutes, then the forwarding table over the result (ECMP `hash_seed`).
// Throws std::runtime_error only if the tries cannot be built.
struct MergedTable {
  std::shared_ptr<const route::RouteTable> table;
  MergeStats stats;
};
MergedTable buildMerged(const route::RouteTable* config, const ResolvedRoutes& fpm,
                        uint32_t hash_seed);

// The FPM routes of a table buildMerged made: its last `fpm_routes` routes
// (what a reload merges with the new config's routes).
ResolvedRoutes fpmRoutesOf(const route::RouteTable& table, size_t fpm_routes);

}  // namespace ferry::fpm
