#include "ferry/route/lpm.h"

#include <gtest/gtest.h>

#include <algorithm>
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

template <class Table>
void compareWithReference(unsigned width, uint64_t seed, size_t route_count = kRandomRoutes) {
  std::mt19937_64 rng(seed);
  auto randomBits = [&](unsigned w) {
    Bits b{rng(), rng()};
    if (w == 32) b = {b.hi & ~uint64_t{0} << 32, 0};
    return b;
  };
  // Prefix lengths: every length appears; most are in the ranges real tables
  // use; about half the routes nest inside an earlier one (overlaps), and a
  // few leading bits are shared so that prefixes cluster as in real tables.
  auto randomLength = [&]() -> unsigned {
    const unsigned r = static_cast<unsigned>(rng() % 10);
    if (r < 3) return static_cast<unsigned>(rng() % (width + 1));
    if (width == 32) return r < 8 ? 16 + static_cast<unsigned>(rng() % 9) : 25 + rng() % 8;
    return r < 8 ? 32 + static_cast<unsigned>(rng() % 33) : 65 + static_cast<unsigned>(rng() % 64);
  };
  std::vector<std::pair<Bits, unsigned>> prefixes;
  std::set<std::pair<std::pair<uint64_t, uint64_t>, unsigned>> seen;
  while (prefixes.size() < route_count) {
    unsigned len;
    Bits addr;
    if (!prefixes.empty() && rng() % 2 == 0) {
      const auto& parent = prefixes[rng() % prefixes.size()];
      len = std::min(width, parent.second + 1 + static_cast<unsigned>(rng() % 8));
      const Bits extra = randomBits(width);
      const Ipv6 pm = ipv6Mask(parent.second);
      addr = {parent.first.hi | (extra.hi & ~pm.hi), parent.first.lo | (extra.lo & ~pm.lo)};
    } else {
      len = randomLength();
      addr = randomBits(width);
      addr.hi = (addr.hi & ~(uint64_t{0xf} << 60)) | (uint64_t{rng() % 3} << 60);  // cluster
    }
    addr = maskBits(addr, len);
    if (seen.insert({{addr.hi, addr.lo}, len}).second) prefixes.emplace_back(addr, len);
  }
  std::vector<Route> routes;
  for (size_t i = 0; i < prefixes.size(); ++i) {
    const auto& [a, len] = prefixes[i];
    const Prefix p = width == 32 ? Prefix::v4(static_cast<Ipv4>(a.hi >> 32), len)
                                 : Prefix::v6(Ipv6{a.hi, a.lo}, len);
    routes.push_back({p, static_cast<uint32_t>(i)});
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

}  // namespace
}  // namespace ferry::route
