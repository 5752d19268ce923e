// The token bucket and size sequences, driven with simulated time.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "ferry/gen/rate.h"

namespace ferry::gen {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(GenTokenBucket, StartsEmptyAccruesAndCapsAtDepth) {
  TokenBucket b(1000, 10, 0);  // 1000 pps, 10 tokens deep
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.available(1 * kMs), 1u);
  EXPECT_EQ(b.available(5 * kMs), 5u);
  EXPECT_EQ(b.available(1000 * kMs), 10u);  // a long pause banks no more than the depth
  b.take(10);
  EXPECT_EQ(b.available(1000 * kMs), 0u);
  EXPECT_EQ(b.waitNs(4, 1000 * kMs), 4 * kMs);
  EXPECT_EQ(b.waitNs(50, 1000 * kMs), 10 * kMs);  // capped at the depth
  EXPECT_EQ(b.available(1004 * kMs), 4u);
  EXPECT_EQ(b.waitNs(4, 1004 * kMs), 0u);
}

TEST(GenTokenBucket, DepthIsTenMillisecondsOfTokens) {
  EXPECT_DOUBLE_EQ(TokenBucket::depthFor(50000), 500);
  EXPECT_DOUBLE_EQ(TokenBucket::depthFor(10), 1);  // never below one packet
}

// The sender's loop (sender.cc) with a simulated clock: each call takes
// `call_ns`, each sleep overshoots by `oversleep_ns`. Returns packets per
// 10 ms window.
std::map<uint64_t, uint64_t> simulate(double rate, uint64_t burst, uint64_t duration_ns,
                                      uint64_t call_ns, uint64_t oversleep_ns, uint64_t& total) {
  TokenBucket b(rate, TokenBucket::depthFor(rate), 0);
  const uint64_t threshold = std::min(burst, TokenBucket::sendThreshold(b.depth()));
  std::map<uint64_t, uint64_t> per_window;
  uint64_t now = 0;
  total = 0;
  while (now < duration_ns) {
    const uint64_t available = b.available(now);
    if (available < threshold) {
      now += b.waitNs(threshold, now) + oversleep_ns;
      continue;
    }
    const uint64_t n = std::min(available, burst);
    b.take(n);
    total += n;
    per_window[now / (10 * kMs)] += n;
    now += call_ns;
  }
  return per_window;
}

TEST(GenTokenBucket, SenderLoopHoldsTheRateOverEvery10ms) {
  uint64_t total = 0;
  const auto windows = simulate(50000, 64, 2000 * kMs, 2000, 60'000, total);
  EXPECT_NEAR(static_cast<double>(total), 100000, 64);
  for (const auto& [window, n] : windows) {
    EXPECT_GE(n, 500u - 64) << "window " << window;
    EXPECT_LE(n, 500u + 64) << "window " << window;
  }
}

// At low rates the bucket is only a few packets deep; a sleep that overshoots
// (timer slack, a busy machine) must not cost packets.
TEST(GenTokenBucket, OversleepingDoesNotLowerTheRate) {
  for (const uint64_t oversleep : {0ULL, 100'000ULL, 1'000'000ULL, 5'000'000ULL}) {
    uint64_t total = 0;
    simulate(1000, 64, 10'000 * kMs, 2000, oversleep, total);
    EXPECT_NEAR(static_cast<double>(total), 10000, 20) << "oversleep " << oversleep << " ns";
  }
}

TEST(GenTokenBucket, SendThresholdIsAQuarterOfTheDepth) {
  EXPECT_EQ(TokenBucket::sendThreshold(500), 125u);
  EXPECT_EQ(TokenBucket::sendThreshold(10), 2u);
  EXPECT_EQ(TokenBucket::sendThreshold(1), 1u);
}

TEST(GenTokenBucket, StalledSenderDoesNotBurstMoreThanTheDepth) {
  TokenBucket b(50000, 500, 0);
  // The sender stalls for 1 s; afterwards at most one bucket (10 ms) goes at once.
  EXPECT_EQ(b.available(1000 * kMs), 500u);
}

TEST(GenImix, SevenFourOneByCount) {
  const auto cycle = imixCycle();
  ASSERT_EQ(cycle.size(), 12u);
  EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 64u), 7);
  EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 594u), 4);
  EXPECT_EQ(std::count(cycle.begin(), cycle.end(), 1518u), 1);
  EXPECT_NEAR(meanSize(cycle), 361.83, 0.01);
}

TEST(GenBitrate, ConvertsOverTheMeanSize) {
  const std::vector<uint32_t> one{1250};
  EXPECT_DOUBLE_EQ(packetsPerSecond(1e9, one), 100000);  // 1 Gbit/s of 1250 B
  const std::vector<uint32_t> two{100, 300};
  EXPECT_DOUBLE_EQ(packetsPerSecond(1.6e6, two), 1000);
}

}  // namespace
}  // namespace ferry::gen
