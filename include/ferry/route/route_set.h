// A routing table's contents in compact form, and the routes file that holds
// a large one.
//
// RouteSet: per route its (masked) prefix and the index of its next-hop
// group; groups are shared (a million routes over a few interfaces have a
// handful of distinct groups). About 28 bytes per route, so a full Internet
// table (1 M IPv4 + 200 k IPv6 routes) is ~34 MB, and RouteTable shares it
// with the config rather than copying it.
//
// Routes file (`routes_file:` in the config), one route per line:
//
//   # comment; blank lines are ignored
//   10.2.0.0/16      east                 # failover: a single interface
//   10.3.0.0/16      east,west            # failover: east, then west
//   2001:db8::/32    east,west  ecmp      # ECMP over both
//   10.4.0.0/16      east*3,west ecmp     # weighted ECMP: east 3/4 of the flows
//   blackhole    10.9.0.0/16              # drop routes, as iproute2 writes them
//   unreachable  2001:db8:9::/48
//   prohibit     10.8.0.0/16
//
// PREFIX, then the interfaces (comma-separated, no spaces, in failover
// order; with `ecmp`, each may carry a weight, NAME*W, 1..kMaxWeight,
// default 1), then optionally the word `ecmp`; or `blackhole` / `unreachable` /
// `prohibit` and a PREFIX (the config's `drop:`). Fields separated by spaces or tabs.
// The rules are those of the YAML `routes:` list (route_table.h), checked the
// same way, with errors as FILE:LINE: message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/route/huge_pages.h"
#include "ferry/route/ip.h"
#include "ferry/route/next_hop.h"

namespace ferry::route {

class RouteSet {
 public:
  // Appends a route; `prefix` must be masked. Returns its index.
  uint32_t add(const Prefix& prefix, const NextHopGroup& group);
  void reserve(size_t routes);

  size_t size() const noexcept { return prefixes_.size(); }
  const Prefix& prefix(uint32_t route) const noexcept { return prefixes_[route]; }
  const NextHopGroup& group(uint32_t route) const noexcept { return groups_[group_of_[route]]; }
  std::span<const Prefix> prefixes() const noexcept { return prefixes_; }
  // Starts loading what group(route) reads first (batch lookups).
  void prefetch(uint32_t route) const noexcept { __builtin_prefetch(&group_of_[route]); }
  size_t groupCount() const noexcept { return groups_.size(); }
  size_t memoryBytes() const noexcept {
    return hugePageFootprint(prefixes_.capacity() * sizeof(Prefix)) +
           hugePageFootprint(group_of_.capacity() * sizeof(uint32_t)) +
           groups_.capacity() * sizeof(NextHopGroup);
  }

 private:
  // Written anew at every FPM batch (29 MB at a full table): on huge pages,
  // which take a 512th of the page faults.
  std::vector<Prefix, HugePageAllocator<Prefix>> prefixes_;
  // Read at random per packet (RouteTable::forward), like the tries: on huge pages.
  std::vector<uint32_t, HugePageAllocator<uint32_t>> group_of_;
  std::vector<NextHopGroup> groups_;
  // Mode, member count, members, weights → index in groups_.
  std::map<std::string, uint32_t> group_index_;
  // The groups add() met last, most recent first (a table's routes use a
  // few groups, and building a key per route was the largest part of an
  // FPM batch's merge).
  static constexpr size_t kRecentGroups = 4;
  uint32_t recent_[kRecentGroups] = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};
};

struct RoutesFileError {
  size_t line = 0;  // 1-based; 0 for the file as a whole
  std::string message;
};

struct RoutesFileResult {
  std::optional<RouteSet> routes;       // set only when errors is empty
  std::vector<RoutesFileError> errors;  // in line order, at most kMaxRoutesFileErrors
  bool more_errors = false;             // errors were left out past the limit
};
inline constexpr size_t kMaxRoutesFileErrors = 50;

// Reads a routes file from `in`, streaming (memory is the RouteSet, not the
// text). `interfaces` are the configured interface names (a name's position
// is its interface index). Checks each line: the prefix (syntax, length, no
// host bits), the interfaces (known, none twice, 1..kMaxGroupMembers), `ecmp`
// with at least two, nothing else on the line, lines of at most 1024 bytes;
// then duplicate prefixes across the file (reported on the later line, naming
// the first).
RoutesFileResult readRoutesFile(std::istream& in, std::span<const std::string> interfaces);

}  // namespace ferry::route
