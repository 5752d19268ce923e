// Resteer: which dataplanes are moved away, as a table of stall verdicts over
// time (2 and 3 dataplanes).
#include "ferry/control/resteer.h"

#include <gtest/gtest.h>

#include <vector>

namespace ferry {
namespace {

struct ResteerStep {
  std::vector<bool> stalled;
  bool changed;
  std::vector<bool> away;
};

void run(std::size_t dataplanes, const std::vector<ResteerStep>& steps,
         const std::vector<uint64_t>& resteers) {
  Resteer r(dataplanes);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(r.update(steps[i].stalled), steps[i].changed) << "step " << i;
    EXPECT_EQ(r.away(), steps[i].away) << "step " << i;
  }
  for (std::size_t d = 0; d < dataplanes; ++d)
    EXPECT_EQ(r.resteers(d), resteers[d]) << "dataplane " << d;
}

TEST(Resteer, AStalledDataplaneIsMovedAwayAndBack) {
  run(2,
      {{{false, false}, false, {false, false}},
       {{false, true}, true, {false, true}},
       {{false, true}, false, {false, true}},   // still stalled: no new change
       {{false, false}, true, {false, false}},  // runs again: back
       {{false, true}, true, {false, true}}},   // and again
      {0, 2});
}

TEST(Resteer, EveryDataplaneStalledMovesNothing) {
  // Both stall at once: nowhere to go.
  run(2, {{{true, true}, false, {false, false}}, {{false, true}, true, {false, true}}}, {0, 1});
  // One is away, then the other stalls too: the first stays away (its
  // program is still the best there is) until one of them runs again.
  run(2,
      {{{false, true}, true, {false, true}},
       {{true, true}, false, {false, true}},
       {{true, false}, true, {true, false}},
       {{false, false}, true, {false, false}}},
      {1, 1});
}

TEST(Resteer, SeveralAwayAtOnce) {
  run(3,
      {{{true, false, true}, true, {true, false, true}},
       {{true, false, false}, true, {true, false, false}},
       {{true, true, true}, false, {true, false, false}},
       {{false, false, false}, true, {false, false, false}}},
      {1, 0, 1});
}

TEST(Resteer, ShortVerdictsMeanNotStalled) {
  run(3, {{{true}, true, {true, false, false}}, {{}, true, {false, false, false}}}, {1, 0, 0});
}

TEST(Resteer, OneDataplaneIsNeverMoved) {
  run(1, {{{true}, false, {false}}, {{false}, false, {false}}}, {0});
}

// rescuePlan: who receives on each stalled dataplane's sockets, as a table
// of verdicts and the plan before.
struct RescueCase {
  const char* what;
  std::vector<bool> stalled;
  std::vector<int> before;
  std::vector<int> plan;
};

TEST(RescuePlan, Table) {
  const RescueCase cases[] = {
      {"nobody stalled", {false, false}, {}, {-1, -1}},
      {"nobody stalled, a plan before", {false, false}, {-1, 0}, {-1, -1}},
      {"one stalled: the other rescues", {false, true}, {}, {-1, 0}},
      {"the lowest healthy index on ties", {true, false, false}, {}, {1, -1, -1}},
      {"a rescuer is kept while healthy", {true, false, false}, {2, -1, -1}, {2, -1, -1}},
      {"a rescuer that stalled is replaced", {true, true, false}, {1, -1, -1}, {2, 2, -1}},
      {"several stalled spread over the healthy", {true, true, false, false}, {}, {2, 3, -1, -1}},
      {"kept ones count in the spread",
       {true, true, false, false},
       {3, -1, -1, -1},
       {3, 2, -1, -1}},
      {"more stalled than healthy", {true, true, true, false, false}, {}, {3, 4, 3, -1, -1}},
      {"every dataplane stalled: nobody rescues", {true, true}, {1, 0}, {-1, -1}},
      {"one dataplane", {true}, {}, {-1}},
      {"no dataplane", {}, {}, {}},
      {"a plan before out of range is ignored", {true, false}, {7, -1}, {1, -1}},
      {"a plan before longer than the verdicts", {false, true}, {-1, 0, 0, 1}, {-1, 0}},
      {"a dataplane never rescues itself", {true, false}, {0, -1}, {1, -1}},
  };
  for (const auto& c : cases) EXPECT_EQ(rescuePlan(c.stalled, c.before), c.plan) << c.what;
}

}  // namespace
}  // namespace ferry
