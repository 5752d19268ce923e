// Longest-prefix-match tables for IPv4 and IPv6: built once (off the hot path)
// from a list of (prefix, value), then immutable; lookup() is a const,
// noexcept, allocation-free read that any number of threads may run at once
// on a shared table (publish the table by pointer, RCU-style; see published.h).
//
// Structure: Poptrie (Asai & Ohara, "Poptrie: A Compressed Trie with
// Population Count for Fast and Scalable Software IP Routing Table Lookup",
// SIGCOMM 2015), one implementation for both families:
//
//  - a direct-pointing array indexed by the top kDirectBits of the address
//    (IPv4: 18 bits → 1 MiB; IPv6: 16 bits → 256 KiB), each entry a value or
//    the index of a trie node;
//  - below it, 6-bit-stride nodes of 24 bytes: a 64-bit bitmap of which of the
//    64 slots are child nodes, a 64-bit bitmap of where runs of equal leaves
//    start, and the base indices of the node's children and leaves, which are
//    stored contiguously so that popcount(bitmap & below-slot) is the offset.
//    Runs of equal leaves are stored once (leaf compression).
//
// Why not DIR-24-8 for IPv4: its first level alone is 2^24 entries (64 MiB
// with 32-bit values, 32 MiB with 16-bit indices), a reload holds two tables at
// once, and a ferry-sized table of a few routes would still touch all of it.
// This trie holds a 1,000,000-route table in ~13 MiB (16 MiB reserved on 2 MiB
// huge pages, see huge_pages.h; ~4x less than DIR-24-8; a small table
// in the 1 MiB direct array), builds it in ~150 ms, and needs at most a few
// dependent 24-byte loads per lookup (IPv4: the direct entry, ≤ 3 nodes, 1
// leaf; a /24 resolves in the first node). With random addresses both designs
// are DRAM-bound; figures in bench/RESULTS.md.
// For IPv6 the same trie with a 16-bit direct level needs ≤ 6 nodes for a /48
// and ≤ 8 for a /64; hash tables per prefix length (binary search on lengths)
// would need ~log2(number of lengths) ≈ 5-7 random probes with 128-bit keys and
// markers, i.e. no fewer cache misses, and are harder to make compact. A
// /0 route, host routes (/32, /128) and overlapping prefixes all work.
//
// Performance note: lookups use popcount; built without -mpopcnt (baseline
// x86-64) it is 12 inline ALU ops, ~35% slower than with the instruction.
//
// Values are caller-chosen uint32 in [0, kMaxValue] (suggested: the route's
// index in the config, which maps to its next-hop group and its per-route
// packet counter); kNoRouteIndex means no prefix matched.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ferry/route/huge_pages.h"
#include "ferry/route/ip.h"

namespace ferry::route {

inline constexpr uint32_t kNoRouteIndex = UINT32_MAX;
// Values use 31 bits: a direct-array entry keeps the top bit to mark a node.
inline constexpr uint32_t kMaxValue = 0x7fffffff;

// One route of a table under construction.
struct Route {
  Prefix prefix;   // host bits, if any, are ignored (the prefix is masked)
  uint32_t value;  // 0..kMaxValue
};

namespace detail {

// A 128-bit key: IPv4 addresses sit in the top 32 bits of hi, so bit offsets
// count from the most significant bit for both families.
struct LpmKey {
  uint64_t hi;
  uint64_t lo;
};

// Population count without a library call: with -mpopcnt (x86-64-v2 and
// later) the popcnt instruction; on baseline x86-64 GCC would otherwise call
// libgcc's table-driven __popcountdi2, so use the branch-free SWAR form inline.
inline unsigned popcount64(uint64_t x) noexcept {
#if defined(__POPCNT__) || !defined(__x86_64__)
  return static_cast<unsigned>(std::popcount(x));
#else
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
  return static_cast<unsigned>((x * 0x0101010101010101ull) >> 56);
#endif
}

struct Ipv4Traits {
  using Address = Ipv4;
  static constexpr unsigned kWidth = 32;
  // 18 bits: 1 MiB of direct entries; a /24 is then resolved by one node.
  static constexpr unsigned kDirectBits = 18;
  static LpmKey key(Ipv4 a) noexcept { return {uint64_t{a} << 32, 0}; }
  // Offsets are 18, 24, 30: the 6 bits always lie within hi.
  static unsigned slot(const LpmKey& k, unsigned offset) noexcept {
    return static_cast<unsigned>((k.hi << offset) >> 58);
  }
};

struct Ipv6Traits {
  using Address = Ipv6;
  static constexpr unsigned kWidth = 128;
  // 16 bits: 256 KiB of direct entries, and 16 + 6k reaches 64 exactly, so no
  // 6-bit slot straddles hi and lo.
  static constexpr unsigned kDirectBits = 16;
  static LpmKey key(const Ipv6& a) noexcept { return {a.hi, a.lo}; }
  // Past bit 127 the slot reads zeros: a /128 ends 2 bits into the last node.
  static unsigned slot(const LpmKey& k, unsigned offset) noexcept {
    return static_cast<unsigned>(offset < 64 ? (k.hi << offset) >> 58
                                             : (k.lo << (offset - 64)) >> 58);
  }
};

}  // namespace detail

template <class Traits>
class LpmTable {
 public:
  using Address = typename Traits::Address;

  // An empty table: every lookup is kNoRouteIndex.
  LpmTable();

  // Builds the table. Fails, naming the offending route, on a prefix of the
  // other family, a value above kMaxValue, or a duplicate prefix (compared
  // after masking host bits). Allocates; run it off the hot path.
  static std::optional<LpmTable> build(std::span<const Route> routes, std::string* error = nullptr);
  // The same over the prefixes of this table's family in `prefixes` (the
  // others are skipped), each with its index in `prefixes` as its value: a
  // table of both families without a list of Routes in between (32 bytes a
  // route of scratch memory at a reload).
  static std::optional<LpmTable> buildIndexed(std::span<const Prefix> prefixes,
                                              std::string* error = nullptr);

  // A table's routes for patchIndexed: `prefixes` (masked, each at most
  // once; a route's value is its index), of which prefixes[head_order.size()..] are
  // in prefix order and head_order lists the indices before that, in prefix
  // order (a forwarding table is the config's routes, in config order, then
  // zebra's, sorted).
  struct IndexedRoutes {
    std::span<const Prefix> prefixes;
    std::span<const uint32_t> head_order;
  };
  // buildIndexed(routes.prefixes) for a table that differs from the one this
  // table was built from in a few routes, made by rebuilding only the
  // direct-array slots those routes cover and copying the rest, renumbered:
  // O(the table's size) in copies plus O(the changed slots' routes), instead
  // of sorting and building everything (bench/RESULTS.md, "A full table over
  // FPM"). `renumber[v]` is the new value of this table's value v, or
  // kNoRouteIndex for a route that is gone; `changed` are the prefixes in
  // exactly one of the two tables (the other family's are skipped). The
  // replaced subtrees stay in the arrays, unreachable, until a fresh build.
  // nullopt when a fresh build is the better deal: the changes cover more
  // than 1/16 of the direct slots, or the unreachable subtrees would
  // outgrow the live ones.
  std::optional<LpmTable> patchIndexed(const IndexedRoutes& routes,
                                       std::span<const uint32_t> renumber,
                                       std::span<const Prefix> changed) const;

  // The value of the longest prefix containing `address`, or kNoRouteIndex.
  uint32_t lookup(Address address) const noexcept;

  // values[i] = lookup(addresses[i]) for i < addresses.size() (values must be
  // at least as long). Walks up to kBatch addresses level by level, prefetching
  // each level's nodes for all of them before reading any: one lookup at a
  // time, a mispredicted "leaf reached" branch discards the next lookups'
  // loads that the CPU had started, so deep (IPv6) walks run nearly serially.
  void lookup(std::span<const Address> addresses, std::span<uint32_t> values) const noexcept;
  static constexpr size_t kBatch = 16;

  size_t routeCount() const noexcept { return route_count_; }
  // Bytes reserved for the lookup structure (direct array, nodes, leaves),
  // including the rounding of each array of ≥ 1 MiB up to whole 2 MiB huge
  // pages (see huge_pages.h).
  size_t memoryBytes() const noexcept {
    return hugePageFootprint(direct_.capacity() * sizeof(uint32_t)) +
           hugePageFootprint(nodes_.capacity() * sizeof(Node)) +
           hugePageFootprint(leaves_.capacity() * sizeof(uint32_t));
  }
  size_t nodeCount() const noexcept { return nodes_.size(); }
  size_t leafCount() const noexcept { return leaves_.size(); }
  // Nodes left unreachable by patchIndexed (counted in nodeCount()).
  size_t unreachableNodes() const noexcept { return unreachable_nodes_; }

 private:
  static constexpr unsigned kStride = 6;
  // Direct entries: a value, kNoRouteIndex, or kNodeFlag | node index. With values
  // ≤ 0x7fffffff and kNoRouteIndex = 0xffffffff, `entry + 1 <= kNodeFlag` (unsigned,
  // wrapping) is true exactly for the two leaf forms.
  static constexpr uint32_t kNodeFlag = 0x80000000;

  struct Node {
    uint64_t children;     // bit s: slot s is a child node
    uint64_t leaf_starts;  // bit s: slot s is a leaf whose value differs from the previous leaf's
    uint32_t leaf_base;    // index in leaves_ of this node's first leaf run
    uint32_t child_base;   // index in nodes_ of this node's first child
  };
  static_assert(sizeof(Node) == 24);

  class Builder;
  // build() and buildIndexed(): `routes(i)` is route i of `count`.
  template <class Source>
  static std::optional<LpmTable> buildFrom(size_t count, const Source& routes, bool other_families,
                                           std::string* error);

  // On huge pages: lookups read these at random (see huge_pages.h).
  template <class T>
  using Array = std::vector<T, HugePageAllocator<T>>;
  Array<uint32_t> direct_;  // 2^kDirectBits entries
  Array<Node> nodes_;
  Array<uint32_t> leaves_;
  size_t route_count_ = 0;
  size_t unreachable_nodes_ = 0;  // patchIndexed's replaced subtrees
  size_t unreachable_leaves_ = 0;
};

template <class Traits>
inline uint32_t LpmTable<Traits>::lookup(Address address) const noexcept {
  const detail::LpmKey key = Traits::key(address);
  const uint32_t entry = direct_[key.hi >> (64 - Traits::kDirectBits)];
  if (entry + 1 <= kNodeFlag) return entry;
  uint32_t index = entry & ~kNodeFlag;
  for (unsigned offset = Traits::kDirectBits;; offset += kStride) {
    const Node& node = nodes_[index];
    const unsigned slot = Traits::slot(key, offset);
    // Slots 0..slot; for slot 63 the shift drops the bit and the mask is all ones.
    const uint64_t upto = (uint64_t{2} << slot) - 1;
    if (!(node.children >> slot & 1)) {
      return leaves_[node.leaf_base + detail::popcount64(node.leaf_starts & upto) - 1];
    }
    index = node.child_base + detail::popcount64(node.children & upto) - 1;
  }
}

template <class Traits>
inline void LpmTable<Traits>::lookup(std::span<const Address> addresses,
                                     std::span<uint32_t> values) const noexcept {
  for (size_t base = 0; base < addresses.size(); base += kBatch) {
    const size_t n = std::min(kBatch, addresses.size() - base);
    detail::LpmKey keys[kBatch];
    uint32_t index[kBatch];
    uint8_t active[kBatch];  // lanes still walking nodes
    size_t active_count = 0;
    for (size_t k = 0; k < n; ++k) {
      keys[k] = Traits::key(addresses[base + k]);
      __builtin_prefetch(&direct_[keys[k].hi >> (64 - Traits::kDirectBits)]);
    }
    for (size_t k = 0; k < n; ++k) {
      const uint32_t entry = direct_[keys[k].hi >> (64 - Traits::kDirectBits)];
      if (entry + 1 <= kNodeFlag) {
        values[base + k] = entry;
        continue;
      }
      index[k] = entry & ~kNodeFlag;
      __builtin_prefetch(&nodes_[index[k]]);
      active[active_count++] = static_cast<uint8_t>(k);
    }
    for (unsigned offset = Traits::kDirectBits; active_count > 0; offset += kStride) {
      size_t still = 0;
      for (size_t a = 0; a < active_count; ++a) {
        const size_t k = active[a];
        const Node& node = nodes_[index[k]];
        const unsigned slot = Traits::slot(keys[k], offset);
        const uint64_t upto = (uint64_t{2} << slot) - 1;
        if (!(node.children >> slot & 1)) {
          values[base + k] =
              leaves_[node.leaf_base + detail::popcount64(node.leaf_starts & upto) - 1];
          continue;
        }
        index[k] = node.child_base + detail::popcount64(node.children & upto) - 1;
        __builtin_prefetch(&nodes_[index[k]]);
        active[still++] = static_cast<uint8_t>(k);
      }
      active_count = still;
    }
  }
}

using Ipv4Lpm = LpmTable<detail::Ipv4Traits>;
using Ipv6Lpm = LpmTable<detail::Ipv6Traits>;

extern template class LpmTable<detail::Ipv4Traits>;
extern template class LpmTable<detail::Ipv6Traits>;

}  // namespace ferry::route
