#include "ferry/route/route_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>

#include "packets.h"

namespace ferry::route {
namespace {

using testing::makeV4;
using testing::makeV6;
using testing::V4Spec;
using testing::V6Spec;
using Field = RouteIssue::Field;
using Severity = RouteIssue::Severity;

const std::vector<std::string> kInterfaces = {"east", "west", "north"};
constexpr uint32_t kEast = 0, kWest = 1, kNorth = 2;
constexpr uint64_t kAllUp = 0b111;

std::vector<RouteIssue> issuesOf(const std::vector<RouteSpec>& routes,
                                 RouteTableOptions options = {}) {
  std::vector<RouteIssue> issues;
  auto table = RouteTable::build(routes, kInterfaces, options, &issues);
  const bool has_error = std::any_of(issues.begin(), issues.end(), [](const RouteIssue& i) {
    return i.severity == Severity::kError;
  });
  EXPECT_EQ(table.has_value(), !has_error);
  return issues;
}

// One bad route per case → (field, item, message), as the config will print
// them at file:line:column.
TEST(RouteTableConfig, EachErrorIsLocated) {
  struct Case {
    RouteSpec spec;
    Field field;
    size_t item;
    std::string message;
  };
  const Case cases[] = {
      {{"10.2.0/16", {"east"}, false},
       Field::kPrefix,
       0,
       "'10.2.0/16': '10.2.0' is not an IPv4 or IPv6 address"},
      {{"10.2.0.0/33", {"east"}, false},
       Field::kPrefix,
       0,
       "'10.2.0.0/33': prefix length 33 is beyond 32 for IPv4"},
      {{"10.2.0.1/16", {"east"}, false},
       Field::kPrefix,
       0,
       "'10.2.0.1/16' has host bits set beyond /16 (did you mean 10.2.0.0/16?)"},
      {{"10.2.0.0/16", {}, false},
       Field::kVia,
       0,
       "'via' names no interface (a route that drops has 'drop: blackhole' or 'drop: "
       "unreachable' instead)"},
      {{"10.2.0.0/16", {}, false, "discard"},
       Field::kDrop,
       0,
       "unknown drop action 'discard' (blackhole: drop silently; unreachable, prohibit: drop and "
       "answer with ICMP net unreachable, administratively prohibited)"},
      {{"10.2.0.0/16", {"east"}, false, "blackhole"},
       Field::kDrop,
       0,
       "a route has 'via' or 'drop', not both"},
      {{"10.2.0.0/16", {}, true, "unreachable"},
       Field::kEcmp,
       0,
       "'ecmp: true' needs interfaces in 'via', not 'drop'"},
      {{"10.2.0.0/16", {"east", "eats"}, false},
       Field::kVia,
       1,
       "unknown interface 'eats' (interfaces: east, west, north)"},
      {{"10.2.0.0/16", {"east", "west", "east"}, false},
       Field::kVia,
       2,
       "interface 'east' appears twice in 'via'"},
      {{"10.2.0.0/16", {"east"}, true},
       Field::kEcmp,
       0,
       "'ecmp: true' needs at least two interfaces in 'via'"},
      {{"10.2.0.0/16", {"east", "west"}, false, "", {3, 1}},
       Field::kWeights,
       RouteIssue::kWholeList,
       "'weights' share the flows of an ECMP route: it needs 'ecmp: true'"},
      {{"10.2.0.0/16", {"east", "west"}, true, "", {3, 1, 1}},
       Field::kWeights,
       RouteIssue::kWholeList,
       "'weights' has 3 entries for 2 interfaces in 'via' (one each)"},
      {{"10.2.0.0/16", {"east", "west"}, true, "", {3, 0}},
       Field::kWeights,
       1,
       "weight 0 is not 1..256"},
      {{"10.2.0.0/16", {"east", "west"}, true, "", {257, 1}},
       Field::kWeights,
       0,
       "weight 257 is not 1..256"},
      {{"10.2.0.0/16", {}, false, "blackhole", {1}},
       Field::kWeights,
       RouteIssue::kWholeList,
       "a route that drops has no 'weights'"},
  };
  for (const Case& c : cases) {
    const auto issues = issuesOf({c.spec});
    ASSERT_EQ(issues.size(), 1u) << c.message;
    EXPECT_EQ(issues[0].route, 0u);
    EXPECT_EQ(issues[0].field, c.field) << c.message;
    EXPECT_EQ(issues[0].item, c.item) << c.message;
    EXPECT_EQ(issues[0].severity, Severity::kError);
    EXPECT_EQ(issues[0].message, c.message);
  }
  EXPECT_EQ(toString(Field::kVia), "via");
  EXPECT_EQ(toString(Field::kDrop), "drop");
  EXPECT_EQ(toString(Field::kWeights), "weights");
}

// A config route with weights is a weighted ECMP group; equal weights the
// plain one.
TEST(RouteTableConfig, WeightsMakeAWeightedEcmpGroup) {
  std::vector<RouteIssue> issues;
  const auto table = RouteTable::build(
      std::vector<RouteSpec>{{"10.2.0.0/16", {"west", "east", "north"}, true, "", {1, 6, 3}},
                             {"10.3.0.0/16", {"west", "east"}, true, "", {2, 2}}},
      kInterfaces, {}, &issues);
  ASSERT_TRUE(table) << (issues.empty() ? "" : issues[0].message);
  EXPECT_TRUE(issues.empty());
  const NextHopGroup& weighted = table->group(0);
  EXPECT_EQ(weighted.mode(), GroupMode::kEcmp);
  EXPECT_EQ(weighted.weights(), (std::vector<uint32_t>{1, 6, 3}));
  EXPECT_TRUE(table->group(1).weights().empty());
  // 10% / 60% / 30% of the flows.
  std::map<uint32_t, int> per_interface;
  for (uint32_t h = 0; h < 1000; ++h) ++per_interface[weighted.select(h * 4294967u, kAllUp)];
  EXPECT_NEAR(per_interface[kWest], 100, 2);
  EXPECT_NEAR(per_interface[kEast], 600, 2);
  EXPECT_NEAR(per_interface[kNorth], 300, 2);
}

TEST(RouteTableConfig, DropRoutesTakePartInDuplicateChecks) {
  const auto issues =
      issuesOf({{"10.2.0.0/16", {"east"}, false}, {"10.2.0.0/16", {}, false, "blackhole"}});
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].route, 1u);
  EXPECT_EQ(issues[0].message, "duplicate prefix 10.2.0.0/16 (also route 0)");
}

TEST(RouteTableConfig, DuplicatePrefixIsReportedOnTheLaterRoute) {
  const auto issues = issuesOf({{"10.2.0.0/16", {"east"}, false},
                                {"10.0.0.0/8", {"west"}, false},
                                {"10.2.0.0/16", {"west"}, false},
                                {"2001:db8::/32", {"west"}, false},
                                {"2001:db8:0::/32", {"east"}, false}});
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].route, 2u);
  EXPECT_EQ(issues[0].message, "duplicate prefix 10.2.0.0/16 (also route 0)");
  EXPECT_EQ(issues[1].route, 4u);
  EXPECT_EQ(issues[1].message, "duplicate prefix 2001:db8::/32 (also route 3)");
}

TEST(RouteTableConfig, HostBitsCanBeAWarning) {
  RouteTableOptions options;
  options.host_bits = HostBits::kKeep;
  std::vector<RouteIssue> issues;
  auto table = RouteTable::build(std::vector<RouteSpec>{{"10.2.0.1/16", {"east"}, false}},
                                 kInterfaces, options, &issues);
  ASSERT_TRUE(table);
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].severity, Severity::kWarning);
  EXPECT_EQ(issues[0].message, "'10.2.0.1/16' has host bits set; using 10.2.0.0/16");
  EXPECT_EQ(table->prefix(0).toString(), "10.2.0.0/16");
  EXPECT_EQ(table->lookup(IpAddress::v4(0x0a02ff01)), 0u);
  // ... and then the masked prefix counts for duplicates.
  const auto dup =
      issuesOf({{"10.2.0.1/16", {"east"}, false}, {"10.2.0.0/16", {"east"}, false}}, options);
  ASSERT_EQ(dup.size(), 2u);
  EXPECT_EQ(dup[1].message, "duplicate prefix 10.2.0.0/16 (also route 0)");
}

TEST(RouteTableConfig, ReportsEveryProblemAtOnce) {
  const auto issues =
      issuesOf({{"bad", {"nowhere"}, true}, {"10.0.0.0/8", {"east"}, false}, {"::/0", {}, false}});
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(issues[0].field, Field::kPrefix);
  EXPECT_EQ(issues[1].field, Field::kVia);
  EXPECT_EQ(issues[2].field, Field::kEcmp);
  EXPECT_EQ(issues[3].route, 2u);
}

TEST(RouteTableConfig, DefaultRoutesAndOverlapsAreFine) {
  std::vector<RouteIssue> issues;
  auto table = RouteTable::build(std::vector<RouteSpec>{{"0.0.0.0/0", {"east"}, false},
                                                        {"::/0", {"west"}, false},
                                                        {"10.0.0.0/8", {"west"}, false},
                                                        {"10.1.0.0/16", {"north"}, false}},
                                 kInterfaces, {}, &issues);
  ASSERT_TRUE(table);
  EXPECT_TRUE(issues.empty());
  EXPECT_EQ(table->size(), 4u);
  EXPECT_EQ(table->lookup(*IpAddress::parse("10.1.2.3")), 3u);
  EXPECT_EQ(table->lookup(*IpAddress::parse("10.2.2.3")), 2u);
  EXPECT_EQ(table->lookup(*IpAddress::parse("192.0.2.1")), 0u);
  EXPECT_EQ(table->lookup(*IpAddress::parse("2001:db8::1")), 1u);
  EXPECT_GT(table->memoryBytes(), 0u);
}

// ---- forward(): (packet, liveness → verdict, interface, ICMP) ----

RouteTable exampleTable() {
  std::vector<RouteIssue> issues;
  auto table =
      RouteTable::build(std::vector<RouteSpec>{{"10.2.0.0/16", {"east", "west"}, false},
                                               {"10.2.3.0/24", {"west"}, false},
                                               {"2001:db8::/32", {"east", "west"}, true},
                                               {"2001:db8:5::/48", {"north", "east"}, false},
                                               {"10.2.4.0/24", {}, false, "blackhole"},
                                               {"2001:db8:6::/48", {}, false, "unreachable"},
                                               {"10.2.5.0/24", {}, false, "unreachable"},
                                               {"10.2.7.0/24", {}, false, "prohibit"},
                                               {"2001:db8:7::/48", {}, false, "prohibit"}},
                        kInterfaces, {.host_bits = HostBits::kReject, .hash_seed = 99}, &issues);
  EXPECT_TRUE(table);
  return *table;
}

TEST(RouteTableForward, TableOfDecisions) {
  const RouteTable table = exampleTable();
  struct Case {
    const char* name;
    std::vector<uint8_t> packet;
    uint64_t up;
    Verdict verdict;
    uint32_t interface;
    uint32_t route;
    std::optional<IcmpError> icmp;
  };
  auto v4 = [](Ipv4 dst, uint8_t ttl = 64) {
    V4Spec s;
    s.destination = dst;
    s.ttl = ttl;
    return makeV4(s);
  };
  auto v6 = [](const char* dst, uint8_t hops = 64) {
    V6Spec s;
    s.destination = *parseIpv6(dst);
    s.hop_limit = hops;
    return makeV6(s);
  };
  const Case cases[] = {
      {"failover primary", v4(0x0a020101), kAllUp, Verdict::kForward, kEast, 0, {}},
      {"failover secondary", v4(0x0a020101), 1u << kWest, Verdict::kForward, kWest, 0, {}},
      {"longer prefix", v4(0x0a020301), kAllUp, Verdict::kForward, kWest, 1, {}},
      {"all down", v4(0x0a020301), 1u << kEast, Verdict::kAllNextHopsDown, kAllDown, 1,
       IcmpError::kDestinationUnreachable},
      {"no route", v4(0x0a030000), kAllUp, Verdict::kNoRoute, kAllDown, kNoRouteIndex,
       IcmpError::kDestinationUnreachable},
      {"ttl 1", v4(0x0a020101, 1), kAllUp, Verdict::kTtlExceeded, kAllDown, kNoRouteIndex,
       IcmpError::kTimeExceeded},
      {"martian", v4(0xe0000001), kAllUp, Verdict::kMartian, kAllDown, kNoRouteIndex, {}},
      {"bad header", {0x45, 0, 0}, kAllUp, Verdict::kBadInnerHeader, kAllDown, kNoRouteIndex, {}},
      {"v6 failover", v6("2001:db8:5::1"), kAllUp, Verdict::kForward, kNorth, 3, {}},
      {"v6 failover secondary", v6("2001:db8:5::1"), 1u << kEast, Verdict::kForward, kEast, 3, {}},
      {"v6 ecmp one up", v6("2001:db8:1::1"), 1u << kWest, Verdict::kForward, kWest, 2, {}},
      {"v6 no route", v6("2001:db9::1"), kAllUp, Verdict::kNoRoute, kAllDown, kNoRouteIndex,
       IcmpError::kDestinationUnreachable},
      {"v6 hop limit 1", v6("2001:db8::1", 1), kAllUp, Verdict::kTtlExceeded, kAllDown,
       kNoRouteIndex, IcmpError::kTimeExceeded},
      {"v6 all down", v6("2001:db8::1"), 1u << kNorth, Verdict::kAllNextHopsDown, kAllDown, 2,
       IcmpError::kDestinationUnreachable},
      // Drop routes: more specific than a forwarding route, whatever is up.
      {"blackhole inside 10.2/16", v4(0x0a020401), kAllUp, Verdict::kBlackhole, kAllDown, 4, {}},
      {"blackhole with nothing up", v4(0x0a0204ff), 0, Verdict::kBlackhole, kAllDown, 4, {}},
      {"unreachable inside 10.2/16", v4(0x0a020501), kAllUp, Verdict::kUnreachable, kAllDown, 6,
       IcmpError::kDestinationUnreachable},
      {"v6 unreachable inside 2001:db8::/32", v6("2001:db8:6::1"), kAllUp, Verdict::kUnreachable,
       kAllDown, 5, IcmpError::kDestinationUnreachable},
      {"prohibit inside 10.2/16", v4(0x0a020701), kAllUp, Verdict::kProhibited, kAllDown, 7,
       IcmpError::kAdminProhibited},
      {"prohibit with nothing up", v4(0x0a0207fe), 0, Verdict::kProhibited, kAllDown, 7,
       IcmpError::kAdminProhibited},
      {"v6 prohibit inside 2001:db8::/32", v6("2001:db8:7::1"), kAllUp, Verdict::kProhibited,
       kAllDown, 8, IcmpError::kAdminProhibited},
      {"next to a blackhole: forwarded", v4(0x0a020601), kAllUp, Verdict::kForward, kEast, 0, {}},
      // TTL ≤ 1: the route decides first, as in Linux; only a packet that
      // would be forwarded gets Time Exceeded.
      {"TTL 1 to a blackhole: dropped silently",
       v4(0x0a020401, 1),
       kAllUp,
       Verdict::kBlackhole,
       kAllDown,
       4,
       {}},
      {"TTL 0 to an unreachable route", v4(0x0a020501, 0), kAllUp, Verdict::kUnreachable, kAllDown,
       6, IcmpError::kDestinationUnreachable},
      {"TTL 1 to a prohibit route", v4(0x0a020701, 1), kAllUp, Verdict::kProhibited, kAllDown, 7,
       IcmpError::kAdminProhibited},
      {"TTL 1 without a route", v4(0x0a030000, 1), kAllUp, Verdict::kNoRoute, kAllDown,
       kNoRouteIndex, IcmpError::kDestinationUnreachable},
      {"TTL 1 with every next hop down", v4(0x0a020301, 1), 1u << kEast, Verdict::kAllNextHopsDown,
       kAllDown, 1, IcmpError::kDestinationUnreachable},
      {"TTL 1 over ECMP with one member up", v6("2001:db8:1::1", 1), 1u << kWest,
       Verdict::kTtlExceeded, kAllDown, kNoRouteIndex, IcmpError::kTimeExceeded},
      {"v6 hop limit 0 to a prohibit route", v6("2001:db8:7::1", 0), kAllUp, Verdict::kProhibited,
       kAllDown, 8, IcmpError::kAdminProhibited},
  };
  for (const Case& c : cases) {
    auto packet = c.packet;
    const Decision d = table.forward(packet, c.up);
    EXPECT_EQ(d.verdict, c.verdict) << c.name << ": " << toString(d.verdict);
    EXPECT_EQ(d.interface, c.interface) << c.name;
    EXPECT_EQ(d.route, c.route) << c.name;
    EXPECT_EQ(d.icmp, c.icmp) << c.name;
    if (d.verdict == Verdict::kForward) {
      EXPECT_EQ(d.length, c.packet.size()) << c.name;
      const size_t ttl_at = d.family == Family::kIpv4 ? 8 : 7;
      EXPECT_EQ(packet[ttl_at], c.packet[ttl_at] - 1) << c.name;
      EXPECT_EQ(parseInner(packet, 0).verdict, Verdict::kForward) << c.name;  // checksum ok
    } else {
      EXPECT_EQ(packet, c.packet) << c.name << ": a dropped packet is left as received";
    }
  }
}

TEST(RouteTableForward, EcmpSpreadsFlowsAndKeepsEachOnOnePath) {
  const RouteTable table = exampleTable();
  std::map<uint32_t, int> per_interface;
  for (uint16_t f = 0; f < 64; ++f) {
    V6Spec s;
    s.source_port = static_cast<uint16_t>(50000 + f);
    uint32_t first = kAllDown;
    for (int packet = 0; packet < 5; ++packet) {
      auto p = makeV6(s);
      const Decision d = table.forward(p, kAllUp);
      ASSERT_EQ(d.verdict, Verdict::kForward);
      if (packet == 0) first = d.interface;
      ASSERT_EQ(d.interface, first) << "flow " << f;
    }
    ++per_interface[first];
  }
  ASSERT_EQ(per_interface.size(), 2u);
  EXPECT_GE(per_interface[kEast], 23);
  EXPECT_GE(per_interface[kWest], 23);
}

// The batch form (a GRO train's segments) decides each packet exactly as the
// single form does — verdict, interface, route, length, ICMP and the TTL
// written — with both families and every outcome mixed, in batches shorter
// and longer than kMaxBatch.
TEST(RouteTableForward, ABatchDecidesEachPacketAsAlone) {
  const RouteTable table = exampleTable();
  std::vector<std::vector<uint8_t>> kinds;
  for (const Ipv4 dst :
       {0x0a020101u, 0x0a020301u, 0x0a030000u, 0xe0000001u, 0x0a020401u, 0x0a020701u}) {
    V4Spec s;
    s.destination = dst;
    kinds.push_back(makeV4(s));
    s.ttl = 1;
    kinds.push_back(makeV4(s));
  }
  for (const char* dst : {"2001:db8:5::1", "2001:db8:1::1", "2001:db9::1", "2001:db8::1"}) {
    V6Spec s;
    s.destination = *parseIpv6(dst);
    for (uint16_t port = 0; port < 4; ++port) {
      s.source_port = static_cast<uint16_t>(50000 + port);
      kinds.push_back(makeV6(s));
    }
    s.hop_limit = 1;
    kinds.push_back(makeV6(s));
  }
  kinds.push_back({0x45, 0, 0});
  kinds.push_back({});
  for (const uint64_t up : {kAllUp, uint64_t{1} << kEast, uint64_t{1} << kWest, uint64_t{1} << kNorth}) {
    for (const size_t length : {size_t{1}, kinds.size(), RouteTable::kMaxBatch, size_t{150}}) {
      std::vector<std::vector<uint8_t>> alone;
      for (size_t i = 0; i < length; ++i) alone.push_back(kinds[(i * 5) % kinds.size()]);
      auto together = alone;
      std::vector<std::span<uint8_t>> spans(together.begin(), together.end());
      std::vector<Decision> got(length);
      table.forward(spans, up, got);
      for (size_t i = 0; i < length; ++i) {
        const Decision want = table.forward(alone[i], up);
        EXPECT_EQ(got[i].verdict, want.verdict) << i;
        EXPECT_EQ(got[i].interface, want.interface) << i;
        EXPECT_EQ(got[i].route, want.route) << i;
        EXPECT_EQ(got[i].length, want.length) << i;
        EXPECT_EQ(got[i].family, want.family) << i;
        EXPECT_EQ(got[i].icmp, want.icmp) << i;
      }
      EXPECT_EQ(together, alone) << "same TTL writes, batch of " << length;
    }
  }
}

TEST(RouteTableForward, EmptyTableHasNoRoutes) {
  const RouteTable table;
  auto p = makeV4({});
  EXPECT_EQ(table.forward(p, kAllUp).verdict, Verdict::kNoRoute);
}

// indicesIn: each route's index in the table it replaces, by prefix (both
// families, a length that differs is another prefix, host bits masked),
// kNoRouteIndex for a new one; an empty table on either side.
TEST(RouteTableIndices, EachRouteFindsTheSamePrefixInThePreviousTable) {
  auto build = [](const std::vector<RouteSpec>& specs) {
    auto t = RouteTable::build(specs, kInterfaces, {.host_bits = HostBits::kKeep}, nullptr);
    EXPECT_TRUE(t.has_value());
    return std::move(*t);
  };
  const RouteTable before = build({{"10.0.0.0/8", {"east"}, false},
                                   {"10.1.0.0/16", {"west"}, false},
                                   {"2001:db8::/32", {"east"}, false},
                                   {"10.9.0.0/16", {}, false, "blackhole"}});
  const RouteTable after = build({{"10.1.0.0/16", {"east", "west"}, true},
                                  {"192.168.0.0/16", {"east"}, false},
                                  {"10.0.0.0/8", {"north"}, false},
                                  {"2001:db8::/48", {"east"}, false},
                                  {"2001:db8::1/32", {"west"}, false},
                                  {"10.9.0.0/16", {"east"}, false},
                                  {"10.0.0.0/9", {"east"}, false}});
  EXPECT_EQ(after.indicesIn(before),
            (std::vector<uint32_t>{1, kNoRouteIndex, 0, kNoRouteIndex, 2, 3, kNoRouteIndex}));
  EXPECT_EQ(before.indicesIn(before), (std::vector<uint32_t>{0, 1, 2, 3}));
  const RouteTable empty = build({});
  EXPECT_EQ(after.indicesIn(empty), std::vector<uint32_t>(7, kNoRouteIndex));
  EXPECT_TRUE(empty.indicesIn(before).empty());
}

// The same against a map, on tables laid out as a merged FPM table is (an
// unsorted head, then routes in prefix order) and in every other order:
// sorted, reversed, shuffled, a sorted head before an unsorted tail.
TEST(RouteTableIndices, MatchBruteForceWhateverTheTablesOrder) {
  std::mt19937 rng(7);
  std::vector<Prefix> pool;
  for (uint32_t i = 0; i < 400; ++i) {
    const unsigned len = 8 + rng() % 25;
    if (rng() % 4 == 0) {
      pool.push_back(Prefix::v6(
          Ipv6{0x20010db800000000ull | (uint64_t(rng()) << 8), 0} & ipv6Mask(32 + len), 32 + len));
    } else {
      pool.push_back(Prefix::v4(rng() & ipv4Mask(len), len));
    }
  }
  std::sort(pool.begin(), pool.end());
  pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
  const NextHopGroup group = NextHopGroup::drop(GroupMode::kBlackhole);
  enum class Order { kSorted, kReversed, kShuffled, kHeadThenSorted, kSortedThenShuffled };
  const auto table = [&](Order order, size_t head) {
    std::vector<Prefix> picked;
    for (const Prefix& p : pool)
      if (rng() % 3 != 0) picked.push_back(p);
    switch (order) {
      case Order::kSorted:
        break;
      case Order::kReversed:
        std::reverse(picked.begin(), picked.end());
        break;
      case Order::kShuffled:
        std::shuffle(picked.begin(), picked.end(), rng);
        break;
      case Order::kHeadThenSorted:
        std::shuffle(picked.begin(), picked.end(), rng);
        std::sort(picked.begin() + std::min(head, picked.size()), picked.end());
        break;
      case Order::kSortedThenShuffled:
        std::shuffle(picked.begin(), picked.end(), rng);
        std::sort(picked.begin(), picked.begin() + std::min(head, picked.size()));
        break;
    }
    auto set = std::make_shared<RouteSet>();
    for (const Prefix& p : picked) set->add(p, group);
    std::string error;
    auto t = RouteTable::build(std::move(set), {}, &error);
    EXPECT_TRUE(t.has_value()) << error;
    return std::move(*t);
  };
  const Order orders[] = {Order::kSorted, Order::kReversed, Order::kShuffled,
                          Order::kHeadThenSorted, Order::kSortedThenShuffled};
  for (const Order a : orders) {
    for (const Order b : orders) {
      for (const size_t head : {size_t{0}, size_t{1}, size_t{5}, size_t{100}}) {
        const RouteTable before = table(a, head), after = table(b, head);
        std::map<Prefix, uint32_t> index;
        for (uint32_t r = 0; r < before.size(); ++r) index[before.prefix(r)] = r;
        std::vector<uint32_t> expected;
        for (uint32_t r = 0; r < after.size(); ++r) {
          const auto it = index.find(after.prefix(r));
          expected.push_back(it == index.end() ? kNoRouteIndex : it->second);
        }
        EXPECT_EQ(after.indicesIn(before), expected)
            << "orders " << int(a) << " " << int(b) << ", head " << head;
      }
    }
  }
}

}  // namespace
}  // namespace ferry::route
