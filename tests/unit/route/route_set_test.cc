// Routes files (route_set.h): what each line becomes, every rule with the
// line it is reported on, and a table built from a file deciding as one built
// from the same routes in YAML form.
#include "ferry/route/route_set.h"

#include <gtest/gtest.h>

#include <sstream>

#include "ferry/route/route_table.h"
#include "packets.h"

namespace ferry::route {
namespace {

const std::vector<std::string> kSetInterfaces = {"east", "west", "north"};

RoutesFileResult read(const std::string& text) {
  std::istringstream in(text);
  return readRoutesFile(in, kSetInterfaces);
}

// "LINE: message" for each error, for readable comparisons.
std::vector<std::string> errorsOf(const std::string& text) {
  std::vector<std::string> out;
  const auto result = read(text);
  EXPECT_EQ(result.routes.has_value(), result.errors.empty());
  for (const auto& e : result.errors) out.push_back(std::to_string(e.line) + ": " + e.message);
  return out;
}

TEST(RoutesFile, EachLineIsARoute) {
  const auto result = read(
      "# a comment\n"
      "\n"
      "10.2.0.0/16 east\n"
      "  10.3.0.0/16\teast,west   # failover, then a comment\n"
      "2001:db8::/32 east,west ecmp\r\n"
      "192.0.2.1 north\n"  // a bare address is a host route
      "0.0.0.0/0 west\n"
      "blackhole 10.9.0.0/16\n"
      "unreachable\t2001:db8:9::/48  # a comment\n"
      "prohibit 10.8.0.0/16\n");
  ASSERT_TRUE(result.routes) << (result.errors.empty() ? "" : result.errors[0].message);
  const RouteSet& set = *result.routes;
  ASSERT_EQ(set.size(), 8u);
  EXPECT_EQ(set.prefix(0).toString(), "10.2.0.0/16");
  EXPECT_EQ(set.prefix(1).toString(), "10.3.0.0/16");
  EXPECT_EQ(set.prefix(2).toString(), "2001:db8::/32");
  EXPECT_EQ(set.prefix(3).toString(), "192.0.2.1/32");
  EXPECT_EQ(set.prefix(4).toString(), "0.0.0.0/0");
  EXPECT_EQ(set.group(0).mode(), GroupMode::kFailover);
  EXPECT_EQ(std::vector<uint8_t>(set.group(1).members().begin(), set.group(1).members().end()),
            (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(set.group(2).mode(), GroupMode::kEcmp);
  EXPECT_EQ(std::vector<uint8_t>(set.group(3).members().begin(), set.group(3).members().end()),
            (std::vector<uint8_t>{2}));
  EXPECT_EQ(set.prefix(5).toString(), "10.9.0.0/16");
  EXPECT_EQ(set.group(5).mode(), GroupMode::kBlackhole);
  EXPECT_TRUE(set.group(5).members().empty());
  EXPECT_EQ(set.prefix(6).toString(), "2001:db8:9::/48");
  EXPECT_EQ(set.group(6).mode(), GroupMode::kUnreachable);
  EXPECT_EQ(set.prefix(7).toString(), "10.8.0.0/16");
  EXPECT_EQ(set.group(7).mode(), GroupMode::kProhibit);
  EXPECT_TRUE(set.group(7).members().empty());
  EXPECT_EQ(set.groupCount(), 8u)
      << "east; east,west; ecmp east,west; north; west; blackhole; unreachable; prohibit";
}

// Groups are shared only when mode, members and weights are all the same.
TEST(RouteSet, GroupsDifferingOnlyInWeightsAreNotShared) {
  const std::vector<uint32_t> members = {1, 2};
  const auto plain = NextHopGroup::create(GroupMode::kEcmp, members);
  const auto heavy_first = NextHopGroup::createWeighted(members, std::vector<uint32_t>{3, 1});
  const auto heavy_second = NextHopGroup::createWeighted(members, std::vector<uint32_t>{1, 3});
  // Weights whose key bytes (weight - 1: 3, 4) read as more members of a
  // plain group: 1, 2, then 3, 4.
  const auto bytes_like_members =
      NextHopGroup::createWeighted(members, std::vector<uint32_t>{4, 5});
  const std::vector<uint32_t> six = {1, 2, 3, 4};
  const auto plain_six = NextHopGroup::create(GroupMode::kEcmp, six);
  ASSERT_TRUE(plain && heavy_first && heavy_second && bytes_like_members && plain_six);
  RouteSet set;
  const auto p = [](const char* text) { return *Prefix::parse(text); };
  set.add(p("10.1.0.0/16"), *plain);
  set.add(p("10.2.0.0/16"), *heavy_first);
  set.add(p("10.3.0.0/16"), *heavy_second);
  set.add(p("10.4.0.0/16"), *heavy_first);
  set.add(p("10.5.0.0/16"), *bytes_like_members);
  set.add(p("10.6.0.0/16"), *plain_six);
  EXPECT_EQ(set.groupCount(), 5u);
  EXPECT_TRUE(set.group(0).weights().empty());
  EXPECT_EQ(set.group(1).weights()[0], 3u);
  EXPECT_EQ(set.group(2).weights()[0], 1u);
  EXPECT_EQ(set.group(3).weights()[0], 3u);
  EXPECT_EQ(set.group(4).weights()[1], 5u);
  EXPECT_EQ(set.group(5).members().size(), 4u);
}

TEST(RoutesFile, RoutesShareTheirGroups) {
  std::string text;
  for (int i = 0; i < 200; ++i)
    text += "10." + std::to_string(i) + ".0.0/16 " + (i % 2 ? "east,west\n" : "west,east ecmp\n");
  const auto result = read(text);
  ASSERT_TRUE(result.routes);
  EXPECT_EQ(result.routes->size(), 200u);
  EXPECT_EQ(result.routes->groupCount(), 2u);
}

TEST(RoutesFile, EveryRuleIsReportedOnItsLine) {
  const struct {
    const char* line;
    const char* error;
  } cases[] = {
      {"10.2.0.0/16",
       "'10.2.0.0/16': a route needs a prefix and its interfaces ('PREFIX "
       "IFACE[*W][,IFACE[*W]...] [ecmp]')"},
      {"10.2.0.0/16 east ecmp extra",
       "too many fields; expected 'PREFIX IFACE[*W][,IFACE[*W]...] [ecmp]'"},
      {"10.2.0.0/16 east*3,west",
       "weights (IFACE*W) share the flows of an ECMP route: it needs 'ecmp'"},
      {"10.2.0.0/16 east*0,west ecmp", "weight '0' of 'east' is not 1..256"},
      {"10.2.0.0/16 east*257,west ecmp", "weight '257' of 'east' is not 1..256"},
      {"10.2.0.0/16 east*,west ecmp", "weight '' of 'east' is not 1..256"},
      {"10.2.0.0/16 east,west*3x ecmp", "weight '3x' of 'west' is not 1..256"},
      {"10.2.0.0/16 east,west*999999 ecmp", "weight '999999' of 'west' is not 1..256"},
      {"10.2.0.0/16 east*2*2,west ecmp", "weight '2*2' of 'east' is not 1..256"},
      {"10.2.0.0/16 east,west ecpm",
       "unexpected 'ecpm' after the interfaces (only 'ecmp' may follow)"},
      {"10.2.0.1/16 east",
       "'10.2.0.1/16' has host bits set beyond /16 (did you mean 10.2.0.0/16?)"},
      {"10.2.0.0/33 east", "'10.2.0.0/33': prefix length 33 is beyond 32 for IPv4"},
      {"10.2.0/16 east", "'10.2.0/16': '10.2.0' is not an IPv4 or IPv6 address"},
      {"10.2.0.0/x east", "'10.2.0.0/x': prefix length 'x' is not a number"},
      {"10.2.0.0/16 south", "unknown interface 'south' (interfaces: east, west, north)"},
      {"10.2.0.0/16 east,east", "interface 'east' appears twice"},
      {"10.2.0.0/16 east,", "interface 2 in 'east,' is empty"},
      {"10.2.0.0/16 ,east", "interface 1 in ',east' is empty"},
      {"10.2.0.0/16 east ecmp", "'ecmp' needs at least two interfaces"},
      {"blackhole", "expected 'blackhole PREFIX'"},
      {"unreachable 10.2.0.0/16 east", "expected 'unreachable PREFIX'"},
      {"prohibit", "expected 'prohibit PREFIX'"},
      {"blackhole 10.2.0.1/16",
       "'10.2.0.1/16' has host bits set beyond /16 (did you mean 10.2.0.0/16?)"},
      {"blackhole east", "'east': 'east' is not an IPv4 or IPv6 address"},
  };
  for (const auto& c : cases) {
    const std::string text = std::string("10.1.0.0/16 east\n# ok so far\n") + c.line + "\n10.9.0.0/16 west\n";
    EXPECT_EQ(errorsOf(text), std::vector<std::string>{std::string("3: ") + c.error}) << c.line;
  }
}

// NAME*W weights: a weighted ECMP group (an interface without one weighs
// 1); all weights equal: the plain group.
TEST(RoutesFile, WeightsMakeWeightedEcmp) {
  std::istringstream in(
      "10.1.0.0/16 east*3,west ecmp\n"
      "10.2.0.0/16 north,east*256,west*2 ecmp\n"
      "10.3.0.0/16 east*4,west*4 ecmp\n");
  const std::vector<std::string> names = {"east", "west", "north"};
  const auto result = readRoutesFile(in, names);
  ASSERT_TRUE(result.routes) << (result.errors.empty() ? "" : result.errors[0].message);
  EXPECT_EQ(result.routes->group(0).weights(), (std::vector<uint32_t>{3, 1}));
  EXPECT_EQ(result.routes->group(1).weights(), (std::vector<uint32_t>{1, 256, 2}));
  EXPECT_EQ(result.routes->group(1).members()[0], 2u);
  EXPECT_FALSE(result.routes->group(2).weighted());
  EXPECT_EQ(result.routes->group(2).mode(), GroupMode::kEcmp);
}

TEST(RoutesFile, TooManyInterfacesInOneRoute) {
  std::vector<std::string> many;
  std::string via;
  for (int i = 0; i < 17; ++i) {
    many.push_back("i" + std::to_string(i));
    via += (i ? "," : "") + many.back();
  }
  std::istringstream in("10.0.0.0/8 " + via + "\n");
  const auto result = readRoutesFile(in, many);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].message, "names 17 interfaces; at most 16 are allowed");
}

TEST(RoutesFile, DuplicatesNameBothLines) {
  EXPECT_EQ(errorsOf("10.1.0.0/16 east\n"
                     "2001:db8::/32 west\n"
                     "10.1.0.0/16 west\n"
                     "2001:db8:0::/32 east\n"
                     "10.1.0.0/16 north\n"),
            (std::vector<std::string>{"3: duplicate prefix 10.1.0.0/16 (first on line 1)",
                                      "4: duplicate prefix 2001:db8::/32 (first on line 2)",
                                      "5: duplicate prefix 10.1.0.0/16 (first on line 1)"}));
  EXPECT_EQ(errorsOf("10.1.0.0/16 east\nblackhole 10.1.0.0/16\n"),
            std::vector<std::string>{"2: duplicate prefix 10.1.0.0/16 (first on line 1)"});
  // The same address with another length is another prefix.
  EXPECT_EQ(errorsOf("10.1.0.0/16 east\n10.1.0.0/24 east\n"), std::vector<std::string>{});
}

TEST(RoutesFile, LongLinesAndErrorFloodsAreBounded) {
  EXPECT_EQ(errorsOf(std::string(1025, 'x') + "\n10.0.0.0/8 east\n"),
            std::vector<std::string>{"1: line is 1025 bytes long; at most 1024 are allowed"});
  std::string bad;
  for (int i = 0; i < 1000; ++i) bad += "nonsense east\n";
  const auto result = read(bad);
  EXPECT_EQ(result.errors.size(), kMaxRoutesFileErrors);
  EXPECT_TRUE(result.more_errors);
  EXPECT_EQ(result.errors.back().line, kMaxRoutesFileErrors);
}

TEST(RoutesFile, EmptyFileIsAnEmptyTable) {
  const auto result = read("# nothing yet\n\n");
  ASSERT_TRUE(result.routes);
  EXPECT_EQ(result.routes->size(), 0u);
}

// A table built from a file decides exactly as one built from the same
// routes in YAML form (RouteSpec).
TEST(RoutesFile, TableFromAFileDecidesAsFromYaml) {
  const std::vector<RouteSpec> specs = {
      {"10.2.0.0/16", {"east", "west"}, false},  {"10.2.3.0/24", {"west"}, false},
      {"2001:db8::/32", {"east", "west"}, true}, {"2001:db8:5::/48", {"north", "east"}, false},
      {"10.2.3.128/25", {}, false, "blackhole"}, {"2001:db8:6::/48", {}, false, "unreachable"}};
  std::vector<RouteIssue> issues;
  const auto yaml = RouteTable::build(specs, kSetInterfaces, {.hash_seed = 5}, &issues);
  ASSERT_TRUE(yaml);
  auto file = read(
      "10.2.0.0/16 east,west\n10.2.3.0/24 west\n2001:db8::/32 east,west ecmp\n"
      "2001:db8:5::/48 north,east\nblackhole 10.2.3.128/25\n"
      "unreachable 2001:db8:6::/48\n");
  ASSERT_TRUE(file.routes);
  std::string error;
  const auto from_file = RouteTable::build(std::make_shared<const RouteSet>(std::move(*file.routes)),
                                           {.hash_seed = 5}, &error);
  ASSERT_TRUE(from_file) << error;
  ASSERT_EQ(from_file->size(), yaml->size());
  for (const uint64_t up : {uint64_t{0b111}, uint64_t{0b001}, uint64_t{0b010}, uint64_t{0b100}}) {
    for (uint16_t port = 0; port < 32; ++port) {
      for (const char* dst : {"10.2.1.1", "10.2.3.9", "10.3.0.1", "2001:db8:1::1", "2001:db8:5::9",
                              "10.2.3.200", "2001:db8:6::1"}) {
        const auto address = *IpAddress::parse(dst);
        std::vector<uint8_t> packet;
        if (address.isV4()) {
          packet = testing::makeV4({.destination = address.v4(), .source_port = port});
        } else {
          testing::V6Spec s;
          s.destination = address.v6();
          s.source_port = port;
          packet = testing::makeV6(s);
        }
        auto a = packet;
        auto b = packet;
        const Decision da = yaml->forward(a, up);
        const Decision db = from_file->forward(b, up);
        EXPECT_EQ(da.verdict, db.verdict) << dst;
        EXPECT_EQ(da.interface, db.interface) << dst << " port " << port;
        EXPECT_EQ(da.route, db.route) << dst;
        if (std::string_view(dst) == "10.2.3.200") {
          EXPECT_EQ(db.verdict, Verdict::kBlackhole);
        }
        if (std::string_view(dst) == "2001:db8:6::1") {
          EXPECT_EQ(db.verdict, Verdict::kUnreachable);
        }
      }
    }
  }
}

}  // namespace
}  // namespace ferry::route
