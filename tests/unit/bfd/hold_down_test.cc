// HoldDown (flap damping): every transition, table-driven, plus a random walk
// checked against a brute-force reference.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ferry/bfd/hold_down.h"

namespace ferry::bfd {
namespace {

struct Step {
  Micros at;
  bool session_usable;
  bool expect_usable;
  Micros expect_deadline;
};

void run(Micros hold, const std::vector<Step>& steps, uint64_t expect_damped) {
  HoldDown h(hold);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    EXPECT_EQ(h.update(s.session_usable, s.at), s.expect_usable) << "step " << i;
    EXPECT_EQ(h.usable(), s.expect_usable) << "step " << i;
    EXPECT_EQ(h.deadline(), s.expect_deadline) << "step " << i;
  }
  EXPECT_EQ(h.damped(), expect_damped);
}

TEST(HoldDown, StartsDown) {
  HoldDown h(1000);
  EXPECT_FALSE(h.usable());
  EXPECT_EQ(h.deadline(), kNever);
  EXPECT_EQ(h.damped(), 0u);
}

TEST(HoldDown, ZeroHoldFollowsTheSession) {
  run(0, {{10, true, true, kNever},
          {20, false, false, kNever},
          {30, true, true, kNever},
          {30, true, true, kNever}},
      0);
}

TEST(HoldDown, UpWaitsForTheHold) {
  run(500, {{1000, true, false, 1500},
            {1200, true, false, 1500},   // still within: deadline unchanged
            {1499, true, false, 1500},
            {1500, true, true, kNever},  // exactly at the deadline
            {9000, true, true, kNever}},
      0);
}

TEST(HoldDown, DownIsImmediate) {
  run(500, {{1000, true, false, 1500},
            {1600, true, true, kNever},
            {1601, false, false, kNever}},
      0);
}

TEST(HoldDown, FlapWithinTheHoldIsDampedAndRestartsIt) {
  run(500, {{1000, true, false, 1500},
            {1400, false, false, kNever},  // down before the hold ended: damped
            {1450, true, false, 1950},     // a new up starts a new hold
            {1500, true, false, 1950},     // the old deadline means nothing now
            {1900, false, false, kNever},  // damped again
            {2000, false, false, kNever},  // staying down counts once
            {2100, true, false, 2600},
            {2700, true, true, kNever}},
      2);
}

TEST(HoldDown, LateUpdateEndsTheHold) {
  // The control loop may be late: the first update past the deadline ends it.
  run(500, {{1000, true, false, 1500}, {5000, true, true, kNever}}, 0);
}

TEST(HoldDown, SetHoldShortensOrLengthensARunningHold) {
  HoldDown h(1000);
  EXPECT_FALSE(h.update(true, 100));
  EXPECT_EQ(h.deadline(), 1100u);
  h.setHold(200);
  EXPECT_EQ(h.deadline(), 300u);
  EXPECT_TRUE(h.update(true, 400));  // past the shortened hold
  h.setHold(5000);                   // no effect on a link already usable
  EXPECT_TRUE(h.update(true, 401));
  EXPECT_FALSE(h.update(false, 402));
  EXPECT_FALSE(h.update(true, 403));
  EXPECT_EQ(h.deadline(), 5403u);
  h.setHold(0);
  EXPECT_EQ(h.deadline(), 403u);
  EXPECT_TRUE(h.update(true, 403));
}

TEST(HoldDown, SaturatesNearTheEndOfTheClock) {
  HoldDown h(kNever);
  EXPECT_FALSE(h.update(true, 5));
  EXPECT_EQ(h.deadline(), kNever - 1);
  HoldDown g(1000);
  EXPECT_FALSE(g.update(true, kNever - 10));
  EXPECT_EQ(g.deadline(), kNever - 1);
  EXPECT_TRUE(g.update(true, kNever - 1));
}

// Reference: usable at t iff the session has been usable at every update
// since some update at time s with t - s >= hold (and updates are the only
// knowledge of the session's state).
TEST(HoldDown, RandomWalkMatchesReference) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const Micros hold = rng() % 4 == 0 ? 0 : rng() % 2000;
    HoldDown h(hold);
    Micros now = rng() % 1000;
    bool have_up_start = false;
    Micros up_start = 0;
    uint64_t damped = 0;
    bool ref_usable = false;
    for (int step = 0; step < 500; ++step) {
      now += rng() % 300;
      const bool up = rng() % 5 != 0;
      if (!up) {
        if (have_up_start && !ref_usable) ++damped;
        have_up_start = false;
        ref_usable = false;
      } else {
        if (!have_up_start) {
          have_up_start = true;
          up_start = now;
        }
        ref_usable = ref_usable || now - up_start >= hold;
      }
      ASSERT_EQ(h.update(up, now), ref_usable) << "trial " << trial << " step " << step;
      ASSERT_EQ(h.deadline(), have_up_start && !ref_usable ? up_start + hold : kNever);
    }
    EXPECT_EQ(h.damped(), damped);
  }
}

}  // namespace
}  // namespace ferry::bfd
