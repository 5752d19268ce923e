#include "ferry/route/next_hop.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ferry/route/inner.h"
#include "packets.h"

namespace ferry::route {
namespace {

NextHopGroup make(GroupMode mode, std::vector<uint32_t> members) {
  std::string error;
  auto g = NextHopGroup::create(mode, members, &error);
  EXPECT_TRUE(g) << error;
  return *g;
}

uint64_t bits(std::initializer_list<uint32_t> interfaces) {
  uint64_t m = 0;
  for (uint32_t i : interfaces) m |= uint64_t{1} << i;
  return m;
}

TEST(NextHopGroup, CreateErrors) {
  std::string error;
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kFailover, {}, &error));
  EXPECT_EQ(error, "a next-hop group needs at least one interface");
  const std::vector<uint32_t> many(17, 0);
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kEcmp, many, &error));
  EXPECT_EQ(error, "a next-hop group has at most 16 interfaces, not 17");
  const std::vector<uint32_t> big = {1, 64};
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kEcmp, big, &error));
  EXPECT_EQ(error, "interface index 64 is beyond the maximum 63");
  const std::vector<uint32_t> twice = {4, 2, 4};
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kFailover, twice, &error));
  EXPECT_EQ(error, "interface index 4 appears twice (positions 0 and 2)");
  const std::vector<uint32_t> ok = {63, 0};
  auto g = NextHopGroup::create(GroupMode::kEcmp, ok, &error);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->memberMask(), bits({0, 63}));
  EXPECT_EQ(g->members().size(), 2u);
  EXPECT_EQ(g->members()[0], 63);
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kBlackhole, ok, &error));
  EXPECT_EQ(error, "a next-hop group with interfaces is failover or ecmp");
}

TEST(NextHopGroup, DropGroupsHaveNoMemberAndSelectNothing) {
  for (const GroupMode mode :
       {GroupMode::kBlackhole, GroupMode::kUnreachable, GroupMode::kProhibit}) {
    const NextHopGroup g = NextHopGroup::drop(mode);
    EXPECT_EQ(g.mode(), mode);
    EXPECT_TRUE(g.drops());
    EXPECT_TRUE(g.members().empty());
    EXPECT_EQ(g.memberMask(), 0u);
    for (const uint32_t hash : {0u, 1u, 0x80000000u, 0xffffffffu}) {
      EXPECT_EQ(g.select(hash, ~uint64_t{0}), kAllDown);
      EXPECT_EQ(g.select(hash, 0), kAllDown);
    }
    EXPECT_EQ(g.activeMask(~uint64_t{0}), 0u);
  }
  // Anything but unreachable and prohibit is a blackhole.
  EXPECT_EQ(NextHopGroup::drop(GroupMode::kEcmp).mode(), GroupMode::kBlackhole);
  EXPECT_FALSE(NextHopGroup::create(GroupMode::kEcmp, std::vector<uint32_t>{1, 2})->drops());
  EXPECT_EQ(toString(GroupMode::kFailover), "failover");
  EXPECT_EQ(toString(GroupMode::kEcmp), "ecmp");
  EXPECT_EQ(toString(GroupMode::kBlackhole), "blackhole");
  EXPECT_EQ(toString(GroupMode::kUnreachable), "unreachable");
  EXPECT_EQ(toString(GroupMode::kProhibit), "prohibit");
  // The names a config's `drop:` and a routes file use.
  EXPECT_EQ(dropModeNamed("blackhole"), GroupMode::kBlackhole);
  EXPECT_EQ(dropModeNamed("unreachable"), GroupMode::kUnreachable);
  EXPECT_EQ(dropModeNamed("prohibit"), GroupMode::kProhibit);
  for (const char* other : {"failover", "ecmp", "Blackhole", "reject", "", "prohibited"})
    EXPECT_FALSE(dropModeNamed(other)) << other;
}

// (up interfaces → chosen) for via: [3, 1, 7]: the first member that is up.
TEST(NextHopGroup, FailoverFollowsConfigOrder) {
  const NextHopGroup g = make(GroupMode::kFailover, {3, 1, 7});
  struct Case {
    uint64_t up;
    uint32_t expected;
  };
  const Case cases[] = {
      {bits({1, 3, 7}), 3}, {bits({1, 7}), 1},
      {bits({7}), 7},       {bits({3}), 3},
      {bits({3, 7}), 3},    {bits({1}), 1},
      {0, kAllDown},        {bits({0, 2, 4, 63}), kAllDown},  // only non-members up
      {~uint64_t{0}, 3},
  };
  for (const Case& c : cases) {
    for (uint32_t hash : {0u, 1u, 0x80000000u, 0xffffffffu}) {
      EXPECT_EQ(g.select(hash, c.up), c.expected) << std::hex << c.up;
    }
  }
  EXPECT_EQ(g.activeMask(bits({1, 3, 7})), bits({3}));
  EXPECT_EQ(g.activeMask(bits({1, 7})), bits({1}));
  EXPECT_EQ(g.activeMask(0), 0u);
}

TEST(NextHopGroup, EcmpAllDown) {
  const NextHopGroup g = make(GroupMode::kEcmp, {2, 5});
  for (uint32_t hash : {0u, 12345u, 0xffffffffu}) {
    EXPECT_EQ(g.select(hash, 0), kAllDown);
    EXPECT_EQ(g.select(hash, bits({0, 1, 3, 4})), kAllDown);
  }
  EXPECT_EQ(g.activeMask(bits({2, 3})), bits({2}));
}

// ECMP at unit level: 64 inner flows (sequential source
// ports, as a traffic generator makes them) over 2 up members split within
// 35/65, and each flow always takes the same member.
TEST(NextHopGroup, EcmpSixtyFourFlowsSplitEvenlyAndStick) {
  const NextHopGroup g = make(GroupMode::kEcmp, {0, 1});
  const uint64_t up = bits({0, 1});
  auto flowHashOf = [](uint16_t port, uint32_t seed, bool v6) {
    if (v6) {
      testing::V6Spec s;
      s.source_port = port;
      return flowHash(testing::makeV6(s), seed);
    }
    testing::V4Spec s;
    s.source_port = port;
    return flowHash(testing::makeV4(s), seed);
  };
  int seeds_in_band = 0;
  constexpr int kSeeds = 1000;
  for (uint32_t seed = 0; seed < kSeeds; ++seed) {
    for (bool v6 : {false, true}) {
      int on_first = 0;
      for (uint16_t f = 0; f < 64; ++f) {
        const uint32_t h = flowHashOf(static_cast<uint16_t>(40000 + f), seed, v6);
        const uint32_t chosen = g.select(h, up);
        ASSERT_TRUE(chosen == 0 || chosen == 1);
        on_first += chosen == 0;
        // The same flow, another packet of it: the same member.
        ASSERT_EQ(g.select(flowHashOf(static_cast<uint16_t>(40000 + f), seed, v6), up), chosen);
      }
      const bool in_band = on_first >= 23 && on_first <= 41;  // 35.9% .. 64.1%
      if (seed == 0) {
        EXPECT_TRUE(in_band) << "seed 0 " << (v6 ? "v6" : "v4") << ": " << on_first;
      }
      seeds_in_band += in_band;
    }
  }
  // A binomial(64, 1/2) falls outside 35/65 about 1.7% of the time, so a
  // random seed does too; a hash that splits worse than chance would not pass.
  EXPECT_GE(seeds_in_band, 2 * kSeeds * 96 / 100);
}

// The hash space is split exactly: over 2^20 evenly spaced hash values each
// member's share differs from 2^20/n by at most 1, for every group size.
TEST(NextHopGroup, EcmpSplitsTheHashSpaceExactly) {
  for (uint32_t n = 2; n <= kMaxGroupMembers; ++n) {
    std::vector<uint32_t> members;
    for (uint32_t i = 0; i < n; ++i) members.push_back(i * 3);
    const NextHopGroup g = make(GroupMode::kEcmp, members);
    std::map<uint32_t, int> count;
    constexpr int kSteps = 1 << 20;
    for (uint32_t i = 0; i < kSteps; ++i) ++count[g.select(i << 12, ~uint64_t{0})];
    ASSERT_EQ(count.size(), n);
    for (const auto& [member, c] : count) {
      EXPECT_NEAR(c, kSteps / n, 1) << "n=" << n << " member " << member;
    }
  }
}

// What `flows` random flow hashes do when member `down` of `g` goes down
// (from all members of `all` up): each flow that was not on it must stay
// where it was (checked here), and comes back to the same member after.
struct Moves {
  std::map<uint32_t, int> before;  // per member, the flows on it with all up
  std::map<uint32_t, int> to;      // per member, the flows that moved to it
  int moved = 0;
};
Moves whenDown(const NextHopGroup& g, uint64_t all, uint32_t down, int flows, uint32_t seed) {
  std::mt19937 rng(seed);
  const uint64_t without = all & ~(uint64_t{1} << down);
  Moves m;
  for (int f = 0; f < flows; ++f) {
    const uint32_t h = rng();
    const uint32_t before = g.select(h, all);
    const uint32_t during = g.select(h, without);
    ++m.before[before];
    EXPECT_NE(during, down);
    if (before != down) {
      EXPECT_EQ(during, before);
    } else {
      ++m.moved;
      ++m.to[during];
    }
    EXPECT_EQ(g.select(h, all), before);
    if (::testing::Test::HasFailure()) break;
  }
  return m;
}

// A member going down moves only its own flows, spread evenly over the
// others; they return when it comes back.
TEST(NextHopGroup, EcmpMemberDownMovesOnlyItsFlows) {
  const NextHopGroup g = make(GroupMode::kEcmp, {10, 11, 12, 13});
  const uint64_t without12 = bits({10, 11, 13});
  constexpr int kFlows = 200'000;
  const Moves m = whenDown(g, bits({10, 11, 12, 13}), 12, kFlows, 5);
  EXPECT_NEAR(m.moved, kFlows / 4, kFlows / 100);
  ASSERT_EQ(m.to.size(), 3u);
  for (const auto& [member, c] : m.to) EXPECT_NEAR(c, m.moved / 3, m.moved / 30) << member;
  // Down to one member: everything goes there.
  std::mt19937 rng(6);
  for (int f = 0; f < 1000; ++f) EXPECT_EQ(g.select(rng(), bits({13})), 13u);
  EXPECT_EQ(g.activeMask(without12 | bits({40})), without12);
}

// Weighted ECMP: creation rules; equal weights are the plain group.
TEST(NextHopGroup, WeightedCreateErrorsAndEqualWeights) {
  std::string error;
  const std::vector<uint32_t> members = {3, 5};
  EXPECT_FALSE(NextHopGroup::createWeighted(members, std::vector<uint32_t>{1}, &error));
  EXPECT_EQ(error, "1 weights for 2 interfaces");
  EXPECT_FALSE(NextHopGroup::createWeighted(members, std::vector<uint32_t>{1, 0}, &error));
  EXPECT_EQ(error, "weight 0 (position 1) is not 1..256");
  EXPECT_FALSE(NextHopGroup::createWeighted(members, std::vector<uint32_t>{257, 1}, &error));
  EXPECT_EQ(error, "weight 257 (position 0) is not 1..256");
  EXPECT_FALSE(NextHopGroup::createWeighted(std::vector<uint32_t>{3, 3},
                                            std::vector<uint32_t>{1, 2}, &error));
  EXPECT_EQ(error, "interface index 3 appears twice (positions 0 and 1)");
  const auto equal = NextHopGroup::createWeighted(members, std::vector<uint32_t>{7, 7}, &error);
  ASSERT_TRUE(equal) << error;
  EXPECT_TRUE(equal->weights().empty());
  const NextHopGroup plain = make(GroupMode::kEcmp, {3, 5});
  std::mt19937 rng(3);
  for (int i = 0; i < 10'000; ++i) {
    const uint32_t h = rng();
    for (const uint64_t up : {bits({3, 5}), bits({3}), bits({5}), uint64_t{0}})
      ASSERT_EQ(equal->select(h, up), plain.select(h, up));
  }
  const auto weighted = NextHopGroup::createWeighted(members, std::vector<uint32_t>{1, 256});
  ASSERT_TRUE(weighted);
  EXPECT_EQ(weighted->mode(), GroupMode::kEcmp);
  EXPECT_EQ(weighted->weights(), (std::vector<uint32_t>{1, 256}));
  EXPECT_EQ(weighted->activeMask(bits({3, 5, 9})), bits({3, 5}));
}

// Each member's share of the 32-bit hash space is its weight's, to within
// one hash value per step of the probe (the slices are contiguous, in
// member order).
TEST(NextHopGroup, WeightedSplitsTheHashSpaceByWeight) {
  const std::vector<std::vector<uint32_t>> cases = {
      {1, 2},
      {3, 1},
      {1, 2, 3, 4},
      {256, 1, 1},
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2},
      {256, 2},
      {10, 20, 30},
      {256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 256, 255}};
  for (const auto& weights : cases) {
    std::vector<uint32_t> members;
    for (uint32_t i = 0; i < weights.size(); ++i) members.push_back(40 - i);
    const auto g = NextHopGroup::createWeighted(members, weights);
    ASSERT_TRUE(g);
    uint64_t total = 0;
    for (const uint32_t w : weights) total += w;
    constexpr uint32_t kShift = 14;  // every 16384th hash
    std::map<uint32_t, uint64_t> count;
    uint32_t last = UINT32_MAX;
    for (uint64_t h = 0; h < (uint64_t{1} << 32); h += uint64_t{1} << kShift) {
      const uint32_t m = g->select(uint32_t(h), ~uint64_t{0});
      ASSERT_GE(last, m) << "slices in member order (members count down)";
      last = m;
      ++count[m];
    }
    ASSERT_EQ(count.size(), weights.size());
    for (size_t i = 0; i < weights.size(); ++i) {
      const double want = double(weights[i]) / double(total) * double(uint64_t{1} << (32 - kShift));
      EXPECT_NEAR(double(count[members[i]]), want, 1.01) << "member " << i;
    }
  }
}

// A weighted member going down moves only its own flows, spread over the
// others in proportion to their weights; nothing up: kAllDown.
TEST(NextHopGroup, WeightedMemberDownMovesOnlyItsFlowsByWeight) {
  const auto g = NextHopGroup::createWeighted(std::vector<uint32_t>{10, 11, 12, 13},
                                              std::vector<uint32_t>{1, 2, 3, 4});
  ASSERT_TRUE(g);
  constexpr int kFlows = 400'000;
  const Moves m = whenDown(*g, bits({10, 11, 12, 13}), 13, kFlows, 9);
  for (uint32_t member = 10; member <= 13; ++member)
    EXPECT_NEAR(m.before.at(member), kFlows * (member - 9) / 10, kFlows / 100) << member;
  EXPECT_NEAR(m.moved, kFlows * 4 / 10, kFlows / 100);
  for (uint32_t member = 10; member <= 12; ++member)
    EXPECT_NEAR(m.to.at(member), m.moved * (member - 9) / 6, m.moved / 50) << member;
  std::mt19937 rng(10);
  EXPECT_EQ(g->select(rng(), bits({40})), kAllDown);
  for (int f = 0; f < 1000; ++f) EXPECT_EQ(g->select(rng(), bits({11})), 11u);
}

}  // namespace
}  // namespace ferry::route
