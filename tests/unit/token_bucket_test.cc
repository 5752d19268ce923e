// ferry::TokenBucket: the ICMP limit's use (starts full, one token at a
// time) and the generator's (starts empty, several at a time, waits).
#include "ferry/token_bucket.h"

#include <gtest/gtest.h>

namespace ferry {
namespace {

constexpr uint64_t kMilli = 1'000'000;
constexpr uint64_t kSecond = 1'000 * kMilli;
constexpr auto kFull = TokenBucket::Start::kFull;
constexpr auto kEmpty = TokenBucket::Start::kEmpty;

TEST(TokenBucket, StartsFullAndEmptiesAfterTheBurst) {
  TokenBucket b(10, 5, 0, kFull);
  EXPECT_EQ(b.available(0), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.tryTake(0)) << i;
  EXPECT_FALSE(b.tryTake(0));
}

TEST(TokenBucket, RefillsAtTheRateWithoutDrift) {
  TokenBucket b(10, 1, 0, kFull);  // one token per 100 ms
  ASSERT_TRUE(b.tryTake(0));
  EXPECT_FALSE(b.tryTake(99 * kMilli));
  EXPECT_TRUE(b.tryTake(100 * kMilli));
  // Many small steps add up exactly: 100 × 1 ms = one token.
  for (uint64_t t = 101; t < 200; ++t) EXPECT_FALSE(b.tryTake(t * kMilli)) << t;
  EXPECT_TRUE(b.tryTake(200 * kMilli));
}

TEST(TokenBucket, LongRunRateIsExact) {
  TokenBucket b(100, 3, 0, kFull);
  int passed = 0;
  for (uint64_t t = 0; t <= 10 * kSecond; t += 250'000) passed += b.tryTake(t);  // 4000 tries/s
  EXPECT_EQ(passed, 3 + 1000);  // the burst, then 100/s for 10 s
}

TEST(TokenBucket, CapsAtBurstAfterLongIdle) {
  TokenBucket b(1000, 4, 0, kFull);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.tryTake(0));
  EXPECT_EQ(b.available(3600 * kSecond), 4u);
  EXPECT_EQ(b.available(UINT64_MAX), 4u);  // no overflow however long the gap
}

TEST(TokenBucket, ZeroRateAndZeroBurst) {
  TokenBucket once(0, 2, 0, kFull);
  EXPECT_TRUE(once.tryTake(0));
  EXPECT_TRUE(once.tryTake(kSecond));
  EXPECT_FALSE(once.tryTake(1000 * kSecond));
  TokenBucket never(100, 0, 0, kFull);
  EXPECT_FALSE(never.tryTake(0));
  EXPECT_FALSE(never.tryTake(10 * kSecond));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket b(10, 1, 5 * kSecond, kFull);
  ASSERT_TRUE(b.tryTake(5 * kSecond));
  EXPECT_FALSE(b.tryTake(0));
  EXPECT_FALSE(b.tryTake(5 * kSecond + 99 * kMilli));
  EXPECT_TRUE(b.tryTake(5 * kSecond + 100 * kMilli));
}

TEST(TokenBucket, ExtremeParametersAreClamped) {
  TokenBucket b(static_cast<double>(UINT64_MAX), static_cast<double>(UINT64_MAX), 0, kFull);
  EXPECT_EQ(b.available(0), TokenBucket::kMaxBurst);
  b.take(TokenBucket::kMaxBurst);
  EXPECT_EQ(b.available(1), 1u);  // kMaxRate, 1e9/s: one per ns
  EXPECT_EQ(b.available(UINT64_MAX), TokenBucket::kMaxBurst);  // no overflow
  EXPECT_TRUE(b.tryTake(UINT64_MAX));
  TokenBucket negative(-5, -1, 0, kFull);
  EXPECT_EQ(negative.available(kSecond), 0u);
  EXPECT_EQ(negative.waitNs(1, kSecond), 0u);  // nothing to wait for in a bucket of 0
}

TEST(TokenBucket, StartsEmptyAccruesAndCapsAtTheBurst) {
  TokenBucket b(1000, 10, 0, kEmpty);  // 1000 per second, 10 deep
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.available(1 * kMilli), 1u);
  EXPECT_EQ(b.available(5 * kMilli), 5u);
  EXPECT_EQ(b.available(1000 * kMilli), 10u);  // a long pause banks no more than the burst
  b.take(10);
  EXPECT_EQ(b.available(1000 * kMilli), 0u);
  EXPECT_EQ(b.waitNs(4, 1000 * kMilli), 4 * kMilli);
  EXPECT_EQ(b.waitNs(50, 1000 * kMilli), 10 * kMilli);  // capped at the burst
  EXPECT_EQ(b.available(1004 * kMilli), 4u);
  EXPECT_EQ(b.waitNs(4, 1004 * kMilli), 0u);
}

// The generator asks for rates such as 89.2857 pps (1 Mbit/s of 1400 B):
// fractions of a token per second add up exactly over time.
TEST(TokenBucket, FractionalRatesAreKeptToAMillionth) {
  TokenBucket b(2.5, 1000, 0, kEmpty);
  EXPECT_EQ(b.available(399 * kMilli), 0u);
  EXPECT_EQ(b.available(400 * kMilli), 1u);
  EXPECT_EQ(b.available(100 * kSecond), 250u);
  TokenBucket slow(0.000001, 1, 0, kEmpty);  // one token per 1e6 s
  EXPECT_EQ(slow.waitNs(1, 0), 1'000'000 * kSecond);
  TokenBucket fine(89.285714, 1e6, 0, kEmpty);
  EXPECT_EQ(fine.available(1000 * kSecond), 89285u);  // 89285.714 after 1000 s
}

TEST(TokenBucket, FractionalBurstHoldsItsFraction) {
  TokenBucket b(10, 2.5, 0, kFull);
  EXPECT_EQ(b.burst(), 2.5);
  EXPECT_EQ(b.available(0), 2u);
  b.take(2);
  EXPECT_EQ(b.available(0), 0u);  // half a token left
  EXPECT_EQ(b.waitNs(1, 0), 50 * kMilli);
  EXPECT_EQ(b.waitNs(3, 0), 200 * kMilli);  // at most the burst: 2.5 tokens
}

TEST(TokenBucket, WaitRoundsUpAndRateZeroNeverComes) {
  TokenBucket third(3, 1, 0, kEmpty);  // a token every 333,333,333.3 ns
  EXPECT_EQ(third.waitNs(1, 0), 333'333'334u);
  EXPECT_EQ(third.available(333'333'333), 0u);
  EXPECT_EQ(third.available(333'333'334), 1u);
  TokenBucket none(0, 5, 0, kEmpty);
  EXPECT_EQ(none.waitNs(1, 0), UINT64_MAX);
  EXPECT_EQ(none.available(UINT64_MAX), 0u);
}

TEST(TokenBucket, TakingMoreThanThereIsEmptiesIt) {
  TokenBucket b(10, 5, 0, kFull);
  b.take(7);
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.available(100 * kMilli), 1u);
}

}  // namespace
}  // namespace ferry
