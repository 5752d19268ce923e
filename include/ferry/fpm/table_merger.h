// TableMerger: builds each FPM batch's forwarding table, the config's routes
// and then zebra's (mergeRoutes, route_store.h), from the table it built for
// the last batch when that one is still the running table.
//
// A batch at a full table (1.2 M routes) used to rebuild everything: sort
// and build both tries, then sort both tables' prefixes to carry the
// per-route counters over (RouteTable::indicesIn), about 0.3 s of a core
// even when zebra changed one route. Now one sequential walk over the last
// table's zebra routes and the new ones gives the new route list, which
// prefixes came and went, and each route's index in the running table (the
// counters' carry-over); the tries are then patched where those prefixes
// are (LpmTable::patchIndexed) rather than rebuilt. Figures: bench/RESULTS.md,
// "A full table over FPM".
//
// It builds afresh when it cannot patch: its first table, after the
// config's routes changed (a reload publishes its own table), when the
// running table is not the one it built, and when the zebra routes do not
// come in prefix order (then the next batch too: its walk needs the running
// table's zebra routes in order); each trie is also built afresh where a patch
// declines (changes over a wide range of addresses, or too much left
// unreachable by earlier patches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "ferry/fpm/route_store.h"
#include "ferry/route/ip.h"
#include "ferry/route/route_table.h"

namespace ferry::fpm {

class TableMerger {
 public:
  struct Result {
    std::shared_ptr<const route::RouteTable> table;
    MergeStats stats;
    // Per route of `table`: the index of the same prefix in `running`, or
    // route::kNoRouteIndex (RouteCounters::carryOver).
    std::vector<uint32_t> from;
    unsigned tries_patched = 0;  // 0..2: tries made from the last table's
  };

  // `config`: the config's own routes (may be null); `running`: the table
  // the dataplanes use now (may be null); `fpm`: zebra's routes in prefix
  // order (RouteStore::take). Throws std::runtime_error only if a trie
  // cannot be built (not expected: the merge leaves no duplicate prefix).
  Result merge(const std::shared_ptr<const route::RouteTable>& config,
               const std::shared_ptr<const route::RouteTable>& running, const ResolvedRoutes& fpm,
               uint32_t hash_seed);

 private:
  Result build(const std::shared_ptr<const route::RouteTable>& config,
               const std::shared_ptr<const route::RouteTable>& running, const ResolvedRoutes& fpm,
               uint32_t hash_seed);
  // Remembers `config` and the order of its prefixes (for the tries, and
  // to find the zebra routes it shadows by walking both in order).
  void adopt(const std::shared_ptr<const route::RouteTable>& config);

  std::weak_ptr<const route::RouteTable> last_;  // the table merge() returned last
  std::shared_ptr<const route::RouteTable> config_;
  std::vector<uint32_t> config_order_;  // config_'s route indices in prefix order
};

}  // namespace ferry::fpm
