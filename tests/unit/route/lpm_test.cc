#include "ferry/route/lpm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <type_traits>
#include <vector>

namespace ferry::route {
namespace {

// Sanitizer builds run the randomized comparison over fewer addresses to keep
// the CI budget; the normal build checks the full 1,000,000.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr size_t kRandomAddresses = 200'000;
#else
constexpr size_t kRandomAddresses = 1'000'000;
#endif
constexpr size_t kRandomRoutes = 10'000;

std::vector<Route> parseRoutes(std::initializer_list<std::pair<const char*, uint32_t>> list) {
  std::vector<Route> routes;
  for (const auto& [text, value] : list) {
    std::string error;
    auto prefix = Prefix::parse(text, &error);
    EXPECT_TRUE(prefix) << error;
    routes.push_back({*prefix, value});
  }
  return routes;
}

struct LpmCase {
  const char* address;
  uint32_t expected;
};

// ---- Tables of (routes, address → expected value). ----

TEST(Ipv4Lpm, TableOfCases) {
  const auto routes = parseRoutes({
      {"0.0.0.0/0", 1},
      {"10.0.0.0/8", 2},
      {"10.2.0.0/16", 3},
      {"10.2.3.0/24", 4},
      {"10.2.3.4/32", 5},
      {"10.2.3.128/25", 6},
      {"10.2.3.252/30", 7},
      {"10.2.3.255/32", 8},
      {"10.2.64.0/18", 9},    // exactly the direct level
      {"10.2.128.0/17", 10},  // above it
      {"10.2.192.0/19", 11},  // just below it, inside the /17
      {"192.0.2.0/23", 12},
      {"192.0.2.0/24", 13},
      {"192.0.3.0/31", 14},
      {"255.255.255.255/32", 15},
      {"0.0.0.0/32", 16},
      {"128.0.0.0/1", 17},
  });
  std::string error;
  auto table = Ipv4Lpm::build(routes, &error);
  ASSERT_TRUE(table) << error;
  EXPECT_EQ(table->routeCount(), routes.size());
  const LpmCase cases[] = {
      {"10.2.3.4", 5},      {"10.2.3.5", 4},         {"10.2.3.3", 4},         {"10.2.3.0", 4},
      {"10.2.3.127", 4},    {"10.2.3.128", 6},       {"10.2.3.251", 6},       {"10.2.3.252", 7},
      {"10.2.3.254", 7},    {"10.2.3.255", 8},       {"10.2.4.0", 3},         {"10.2.2.255", 3},
      {"10.2.63.255", 3},   {"10.2.64.0", 9},        {"10.2.127.255", 9},     {"10.2.128.0", 10},
      {"10.2.191.255", 10}, {"10.2.192.0", 11},      {"10.2.223.255", 11},    {"10.2.224.0", 10},
      {"10.2.255.255", 10}, {"10.3.0.0", 2},         {"10.255.255.255", 2},   {"9.255.255.255", 1},
      {"11.0.0.0", 1},      {"192.0.2.1", 13},       {"192.0.3.1", 14},       {"192.0.3.2", 12},
      {"192.0.4.0", 17},    {"255.255.255.255", 15}, {"255.255.255.254", 17}, {"0.0.0.0", 16},
      {"0.0.0.1", 1},       {"127.255.255.255", 1},  {"128.0.0.0", 17},
  };
  for (const LpmCase& c : cases) {
    EXPECT_EQ(table->lookup(*parseIpv4(c.address)), c.expected) << c.address;
  }
}

TEST(Ipv4Lpm, NoMatchWithoutDefault) {
  const auto routes = parseRoutes({{"10.0.0.0/8", 0}, {"10.1.2.3/32", kMaxValue}});
  auto table = Ipv4Lpm::build(routes);
  ASSERT_TRUE(table);
  EXPECT_EQ(table->lookup(*parseIpv4("10.9.9.9")), 0u);
  EXPECT_EQ(table->lookup(*parseIpv4("10.1.2.3")), kMaxValue);
  EXPECT_EQ(table->lookup(*parseIpv4("10.1.2.2")), 0u);
  EXPECT_EQ(table->lookup(*parseIpv4("11.0.0.0")), kNoRouteIndex);
  EXPECT_EQ(table->lookup(*parseIpv4("0.0.0.0")), kNoRouteIndex);
  EXPECT_EQ(table->lookup(*parseIpv4("255.255.255.255")), kNoRouteIndex);
}

TEST(Ipv4Lpm, EmptyAndDefaultOnly) {
  Ipv4Lpm empty;
  EXPECT_EQ(empty.lookup(0x0a000001), kNoRouteIndex);
  auto built_empty = Ipv4Lpm::build({});
  ASSERT_TRUE(built_empty);
  EXPECT_EQ(built_empty->lookup(0), kNoRouteIndex);
  EXPECT_EQ(built_empty->routeCount(), 0u);
  auto def = Ipv4Lpm::build(parseRoutes({{"0.0.0.0/0", 42}}));
  ASSERT_TRUE(def);
  for (Ipv4 a : {0u, 1u, 0x0a000001u, 0x80000000u, 0xffffffffu}) EXPECT_EQ(def->lookup(a), 42u);
  EXPECT_EQ(def->nodeCount(), 0u);
}

TEST(Ipv6Lpm, TableOfCases) {
  const auto routes = parseRoutes({
      {"::/0", 1},
      {"2001:db8::/32", 2},
      {"2001:db8:1::/48", 3},
      {"2001:db8:1:2::/64", 4},
      {"2001:db8:1:2::1/128", 5},
      {"2001:db8:1:2::/127", 6},
      {"2001:db8:1:2:8000::/65", 7},
      {"2001:db8:1:2:ffff:ffff:ffff:ffff/128", 8},
      {"2001:db8:1:4::/63", 9},  // ends just before the hi/lo boundary
      {"2001::/16", 10},         // exactly the direct level
      {"2001:8000::/17", 11},
      {"::1/128", 12},
      {"::/128", 13},
      {"ff00::/8", 14},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 15},
      {"fc00::/7", 16},
      {"fd00::/8", 17},
  });
  std::string error;
  auto table = Ipv6Lpm::build(routes, &error);
  ASSERT_TRUE(table) << error;
  const LpmCase cases[] = {
      {"2001:db8:1:2::1", 5},
      {"2001:db8:1:2::", 6},
      {"2001:db8:1:2::2", 4},
      {"2001:db8:1:2:7fff:ffff:ffff:ffff", 4},
      {"2001:db8:1:2:8000::", 7},
      {"2001:db8:1:2:ffff:ffff:ffff:fffe", 7},
      {"2001:db8:1:2:ffff:ffff:ffff:ffff", 8},
      {"2001:db8:1:4::", 9},
      {"2001:db8:1:5:ffff:ffff:ffff:ffff", 9},
      {"2001:db8:1:3::", 3},
      {"2001:db8:1:1:ffff:ffff:ffff:ffff", 3},
      {"2001:db8:1:6::", 3},
      {"2001:db8:1:ffff::", 3},
      {"2001:db8:2::", 2},
      {"2001:db8:ffff:ffff::", 2},
      {"2001:db9::", 10},
      {"2001:7fff::", 10},
      {"2001:8000::", 11},
      {"2001:ffff::", 11},
      {"2002::", 1},
      {"::1", 12},
      {"::", 13},
      {"::2", 1},
      {"ff02::1", 14},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 15},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 14},
      {"fc00::1", 16},
      {"fd12::1", 17},
      {"fe00::", 1},
  };
  for (const LpmCase& c : cases) {
    EXPECT_EQ(table->lookup(*parseIpv6(c.address)), c.expected) << c.address;
  }
}

TEST(Ipv6Lpm, NoMatchWithoutDefault) {
  auto table = Ipv6Lpm::build(parseRoutes({{"2001:db8::/32", 7}, {"2001:db8::5/128", 8}}));
  ASSERT_TRUE(table);
  EXPECT_EQ(table->lookup(*parseIpv6("2001:db8::5")), 8u);
  EXPECT_EQ(table->lookup(*parseIpv6("2001:db8::4")), 7u);
  EXPECT_EQ(table->lookup(*parseIpv6("2001:db9::")), kNoRouteIndex);
  EXPECT_EQ(table->lookup(*parseIpv6("::")), kNoRouteIndex);
  Ipv6Lpm empty;
  EXPECT_EQ(empty.lookup(*parseIpv6("2001:db8::5")), kNoRouteIndex);
}

// ---- Build errors name the route. ----

TEST(LpmBuild, RejectsDuplicatePrefix) {
  std::string error;
  EXPECT_FALSE(Ipv4Lpm::build(
      parseRoutes({{"10.0.0.0/8", 1}, {"10.2.0.0/16", 2}, {"10.0.0.0/8", 3}}), &error));
  EXPECT_EQ(error, "duplicate prefix 10.0.0.0/8 (routes 0 and 2)");
  EXPECT_FALSE(Ipv6Lpm::build(parseRoutes({{"::/0", 1}, {"::/0", 1}}), &error));
  EXPECT_EQ(error, "duplicate prefix ::/0 (routes 0 and 1)");
}

TEST(LpmBuild, DuplicateAfterMaskingHostBits) {
  std::vector<Route> routes = {{*Prefix::parse("10.2.0.0/16"), 1},
                               {*Prefix::parse("10.2.0.1/16", nullptr, HostBits::kKeep), 2}};
  std::string error;
  EXPECT_FALSE(Ipv4Lpm::build(routes, &error));
  EXPECT_EQ(error, "duplicate prefix 10.2.0.0/16 (routes 0 and 1)");
  // On its own, a prefix with host bits is masked.
  auto table = Ipv4Lpm::build(std::span(routes).subspan(1));
  ASSERT_TRUE(table);
  EXPECT_EQ(table->lookup(*parseIpv4("10.2.200.1")), 2u);
}

TEST(LpmBuild, RejectsOtherFamilyAndLargeValues) {
  std::string error;
  EXPECT_FALSE(Ipv4Lpm::build(parseRoutes({{"10.0.0.0/8", 1}, {"2001:db8::/32", 2}}), &error));
  EXPECT_EQ(error, "route 1: 2001:db8::/32 is not an IPv4 prefix");
  EXPECT_FALSE(Ipv6Lpm::build(parseRoutes({{"10.0.0.0/8", 1}}), &error));
  EXPECT_EQ(error, "route 0: 10.0.0.0/8 is not an IPv6 prefix");
  EXPECT_FALSE(Ipv4Lpm::build(parseRoutes({{"10.0.0.0/8", kMaxValue + 1}}), &error));
  EXPECT_EQ(error, "route 0 (10.0.0.0/8): value 2147483648 is above the maximum 2147483647");
}

TEST(LpmBuild, ReportsMemory) {
  Ipv4Lpm v4;
  // The 1 MiB direct array is on huge pages, which reserve whole 2 MiB pages.
  EXPECT_EQ(v4.memoryBytes(), kHugePageSize);
  Ipv6Lpm v6;
  EXPECT_EQ(v6.memoryBytes(), (size_t{1} << 16) * 4);
  auto t = Ipv4Lpm::build(parseRoutes({{"10.2.3.4/32", 1}}));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->nodeCount(), 3u);  // offsets 18, 24, 30
  EXPECT_GT(t->memoryBytes(), v4.memoryBytes());
}

// ---- Randomized comparison with a brute-force reference. ----

// Per-family helpers over a 128-bit value (IPv4 in the top 32 bits of hi, as
// the table's own key), so one generator and one reference serve both.
struct Bits {
  uint64_t hi;
  uint64_t lo;
  bool operator==(const Bits&) const = default;
};

Bits maskBits(Bits b, unsigned length) {
  const Ipv6 m = ipv6Mask(length);
  return {b.hi & m.hi, b.lo & m.lo};
}

bool bitAt(const Bits& b, unsigned i) {
  return i < 64 ? (b.hi >> (63 - i) & 1) : (b.lo >> (127 - i) & 1);
}

// The textbook reference: a binary trie walked one bit at a time, remembering
// the value of the last route passed.
class Reference {
 public:
  explicit Reference(const std::vector<std::pair<Bits, unsigned>>& prefixes) {
    nodes_.push_back({});
    for (size_t i = 0; i < prefixes.size(); ++i) {
      const auto& [bits, len] = prefixes[i];
      size_t n = 0;
      for (unsigned depth = 0; depth < len; ++depth) {
        const bool bit = bitAt(bits, depth);
        if (nodes_[n].child[bit] == 0) {
          nodes_[n].child[bit] = static_cast<uint32_t>(nodes_.size());
          nodes_.push_back({});
        }
        n = nodes_[n].child[bit];
      }
      nodes_[n].value = static_cast<uint32_t>(i);
    }
  }
  uint32_t lookup(const Bits& a) const {
    uint32_t best = kNoRouteIndex;
    size_t n = 0;
    for (unsigned depth = 0;; ++depth) {
      if (nodes_[n].value != kNoRouteIndex) best = nodes_[n].value;
      if (depth == 128) break;
      const uint32_t next = nodes_[n].child[bitAt(a, depth)];
      if (next == 0) break;
      n = next;
    }
    return best;
  }

 private:
  struct Node {
    uint32_t child[2] = {0, 0};
    uint32_t value = kNoRouteIndex;
  };
  std::vector<Node> nodes_;
};

Bits randomBits(std::mt19937_64& rng, unsigned width) {
  Bits b{rng(), rng()};
  if (width == 32) b = {b.hi & ~uint64_t{0} << 32, 0};
  return b;
}

// `count` distinct random prefixes of one family (width 32 or 128). Every
// length appears; most are in the ranges real tables use; about half the
// routes nest inside an earlier one (overlaps), and a few leading bits are
// shared so that prefixes cluster as in real tables.
std::vector<std::pair<Bits, unsigned>> randomPrefixes(std::mt19937_64& rng, unsigned width,
                                                      size_t count) {
  auto randomLength = [&]() -> unsigned {
    const unsigned r = static_cast<unsigned>(rng() % 10);
    if (r < 3) return static_cast<unsigned>(rng() % (width + 1));
    if (width == 32) return r < 8 ? 16 + static_cast<unsigned>(rng() % 9) : 25 + rng() % 8;
    return r < 8 ? 32 + static_cast<unsigned>(rng() % 33) : 65 + static_cast<unsigned>(rng() % 64);
  };
  std::vector<std::pair<Bits, unsigned>> prefixes;
  std::set<std::pair<std::pair<uint64_t, uint64_t>, unsigned>> seen;
  while (prefixes.size() < count) {
    unsigned len;
    Bits addr;
    if (!prefixes.empty() && rng() % 2 == 0) {
      const auto& parent = prefixes[rng() % prefixes.size()];
      len = std::min(width, parent.second + 1 + static_cast<unsigned>(rng() % 8));
      const Bits extra = randomBits(rng, width);
      const Ipv6 pm = ipv6Mask(parent.second);
      addr = {parent.first.hi | (extra.hi & ~pm.hi), parent.first.lo | (extra.lo & ~pm.lo)};
    } else {
      len = randomLength();
      addr = randomBits(rng, width);
      addr.hi = (addr.hi & ~(uint64_t{0xf} << 60)) | (uint64_t{rng() % 3} << 60);  // cluster
    }
    addr = maskBits(addr, len);
    if (seen.insert({{addr.hi, addr.lo}, len}).second) prefixes.emplace_back(addr, len);
  }
  return prefixes;
}

Prefix toPrefix(const Bits& a, unsigned len, unsigned width) {
  return width == 32 ? Prefix::v4(static_cast<Ipv4>(a.hi >> 32), len)
                     : Prefix::v6(Ipv6{a.hi, a.lo}, len);
}

template <class Table>
void compareWithReference(unsigned width, uint64_t seed, size_t route_count = kRandomRoutes) {
  std::mt19937_64 rng(seed);
  auto randomBits = [&](unsigned w) { return ferry::route::randomBits(rng, w); };
  const auto prefixes = randomPrefixes(rng, width, route_count);
  std::vector<Route> routes;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const auto& [a, len] = prefixes[i];
    routes.push_back({toPrefix(a, len, width), static_cast<uint32_t>(i)});
  }
  std::string error;
  auto table = Table::build(routes, &error);
  ASSERT_TRUE(table) << error;
  const Reference reference(prefixes);

  std::vector<typename Table::Address> checked;  // for the batch interface
  auto check = [&](Bits a) {
    if constexpr (std::is_same_v<Table, Ipv4Lpm>) {
      checked.push_back(static_cast<Ipv4>(a.hi >> 32));
    } else {
      checked.push_back(Ipv6{a.hi, a.lo});
    }
    const uint32_t got = table->lookup(checked.back());
    const uint32_t want = reference.lookup(a);
    if (got != want) {
      ADD_FAILURE() << "address " << std::hex << a.hi << ":" << a.lo << ": got " << std::dec << got
                    << ", reference " << want;
      return false;
    }
    return true;
  };
  // Biased addresses: half fall inside a random route (its host bits random,
  // a quarter of those with a bit near the prefix end flipped, to land just
  // outside it or in a sibling); half are uniformly random.
  size_t hits = 0;
  for (size_t n = 0; n < kRandomAddresses; ++n) {
    Bits a = randomBits(width);
    if (n % 2 == 0) {
      const auto& [p, len] = prefixes[rng() % prefixes.size()];
      const Ipv6 pm = ipv6Mask(len);
      a = {p.hi | (a.hi & ~pm.hi), p.lo | (a.lo & ~pm.lo)};
      if (n % 8 == 0 && len > 0) {
        const unsigned bit = len - 1 - static_cast<unsigned>(rng() % std::min(len, 4u));
        if (bit < 64)
          a.hi ^= uint64_t{1} << (63 - bit);
        else
          a.lo ^= uint64_t{1} << (127 - bit);
      }
    }
    if (!check(a)) return;
    hits += reference.lookup(a) != kNoRouteIndex;
  }
  // Every route's first and last address, and the addresses just outside.
  for (const auto& [p, len] : prefixes) {
    const Ipv6 pm = ipv6Mask(len);
    Bits last{p.hi | ~pm.hi, p.lo | ~pm.lo};
    if (width == 32) last.hi &= ~uint64_t{0} << 32;
    const uint64_t one = width == 32 ? uint64_t{1} << 32 : 1;
    Bits before = p, after = last;
    if (width == 32) {
      before.hi -= one;
      after.hi += one;
    } else {
      before = {p.lo == 0 ? p.hi - 1 : p.hi, p.lo - 1};
      after = {last.lo == ~uint64_t{0} ? last.hi + 1 : last.hi, last.lo + 1};
    }
    if (!check(p) || !check(last) || !check(before) || !check(after)) return;
  }
  EXPECT_GT(hits, kRandomAddresses / 2);  // the bias works

  // The batch lookup agrees with lookup(), over whole and partial batches.
  std::vector<uint32_t> values(checked.size());
  table->lookup(checked, values);
  for (size_t i = 0; i < checked.size(); ++i) {
    ASSERT_EQ(values[i], table->lookup(checked[i])) << "address " << i;
  }
  const auto part = std::span(checked).subspan(3, Table::kBatch + 5);
  std::vector<uint32_t> part_values(part.size() + 1, 12345);
  table->lookup(part, part_values);
  for (size_t i = 0; i < part.size(); ++i) EXPECT_EQ(part_values[i], table->lookup(part[i]));
  EXPECT_EQ(part_values.back(), 12345u);  // nothing written past the addresses' count
  ::testing::Test::RecordProperty("memory_bytes", std::to_string(table->memoryBytes()));
}

TEST(Ipv4Lpm, MatchesBruteForceOnRandomTable) {
  compareWithReference<Ipv4Lpm>(32, 1);
  compareWithReference<Ipv4Lpm>(32, 2);
}

TEST(Ipv6Lpm, MatchesBruteForceOnRandomTable) {
  compareWithReference<Ipv6Lpm>(128, 3);
  compareWithReference<Ipv6Lpm>(128, 4);
}

// Large enough that nodes and leaves are above kHugePageMinBytes, so lookups
// run on the mmap'ed (huge-page) arrays rather than operator new's.
TEST(Ipv6Lpm, MatchesBruteForceOnLargeTable) {
  compareWithReference<Ipv6Lpm>(128, 5, 100'000);
}

// ---- patchIndexed: a table patched round after round looks up as a fresh build. ----

// A forwarding table's prefixes as patchIndexed sees them: a head in no
// order (the config's routes) and a sorted tail (zebra's), of both families.
struct PrefixList {
  std::vector<Prefix> prefixes;
  std::vector<uint32_t> head_order;
};

PrefixList makeList(const std::vector<Prefix>& head, const std::set<Prefix>& tail) {
  PrefixList list;
  list.prefixes = head;
  list.prefixes.insert(list.prefixes.end(), tail.begin(), tail.end());
  list.head_order.resize(head.size());
  std::iota(list.head_order.begin(), list.head_order.end(), 0u);
  std::sort(list.head_order.begin(), list.head_order.end(),
            [&](uint32_t a, uint32_t b) { return list.prefixes[a] < list.prefixes[b]; });
  return list;
}

Bits bitsOf(const Prefix& p) {
  return p.isV4() ? Bits{uint64_t{p.v4()} << 32, 0} : Bits{p.v6().hi, p.v6().lo};
}

// Each probe prefix's first and last address and the ones just outside, and
// random addresses: the same value from both tables.
template <class Table>
void expectSameLookups(const Table& patched, const Table& fresh, std::span<const Prefix> probes,
                       std::mt19937_64& rng, const std::string& round) {
  constexpr unsigned width = std::is_same_v<Table, Ipv4Lpm> ? 32 : 128;
  const auto check = [&](Bits a) {
    typename Table::Address address;
    if constexpr (width == 32) {
      address = static_cast<Ipv4>(a.hi >> 32);
    } else {
      address = Ipv6{a.hi, a.lo};
    }
    const uint32_t got = patched.lookup(address);
    const uint32_t want = fresh.lookup(address);
    if (got == want) return true;
    ADD_FAILURE() << round << ": address " << std::hex << a.hi << ":" << a.lo << ": patched "
                  << std::dec << got << ", fresh build " << want;
    return false;
  };
  for (const Prefix& p : probes) {
    if ((p.isV4() ? 32u : 128u) != width) continue;
    const Bits first = bitsOf(p);
    const Ipv6 pm = ipv6Mask(p.length() + (width == 32 ? 96 : 0));
    const Ipv6 fm = ipv6Mask(width);
    const Bits last{(first.hi | ~pm.hi) & fm.hi, (first.lo | ~pm.lo) & fm.lo};
    const uint64_t one = width == 32 ? uint64_t{1} << 32 : 1;
    const Bits before = width == 32 ? Bits{first.hi - one, 0}
                                    : Bits{first.lo == 0 ? first.hi - 1 : first.hi, first.lo - 1};
    const Bits after = width == 32
                           ? Bits{last.hi + one, 0}
                           : Bits{last.lo == ~uint64_t{0} ? last.hi + 1 : last.hi, last.lo + 1};
    if (!check(first) || !check(last) || !check(before) || !check(after)) return;
  }
  for (int n = 0; n < 20'000; ++n)
    if (!check(randomBits(rng, width))) return;
}

// Rounds of changes of every size on a table of both families with a config
// head: each round patches the last round's table (so replaced subtrees pile
// up) and must look up as a fresh build of the same routes.
template <class Table>
void patchRounds(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Prefix> pool;
  for (const unsigned width : {32u, 128u})
    for (const auto& [bits, len] : randomPrefixes(rng, width, 6000))
      pool.push_back(toPrefix(bits, len, width).masked());
  // The config has the default routes: every slot a round rebuilds inherits
  // from them where nothing longer covers it.
  const Prefix defaults[] = {Prefix::v4(0, 0), Prefix::v6({0, 0}, 0)};
  std::erase_if(pool, [&](const Prefix& p) { return p == defaults[0] || p == defaults[1]; });
  std::shuffle(pool.begin(), pool.end(), rng);
  std::vector<Prefix> head(pool.end() - 300, pool.end());
  pool.resize(pool.size() - 300);
  head.insert(head.begin() + 100, defaults[0]);
  head.insert(head.begin() + 200, defaults[1]);
  std::set<Prefix> tail(pool.end() - 4000, pool.end());
  pool.resize(pool.size() - 4000);  // what the rounds add from

  PrefixList list = makeList(head, tail);
  std::string error;
  auto table = Table::buildIndexed(list.prefixes, &error);
  ASSERT_TRUE(table) << error;
  size_t patched_rounds = 0;
  size_t fresh_rounds = 0;
  const size_t sizes[] = {1, 1, 2, 5, 20, 100, 400, 1, 3, 50, 1000, 10, 2000, 1, 1, 7, 30, 1, 2, 3};
  for (size_t round = 0; round < std::size(sizes); ++round) {
    const std::set<Prefix> tail_before = tail;
    for (size_t i = 0; i < sizes[round]; ++i) {
      auto gone = tail.begin();
      std::advance(gone, static_cast<long>(rng() % tail.size()));
      const size_t pick = rng() % pool.size();
      const Prefix added = pool[pick];
      pool[pick] = *gone;
      tail.erase(gone);
      tail.insert(added);
    }
    // In exactly one of the two (a route removed and added back is neither).
    std::vector<Prefix> changed;
    std::set_symmetric_difference(tail_before.begin(), tail_before.end(), tail.begin(), tail.end(),
                                  std::back_inserter(changed));
    const PrefixList next = makeList(head, tail);
    std::map<Prefix, uint32_t> index_now;
    for (uint32_t i = 0; i < next.prefixes.size(); ++i) index_now[next.prefixes[i]] = i;
    std::vector<uint32_t> renumber;
    for (const Prefix& p : list.prefixes) {
      const auto it = index_now.find(p);
      renumber.push_back(it != index_now.end() ? it->second : kNoRouteIndex);
    }
    auto patched = table->patchIndexed({next.prefixes, next.head_order}, renumber, changed);
    auto fresh = Table::buildIndexed(next.prefixes, &error);
    ASSERT_TRUE(fresh) << error;
    const std::string name = "round " + std::to_string(round) + " (" +
                             std::to_string(sizes[round]) + " routes replaced)";
    if (patched) {
      ++patched_rounds;
      EXPECT_EQ(patched->routeCount(), fresh->routeCount()) << name;
      expectSameLookups(*patched, *fresh, list.prefixes, rng, name);
      expectSameLookups(*patched, *fresh, next.prefixes, rng, name);
      if (::testing::Test::HasFailure()) return;
      table = std::move(patched);
    } else {
      ++fresh_rounds;
      table = std::move(fresh);
    }
    list = next;
  }
  // Most rounds patch; the largest fall back to a fresh build.
  EXPECT_GE(patched_rounds, 14u);
  EXPECT_GE(fresh_rounds, 1u);
}

TEST(LpmPatch, Ipv4PatchedRoundAfterRoundLooksUpAsAFreshBuild) {
  patchRounds<Ipv4Lpm>(11);
  patchRounds<Ipv4Lpm>(12);
}

TEST(LpmPatch, Ipv6PatchedRoundAfterRoundLooksUpAsAFreshBuild) {
  patchRounds<Ipv6Lpm>(13);
  patchRounds<Ipv6Lpm>(14);
}

// The cases by name: a route added and removed at the default, at the direct
// level's length and across it, and a short one over deep subtrees whose
// leaves inherit its value.
TEST(LpmPatch, TableOfChanges) {
  const auto parse = [](const char* text) { return Prefix::parse(text).value(); };
  const std::vector<Prefix> before = {parse("10.2.0.0/16"), parse("10.2.3.0/24"),
                                      parse("10.2.3.128/25"), parse("192.0.2.0/24")};
  const auto base = Ipv4Lpm::buildIndexed(before).value();
  struct Case {
    std::vector<const char*> after;  // sorted
    std::vector<const char*> changed;
    std::vector<std::pair<const char*, uint32_t>> lookups;
  };
  const std::vector<Case> cases = {
      // A /8 added over the /16 (its slots with and without nodes).
      {{"10.0.0.0/8", "10.2.0.0/16", "10.2.3.0/24", "10.2.3.128/25", "192.0.2.0/24"},
       {"10.0.0.0/8"},
       {{"10.9.3.4", 0},
        {"10.2.4.1", 1},
        {"10.2.3.1", 2},
        {"10.2.3.200", 3},
        {"11.0.0.1", kNoRouteIndex}}},
      // The /16 gone: the /24's node keeps its leaves, the rest of the /16 is empty.
      {{"10.2.3.0/24", "10.2.3.128/25", "192.0.2.0/24"},
       {"10.2.0.0/16"},
       {{"10.2.4.1", kNoRouteIndex}, {"10.2.3.1", 0}, {"10.2.3.200", 1}, {"192.0.2.9", 2}}},
      // A /18 (the direct level) and a /19 inside it added.
      {{"10.2.0.0/16", "10.2.0.0/18", "10.2.0.0/19", "10.2.3.0/24", "10.2.3.128/25",
        "192.0.2.0/24"},
       {"10.2.0.0/18", "10.2.0.0/19"},
       {{"10.2.64.1", 0}, {"10.2.40.1", 1}, {"10.2.1.1", 2}, {"10.2.3.1", 3}, {"10.2.3.129", 4}}},
      // The /25 replaced by two /26s; 192.0.2.0/24 replaced by a /23.
      {{"10.2.0.0/16", "10.2.3.0/24", "10.2.3.128/26", "10.2.3.192/26", "192.0.2.0/23"},
       {"10.2.3.128/25", "10.2.3.128/26", "10.2.3.192/26", "192.0.2.0/24", "192.0.2.0/23"},
       {{"10.2.3.129", 2}, {"10.2.3.193", 3}, {"10.2.3.1", 1}, {"192.0.3.1", 4}, {"192.0.2.1", 4}}},
  };
  for (size_t c = 0; c < cases.size(); ++c) {
    std::vector<Prefix> after;
    for (const char* text : cases[c].after) after.push_back(parse(text));
    std::vector<uint32_t> renumber;
    for (const Prefix& p : before) {
      const auto it = std::find(after.begin(), after.end(), p);
      renumber.push_back(it != after.end() ? uint32_t(it - after.begin()) : kNoRouteIndex);
    }
    std::vector<Prefix> changed;
    for (const char* text : cases[c].changed) changed.push_back(parse(text));
    const auto patched = base.patchIndexed({after, {}}, renumber, changed);
    ASSERT_TRUE(patched) << "case " << c;
    EXPECT_EQ(patched->routeCount(), after.size()) << "case " << c;
    for (const auto& [address, want] : cases[c].lookups)
      EXPECT_EQ(patched->lookup(IpAddress::parse(address)->v4()), want)
          << "case " << c << ", " << address;
  }
}

// A change over more than 1/16 of the direct slots (a /3 covers 1/8; a
// default route all of them) is left to a fresh build, and so is a patch whose replaced subtrees
// would outnumber the live ones.
TEST(LpmPatch, DeclinesWideChangesAndTooMuchLeftBehind) {
  const auto parse = [](const char* text) { return Prefix::parse(text).value(); };
  const std::vector<Prefix> prefixes = {parse("10.2.3.0/24")};
  const auto table = Ipv4Lpm::buildIndexed(prefixes).value();
  const std::vector<Prefix> wider = {parse("32.0.0.0/3"), parse("10.2.3.0/24")};
  const std::vector<uint32_t> renumber = {1};
  EXPECT_FALSE(table.patchIndexed({wider, {}}, renumber, std::vector{parse("32.0.0.0/3")}));
  const std::vector<Prefix> with_default = {parse("0.0.0.0/0"), parse("10.2.3.0/24")};
  EXPECT_FALSE(table.patchIndexed({with_default, {}}, renumber, std::vector{parse("0.0.0.0/0")}));
  const std::vector<Prefix> narrower = {parse("32.0.0.0/4"), parse("10.2.3.0/24")};
  EXPECT_TRUE(table.patchIndexed({narrower, {}}, renumber, std::vector{parse("32.0.0.0/4")}));

  // Replacing a route by its neighbour in the same slot, back and forth,
  // leaves the slot's old subtree behind each time.
  const std::vector<Prefix> one = {parse("10.2.3.0/24"), parse("10.2.4.0/24")};
  const std::vector<Prefix> other = {parse("10.2.3.0/24"), parse("10.2.5.0/24")};
  const std::vector<Prefix> swapped = {parse("10.2.4.0/24"), parse("10.2.5.0/24")};
  const std::vector<uint32_t> keep_first = {0, kNoRouteIndex};
  const auto start = Ipv4Lpm::buildIndexed(one).value();
  EXPECT_EQ(start.nodeCount(), 1u);
  const auto patched = start.patchIndexed({other, {}}, keep_first, swapped);
  ASSERT_TRUE(patched);
  EXPECT_EQ(patched->unreachableNodes(), 1u);
  EXPECT_EQ(patched->nodeCount(), 2u);
  EXPECT_EQ(patched->lookup(IpAddress::parse("10.2.5.1")->v4()), 1u);
  EXPECT_EQ(patched->lookup(IpAddress::parse("10.2.4.1")->v4()), kNoRouteIndex);
  // Back again would leave 2 of 3 nodes unreachable.
  EXPECT_FALSE(patched->patchIndexed({one, {}}, keep_first, swapped));
}

}  // namespace
}  // namespace ferry::route
