// The pacer and size sequences, driven with simulated time (the token
// bucket under the pacer has its own tests: tests/unit/token_bucket_test.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "ferry/gen/rate.h"

namespace ferry::gen {
namespace {

constexpr uint64_t kMs = 1'000'000;

// The sender's loop (sender.cc) with a simulated clock: each call takes
// `call_ns`, each sleep overshoots by `oversleep_ns`, and the sender is held
// up (descheduled) for `stall_ns` at `stall_at_ns`. Returns packets per 10 ms
// window.
struct Simulated {
  std::map<uint64_t, uint64_t> windows;
  uint64_t total = 0;
};
Simulated simulate(double rate, uint64_t burst, uint64_t duration_ns, uint64_t call_ns,
                   uint64_t oversleep_ns, uint64_t stall_at_ns = ~0ULL, uint64_t stall_ns = 0) {
  Pacer pacer(rate, 0);
  Simulated run;
  uint64_t now = 0;
  bool stalled = false;
  while (now < duration_ns) {
    if (!stalled && now >= stall_at_ns) {
      now += stall_ns;
      stalled = true;
      continue;
    }
    const uint64_t threshold = std::min(burst, pacer.threshold());
    const uint64_t available = pacer.available(now);
    if (available < threshold) {
      now += pacer.waitNs(threshold, now) + oversleep_ns;
      continue;
    }
    const uint64_t n = std::min(available, burst);
    pacer.take(n);
    run.total += n;
    run.windows[now / (10 * kMs)] += n;
    now += call_ns;
  }
  return run;
}

TEST(GenPacer, HoldsTheRateOverEvery10ms) {
  const Simulated run = simulate(50000, 64, 2000 * kMs, 2000, 60'000);
  EXPECT_NEAR(static_cast<double>(run.total), 100000, 64);
  for (const auto& [window, n] : run.windows) {
    EXPECT_GE(n, 500u - 64) << "window " << window;
    EXPECT_LE(n, 500u + 64) << "window " << window;
  }
}

// At low rates a burst is only a few packets; a sleep that overshoots (timer
// slack, a busy machine) must not cost packets.
TEST(GenPacer, OversleepingDoesNotLowerTheRate) {
  for (const uint64_t oversleep : {0ULL, 100'000ULL, 1'000'000ULL, 5'000'000ULL}) {
    const Simulated run = simulate(1000, 64, 10'000 * kMs, 2000, oversleep);
    EXPECT_NEAR(static_cast<double>(run.total), 10000, 40) << "oversleep " << oversleep << " ns";
  }
}

// A sender held up for 60 ms makes the packets up, at no more than twice the
// rate, and never more than 10 ms' worth at once.
TEST(GenPacer, HoldUpsUpTo100msAreMadeUpAtMostTwiceTheRate) {
  const Simulated run = simulate(50000, 64, 2000 * kMs, 2000, 60'000, 500 * kMs, 60 * kMs);
  EXPECT_NEAR(static_cast<double>(run.total), 100000, 64);
  uint64_t busiest = 0;
  for (const auto& [window, n] : run.windows) busiest = std::max(busiest, n);
  EXPECT_LE(busiest, 500u * 2 + 500 + 64) << "2x rate plus one 10 ms burst";
  EXPECT_GT(busiest, 500u + 64) << "it did catch up";
  // Before the hold-up, and once made up, the rate is steady again.
  for (uint64_t w = 1; w < 50; ++w)
    EXPECT_NEAR(static_cast<double>(run.windows.at(w)), 500, 64) << w;
  for (uint64_t w = 80; w < 199; ++w)
    EXPECT_NEAR(static_cast<double>(run.windows.at(w)), 500, 64) << w;
}

TEST(GenPacer, LongerHoldUpsAreForgivenBeyond100ms) {
  const Simulated run = simulate(50000, 64, 2000 * kMs, 2000, 60'000, 500 * kMs, 300 * kMs);
  // 300 ms missed, 100 ms of it made up.
  EXPECT_NEAR(static_cast<double>(run.total), 100000 - 200 * 50, 128);
}

TEST(GenPacer, ThresholdIsAQuarterOfTheBurst) {
  EXPECT_EQ(Pacer(50000, 0).threshold(), 125u);
  EXPECT_EQ(Pacer(1000, 0).threshold(), 2u);
  EXPECT_EQ(Pacer(10, 0).threshold(), 1u);
}

TEST(GenPacer, StartsEmpty) {
  Pacer pacer(50000, 0);
  EXPECT_EQ(pacer.available(0), 0u);
  EXPECT_EQ(pacer.available(1 * kMs), 50u);
  // After a long idle start, no more than one 10 ms burst at once.
  Pacer idle(50000, 0);
  EXPECT_EQ(idle.available(1000 * kMs), 500u);
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
