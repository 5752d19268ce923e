// The RFC 2544 throughput search against fake links of known capacity: no
// sockets, no clock: it ends within 2% of the capacity in at
// most 12 trials.
#include "ferry/bench/search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

namespace ferry::bench {
namespace {

constexpr double kTrialSeconds = 2;

// A link that forwards everything up to `capacity` pps; above it, what it
// forwards is `overload(offered)` (never more than offered). A generator that
// can send at most `generator_pps`.
struct FakeLink {
  double capacity;
  std::function<double(double)> overload;
  double generator_pps = 10e6;

  TrialResult trial(double offered) const {
    TrialResult t;
    t.offered_pps = offered;
    t.sent_pps = offered > 0 ? std::min(offered, generator_pps) : generator_pps;
    t.received_pps =
        t.sent_pps <= capacity ? t.sent_pps : std::min(t.sent_pps, overload(t.sent_pps));
    t.sent = static_cast<uint64_t>(t.sent_pps * kTrialSeconds);
    t.received = static_cast<uint64_t>(t.received_pps * kTrialSeconds);
    t.lost = t.sent - t.received;
    t.loss = t.sent ? static_cast<double>(t.lost) / static_cast<double>(t.sent) : 0;
    return t;
  }
};

struct Outcome {
  const TrialResult* best;
  size_t trials;
  bool generator_limited;
};

Outcome runSearch(RateSearch& search, const FakeLink& link) {
  while (auto rate = search.next()) search.record(link.trial(*rate));
  return {search.best(), search.trials().size(), search.generatorLimited()};
}

// The ways a link behaves past its capacity, from helpful to hostile.
struct OverloadShape {
  std::string name;
  std::function<double(double capacity, double offered)> forward;
};
const OverloadShape kShapes[] = {
    {"saturates at capacity", [](double c, double) { return c; }},
    {"collapses to half", [](double c, double) { return c / 2; }},
    {"collapses to nothing", [](double, double) { return 0.0; }},
    // Loss starts at the capacity but the link still moves 30% more at 1%
    // loss (a bursty queue): the received rate overstates the capacity.
    {"lossy above capacity", [](double c, double o) { return std::min(o, 1.3 * c) * 0.99; }},
    {"just below offered", [](double, double o) { return o * 0.998; }},
};

TEST(RateSearch, ConvergesWithin2PercentIn12TrialsOnEveryLink) {
  SearchSettings settings;  // defaults: first trial unbounded, 2% resolution, 12 trials
  for (const auto& shape : kShapes) {
    for (double capacity = 1500; capacity < 9e6; capacity *= 1.37) {
      FakeLink link{capacity, [&](double o) { return shape.forward(capacity, o); }};
      RateSearch search(settings);
      const Outcome out = runSearch(search, link);
      SCOPED_TRACE(shape.name + ", capacity " + std::to_string(capacity));
      ASSERT_NE(out.best, nullptr);
      EXPECT_LE(out.trials, 12u);
      EXPECT_LE(out.best->offered_pps, capacity);
      EXPECT_GE(out.best->offered_pps, 0.98 * capacity);
      EXPECT_TRUE(out.best->passed);
      EXPECT_EQ(out.best->loss, 0);
      EXPECT_FALSE(out.generator_limited);
    }
  }
}

TEST(RateSearch, SaturatingLinkNeedsThreeTrials) {
  // Unbounded trial (fails, receives the capacity), a trial at the capacity
  // (passes), one step above (fails): done.
  FakeLink link{137'000, [](double) { return 137'000.0; }};
  RateSearch search(SearchSettings{});
  const Outcome out = runSearch(search, link);
  ASSERT_NE(out.best, nullptr);
  EXPECT_EQ(out.trials, 3u);
  EXPECT_DOUBLE_EQ(out.best->offered_pps, 137'000);
  EXPECT_EQ(search.trials()[0].offered_pps, 0);  // as fast as possible
  EXPECT_FALSE(search.trials()[2].passed);
}

TEST(RateSearch, FixedMaximumRateWorksToo) {
  SearchSettings settings;
  settings.max_pps = 5e6;
  for (double capacity : {2e3, 51e3, 700e3, 4.9e6}) {
    FakeLink link{capacity, [](double) { return 0.0; }};
    RateSearch search(settings);
    const Outcome out = runSearch(search, link);
    ASSERT_NE(out.best, nullptr) << capacity;
    EXPECT_LE(out.trials, 12u);
    EXPECT_GE(out.best->offered_pps, 0.98 * capacity);
    EXPECT_LE(out.best->offered_pps, capacity);
    EXPECT_EQ(search.trials()[0].offered_pps, 5e6);
  }
}

TEST(RateSearch, LossWithinToleranceStillPasses) {
  // 0.05% loss everywhere below 300 kpps: under the 0.1% tolerance.
  FakeLink link{1e9, [](double o) { return o; }};
  link.generator_pps = 1e6;
  auto lossy = [&](double offered) {
    TrialResult t = link.trial(offered);
    const double loss = t.sent_pps <= 300e3 ? 0.0005 : 0.05;
    t.lost = static_cast<uint64_t>(static_cast<double>(t.sent) * loss);
    t.received = t.sent - t.lost;
    t.received_pps = t.sent_pps * (1 - loss);
    t.loss = loss;
    return t;
  };
  RateSearch search(SearchSettings{});
  while (auto rate = search.next()) search.record(lossy(*rate));
  ASSERT_NE(search.best(), nullptr);
  EXPECT_GE(search.best()->offered_pps, 0.98 * 300e3);
  EXPECT_LE(search.best()->offered_pps, 300e3);
  EXPECT_DOUBLE_EQ(search.best()->loss, 0.0005);
  EXPECT_LE(search.trials().size(), 12u);
}

TEST(RateSearch, RouterFasterThanGeneratorEndsAfterOneTrial) {
  FakeLink link{2e6, [](double) { return 2e6; }};
  link.generator_pps = 800e3;
  RateSearch search(SearchSettings{});
  const Outcome out = runSearch(search, link);
  ASSERT_NE(out.best, nullptr);
  EXPECT_EQ(out.trials, 1u);
  EXPECT_TRUE(out.generator_limited);
  EXPECT_DOUBLE_EQ(out.best->sent_pps, 800e3);
}

TEST(RateSearch, RatesTheGeneratorCannotReachDoNotPass) {
  // A fixed maximum above what the generator reaches: those trials are short,
  // so they bound the search, and the answer is the generator's ceiling.
  FakeLink link{2e6, [](double) { return 2e6; }};
  link.generator_pps = 800e3;
  SearchSettings settings;
  settings.max_pps = 1.5e6;
  RateSearch search(settings);
  const Outcome out = runSearch(search, link);
  ASSERT_NE(out.best, nullptr);
  EXPECT_TRUE(search.trials()[0].generator_short);
  EXPECT_FALSE(search.trials()[0].passed);
  // Within the generator tolerance (3%) of its ceiling counts as offered.
  EXPECT_LE(out.best->offered_pps, 800e3 / 0.97);
  EXPECT_GE(out.best->offered_pps, 800e3 / 1.02);
  // The short trial's sent rate is tried next, not the midpoint down to min_pps.
  EXPECT_NEAR(search.trials()[1].offered_pps, 800e3, 800e3 * 0.02);
  EXPECT_LE(out.trials, 5u);
  EXPECT_LE(search.upper(), 800e3 / 0.97 * 1.0001) << "bounded by the generator's reach";
  EXPECT_TRUE(out.generator_limited);
}

TEST(RateSearch, NothingPassesBelowTheMinimum) {
  FakeLink link{500, [](double) { return 0.0; }};  // below min_pps = 1000
  RateSearch search(SearchSettings{});
  const Outcome out = runSearch(search, link);
  EXPECT_EQ(out.best, nullptr);
  EXPECT_LE(out.trials, 12u);
  for (const auto& t : search.trials()) EXPECT_FALSE(t.passed);
}

TEST(RateSearch, StopsAtMaxTrials) {
  SearchSettings settings;
  settings.max_trials = 4;
  settings.resolution = 1e-6;
  FakeLink link{123'456, [](double) { return 0.0; }};
  RateSearch search(settings);
  const Outcome out = runSearch(search, link);
  EXPECT_EQ(out.trials, 4u);
}

TEST(RateSearch, BracketNarrowsMonotonically) {
  FakeLink link{42'000, [](double) { return 10'000.0; }};
  RateSearch search(SearchSettings{});
  double lo = 0, hi = 1e300;
  while (auto rate = search.next()) {
    search.record(link.trial(*rate));
    EXPECT_GE(search.lower(), lo);
    EXPECT_LE(search.upper(), hi);
    EXPECT_LE(search.lower(), search.upper());
    lo = search.lower();
    hi = search.upper();
  }
  EXPECT_LE(search.upper(), search.lower() * 1.02);
}

TEST(RateSearch, PassRequiresPacketsAndTolerance) {
  SearchSettings s;
  TrialResult t;
  t.offered_pps = 1000;
  t.sent_pps = 1000;
  EXPECT_FALSE(trialPasses(t, s)) << "nothing sent";
  t.sent = 2000;
  EXPECT_TRUE(trialPasses(t, s));
  t.loss = 0.0011;
  EXPECT_FALSE(trialPasses(t, s));
  t.loss = 0;
  t.sent_pps = 960;  // 4% short of the offered rate
  EXPECT_FALSE(trialPasses(t, s));
}

}  // namespace
}  // namespace ferry::bench
