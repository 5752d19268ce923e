#include "ferry/route/token_bucket.h"

#include <gtest/gtest.h>

namespace ferry::route {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kS = 1'000 * kMs;

TEST(TokenBucket, StartsFullAndEmptiesAfterTheBurst) {
  TokenBucket b(10, 5, 0);
  EXPECT_EQ(b.available(0), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.tryTake(0)) << i;
  EXPECT_FALSE(b.tryTake(0));
}

TEST(TokenBucket, RefillsAtTheRateWithoutDrift) {
  TokenBucket b(10, 1, 0);  // one token per 100 ms
  ASSERT_TRUE(b.tryTake(0));
  EXPECT_FALSE(b.tryTake(99 * kMs));
  EXPECT_TRUE(b.tryTake(100 * kMs));
  // Many small steps add up exactly: 100 × 1 ms = one token.
  for (uint64_t t = 101; t < 200; ++t) EXPECT_FALSE(b.tryTake(t * kMs)) << t;
  EXPECT_TRUE(b.tryTake(200 * kMs));
}

TEST(TokenBucket, LongRunRateIsExact) {
  TokenBucket b(100, 3, 0);
  int passed = 0;
  for (uint64_t t = 0; t <= 10 * kS; t += 250'000) passed += b.tryTake(t);  // 4000 tries/s
  EXPECT_EQ(passed, 3 + 1000);  // the burst, then 100/s for 10 s
}

TEST(TokenBucket, CapsAtBurstAfterLongIdle) {
  TokenBucket b(1000, 4, 0);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.tryTake(0));
  EXPECT_EQ(b.available(3600 * kS), 4u);
  EXPECT_EQ(b.available(UINT64_MAX), 4u);  // no overflow however long the gap
}

TEST(TokenBucket, ZeroRateAndZeroBurst) {
  TokenBucket once(0, 2, 0);
  EXPECT_TRUE(once.tryTake(0));
  EXPECT_TRUE(once.tryTake(kS));
  EXPECT_FALSE(once.tryTake(1000 * kS));
  TokenBucket never(100, 0, 0);
  EXPECT_FALSE(never.tryTake(0));
  EXPECT_FALSE(never.tryTake(10 * kS));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket b(10, 1, 5 * kS);
  ASSERT_TRUE(b.tryTake(5 * kS));
  EXPECT_FALSE(b.tryTake(0));
  EXPECT_FALSE(b.tryTake(5 * kS + 99 * kMs));
  EXPECT_TRUE(b.tryTake(5 * kS + 100 * kMs));
}

TEST(TokenBucket, ExtremeParametersAreClamped) {
  TokenBucket b(UINT64_MAX, UINT64_MAX, 0);
  EXPECT_EQ(b.available(0), TokenBucket::kMaxBurst);
  EXPECT_TRUE(b.tryTake(UINT64_MAX));
}

}  // namespace
}  // namespace ferry::route
