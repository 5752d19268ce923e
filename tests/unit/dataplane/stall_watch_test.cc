// StallWatch: idle vs stuck dataplanes, table-driven.
#include "ferry/dataplane/stall_watch.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry {
namespace {

struct Step {
  uint64_t at;
  uint64_t loops;
  bool waiting;
  bool changed;
  bool stalled;
};

void run(const std::vector<Step>& steps, uint64_t expect_stalls) {
  StallWatch w(1, 2000);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    EXPECT_EQ(w.update(0, s.loops, s.waiting, s.at), s.changed) << "step " << i;
    EXPECT_EQ(w.stalled(0), s.stalled) << "step " << i;
  }
  EXPECT_EQ(w.stalls(0), expect_stalls);
}

TEST(StallWatch, IdleIsNotStalled) {
  // The loop counter never moves, but nothing waits.
  run({{0, 5, false, false, false}, {5000, 5, false, false, false}, {900000, 5, false, false, false}}, 0);
}

TEST(StallWatch, BusyIsNotStalled) {
  // Something always waits, but every sample sees new loop turns.
  run({{0, 1, true, false, false}, {3000, 2, true, false, false}, {6000, 3, true, false, false}}, 0);
}

TEST(StallWatch, StuckWithWaitingDataIsStalledAfterTheThreshold) {
  run({{0, 7, true, false, false},
       {1000, 7, true, false, false},
       {1999, 7, true, false, false},  // just below
       {2000, 7, true, true, true},    // exactly at the threshold
       {9000, 7, true, false, true},   // still stalled: no new change, counted once
       {9500, 8, true, true, false},   // a loop turn: recovered
       {9600, 8, true, false, false},
       {11600, 8, true, true, true},   // stuck again
       {11700, 8, false, true, false}},  // its queues drained (e.g. by the kernel's rehash)
      2);
}

TEST(StallWatch, WaitingMustLastWithoutInterruption) {
  // Data waits, then not, then again: the clock restarts each time.
  run({{0, 7, true, false, false},
       {1500, 7, false, false, false},
       {3000, 7, true, false, false},
       {4999, 7, true, false, false},
       {5000, 7, true, true, true}},
      1);
}

TEST(StallWatch, TheFirstSampleIsABaseline) {
  // Whatever the counter says at first, the threshold counts from then.
  StallWatch w(2, 2000);
  EXPECT_FALSE(w.update(1, 123, true, 50'000));
  EXPECT_FALSE(w.update(1, 123, true, 51'000));
  EXPECT_TRUE(w.update(1, 123, true, 52'000));
  EXPECT_FALSE(w.stalled(0)) << "dataplanes are independent";
  EXPECT_EQ(w.sinceProgress(1, 52'500), 2500u);
  EXPECT_EQ(w.sinceProgress(0, 52'500), 0u) << "never sampled";
}

TEST(StallWatch, ClockGoingBackwardsNeverStalls) {
  StallWatch w(1, 2000);
  EXPECT_FALSE(w.update(0, 1, true, 10'000));
  EXPECT_FALSE(w.update(0, 1, true, 5'000));
  EXPECT_FALSE(w.stalled(0));
  EXPECT_EQ(w.sinceProgress(0, 5'000), 0u);
}

}  // namespace
}  // namespace ferry
