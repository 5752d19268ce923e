// Synthetic routing tables with realistic prefix-length distributions for the
// route-mode benchmarks. Deterministic (fixed seeds), so runs are comparable.
#pragma once

#include <cstdint>
#include <random>
#include <unordered_set>
#include <vector>

#include "ferry/route/lpm.h"

namespace ferry::route::bench {

// IPv4, shaped like the 2024 Internet table (mostly /24, then /22, /23, /21,
// /20, /19, /16; a few /8-/15) plus 0.5% of /25-/32 for internal routes.
// Addresses are uniform over 1.0.0.0-223.255.255.255 without 10/8 and 127/8.
inline std::vector<Route> ipv4Table(size_t count, uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  // (length, weight in 1/10000)
  static constexpr std::pair<unsigned, unsigned> kShape[] = {
      {24, 5800}, {23, 900}, {22, 1100}, {21, 500}, {20, 500}, {19, 400}, {18, 200},
      {17, 150},  {16, 250}, {15, 40},   {14, 40},  {13, 30},  {12, 20},  {11, 10},
      {10, 5},    {9, 3},    {8, 2},     {25, 10},  {26, 10},  {27, 10},  {28, 5},
      {29, 5},    {30, 5},   {31, 2},    {32, 3},
  };
  std::vector<unsigned> lengths;
  for (const auto& [len, weight] : kShape) lengths.insert(lengths.end(), weight, len);
  std::unordered_set<uint64_t> seen;
  std::vector<Route> routes;
  routes.reserve(count);
  while (routes.size() < count) {
    const unsigned len = lengths[rng() % lengths.size()];
    uint32_t first;
    do first = 1 + static_cast<uint32_t>(rng() % 223);
    while (first == 10 || first == 127);
    const Ipv4 addr = ((first << 24) | (static_cast<uint32_t>(rng()) & 0xffffff)) & ipv4Mask(len);
    if (!seen.insert(uint64_t{addr} << 8 | len).second) continue;
    routes.push_back({Prefix::v4(addr, len), static_cast<uint32_t>(routes.size() % 4096)});
  }
  return routes;
}

// IPv6, shaped like the 2024 Internet table: mostly /48, then /32-/44, /56,
// /64 and a few /128. Prefixes lie inside 20,000 random /32 "allocations" in
// 2000::/3, as real ones cluster inside RIR allocations.
inline std::vector<Route> ipv6Table(size_t count, uint64_t seed = 43) {
  std::mt19937_64 rng(seed);
  static constexpr std::pair<unsigned, unsigned> kShape[] = {
      {48, 5500}, {32, 1000}, {29, 200}, {36, 300}, {40, 700},  {44, 1000},
      {46, 200},  {47, 100},  {56, 500}, {64, 400}, {128, 100},
  };
  std::vector<unsigned> lengths;
  for (const auto& [len, weight] : kShape) lengths.insert(lengths.end(), weight, len);
  std::vector<uint64_t> allocations(20'000);
  for (auto& a : allocations)
    a = (uint64_t{0x2} << 60 | (rng() & 0x1fffffffull << 32)) & ~0xffffffffull;
  struct Hash {
    size_t operator()(const std::pair<Ipv6, unsigned>& p) const noexcept {
      return std::hash<uint64_t>()(p.first.hi * 31 + p.first.lo * 7 + p.second);
    }
  };
  struct Eq {
    bool operator()(const std::pair<Ipv6, unsigned>& a, const std::pair<Ipv6, unsigned>& b) const {
      return a.first == b.first && a.second == b.second;
    }
  };
  std::unordered_set<std::pair<Ipv6, unsigned>, Hash, Eq> seen;
  std::vector<Route> routes;
  routes.reserve(count);
  while (routes.size() < count) {
    const unsigned len = lengths[rng() % lengths.size()];
    Ipv6 addr{allocations[rng() % allocations.size()] | (rng() & 0xffffffffull), rng()};
    if (len < 32) addr.hi ^= rng() << 35 >> 3;  // shorter: vary bits above /32 too
    addr = addr & ipv6Mask(len);
    if (!seen.insert({addr, len}).second) continue;
    routes.push_back({Prefix::v6(addr, len), static_cast<uint32_t>(routes.size() % 4096)});
  }
  return routes;
}

// Lookup addresses: with `matched`, a random route's prefix with random host
// bits (the traffic a router sees); otherwise uniform over the table's space.
inline std::vector<Ipv4> ipv4Addresses(const std::vector<Route>& routes, size_t count, bool matched,
                                       uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  std::vector<Ipv4> out(count);
  for (auto& a : out) {
    const auto r = static_cast<Ipv4>(rng());
    if (matched) {
      const Prefix& p = routes[rng() % routes.size()].prefix;
      a = p.v4() | (r & ~ipv4Mask(p.length()));
    } else {
      a = ((1 + static_cast<uint32_t>(rng() % 223)) << 24) | (r & 0xffffff);
    }
  }
  return out;
}

inline std::vector<Ipv6> ipv6Addresses(const std::vector<Route>& routes, size_t count, bool matched,
                                       uint64_t seed = 8) {
  std::mt19937_64 rng(seed);
  std::vector<Ipv6> out(count);
  for (auto& a : out) {
    const Ipv6 r{rng(), rng()};
    const Prefix& p = routes[rng() % routes.size()].prefix;
    // Unmatched: keep only the route's /32 allocation, so lookups still walk
    // the populated part of the trie rather than stopping at an empty slot.
    const Ipv6 m = ipv6Mask(matched ? p.length() : std::min(p.length(), 32u));
    a = {(p.v6().hi & m.hi) | (r.hi & ~m.hi), (p.v6().lo & m.lo) | (r.lo & ~m.lo)};
  }
  return out;
}

}  // namespace ferry::route::bench
