// Sequence tracking (loss, reordering, duplicates) and the latency histogram,
// as the README defines them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "ferry/gen/stats.h"

namespace ferry::gen {
namespace {

using V = SequenceTracker::Verdict;

struct Counts {
  uint64_t received, expected, lost, reordered, late, duplicates;
  bool operator==(const Counts&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Counts& c) {
  return os << "{received " << c.received << ", expected " << c.expected << ", lost " << c.lost
            << ", reordered " << c.reordered << ", late " << c.late << ", duplicates "
            << c.duplicates << "}";
}

Counts feed(const std::vector<uint64_t>& seqs, std::optional<uint64_t> end = std::nullopt) {
  SequenceTracker t;
  for (uint64_t s : seqs) t.onPacket(static_cast<uint32_t>(s));
  if (end) t.onEnd(*end);
  return {t.received(), t.expected(), t.lost(), t.reordered(), t.late(), t.duplicates()};
}

// The table of what arrives -> what the sink reports.
TEST(GenSequence, Table) {
  struct Case {
    const char* name;
    std::vector<uint64_t> arrivals;
    std::optional<uint64_t> end;
    Counts want;
  };
  const std::vector<Case> cases = {
      {"in order", {0, 1, 2, 3}, {}, {4, 4, 0, 0, 0, 0}},
      {"gap is loss", {0, 1, 3, 4}, {}, {4, 5, 1, 0, 0, 0}},
      {"first packets lost", {2, 3}, {}, {2, 4, 2, 0, 0, 0}},
      {"neighbours swapped", {1, 0, 3, 2}, {}, {4, 4, 0, 2, 0, 0}},
      {"late packet fills its gap", {0, 2, 3, 1}, {}, {4, 4, 0, 1, 0, 0}},
      {"duplicate in order", {0, 1, 1, 2}, {}, {3, 3, 0, 0, 0, 1}},
      {"duplicate of a reordered one", {0, 2, 1, 1, 2}, {}, {3, 3, 0, 1, 0, 2}},
      {"lost tail seen only with the end marker", {0, 1, 2}, 5, {3, 5, 2, 0, 0, 0}},
      {"end marker below highest changes nothing", {0, 1, 2}, 2, {3, 3, 0, 0, 0, 0}},
      {"only an end marker", {}, 7, {0, 7, 7, 0, 0, 0}},
  };
  for (const auto& c : cases) EXPECT_EQ(feed(c.arrivals, c.end), c.want) << c.name;
}

TEST(GenSequence, VerdictsNameEachCase) {
  SequenceTracker t;
  EXPECT_EQ(t.onPacket(5), V::kNext);
  EXPECT_EQ(t.onPacket(7), V::kNext);
  EXPECT_EQ(t.onPacket(6), V::kReordered);
  EXPECT_EQ(t.onPacket(6), V::kDuplicate);
  EXPECT_EQ(t.onPacket(7), V::kDuplicate);
  EXPECT_EQ(t.onPacket(8), V::kNext);
}

TEST(GenSequence, DuplicatesExactWithinTheWindowLateBeyondIt) {
  SequenceTracker t;
  for (uint32_t s = 0; s < 10000; ++s) t.onPacket(s);
  const uint32_t highest = 9999;
  // The oldest sequence number still inside the window.
  EXPECT_EQ(t.onPacket(highest - (kDuplicateWindow - 1)), V::kDuplicate);
  // One older: cannot be checked; counted as late (and reordered, and received).
  EXPECT_EQ(t.onPacket(highest - kDuplicateWindow), V::kLate);
  EXPECT_EQ(t.late(), 1u);
  EXPECT_EQ(t.reordered(), 1u);
  EXPECT_EQ(t.duplicates(), 1u);
  EXPECT_EQ(t.lost(), 0u);  // received > expected is clamped
}

TEST(GenSequence, WindowSlotsAreClearedWhenTheWindowMoves) {
  SequenceTracker t;
  // 0 and then a jump of exactly one window less one: slot of 0 is reused by
  // kDuplicateWindow, which must not look like a duplicate.
  EXPECT_EQ(t.onPacket(0), V::kNext);
  EXPECT_EQ(t.onPacket(kDuplicateWindow - 1), V::kNext);
  EXPECT_EQ(t.onPacket(kDuplicateWindow), V::kNext);
  EXPECT_EQ(t.onPacket(kDuplicateWindow + 5), V::kNext);
  EXPECT_EQ(t.onPacket(kDuplicateWindow + 2), V::kReordered);  // slot 2 was never seen
  // A jump further than the window clears everything.
  EXPECT_EQ(t.onPacket(10 * kDuplicateWindow), V::kNext);
  EXPECT_EQ(t.onPacket(10 * kDuplicateWindow - 1), V::kReordered);
}

TEST(GenSequence, ExtendsPast32Bits) {
  SequenceTracker t;
  const uint64_t start = 0xffff'fff0ULL;
  EXPECT_EQ(t.onPacket(static_cast<uint32_t>(start)), V::kNext);
  for (uint64_t s = start + 1; s < start + 40; ++s)
    EXPECT_EQ(t.onPacket(static_cast<uint32_t>(s)), V::kNext);
  EXPECT_EQ(t.extend(static_cast<uint32_t>(start + 40)), start + 40);
  EXPECT_EQ(t.extend(static_cast<uint32_t>(start + 5)), start + 5);  // behind, across the wrap
  EXPECT_EQ(t.onPacket(static_cast<uint32_t>(start + 5)), V::kDuplicate);
  EXPECT_EQ(t.received(), 40u);
  EXPECT_EQ(t.lost(), start);  // 0 .. start-1 never came
}

TEST(GenSequence, RandomShuffleWithinWindowMatchesAReferenceModel) {
  std::mt19937 rng(7);
  std::vector<uint64_t> arrivals;
  for (uint64_t s = 0; s < 20000; ++s) {
    if (rng() % 10 == 0) continue;  // 10% lost
    arrivals.push_back(s);
    if (rng() % 20 == 0) arrivals.push_back(s);  // 5% duplicated
  }
  // Local shuffles: reordering distance < 64, well inside the window.
  for (size_t i = 0; i + 64 < arrivals.size(); i += 64)
    std::shuffle(arrivals.begin() + i, arrivals.begin() + i + 64, rng);
  // Reference: sets.
  std::vector<bool> seen(20000, false);
  uint64_t unique = 0, dups = 0, reordered = 0, highest = 0;
  bool any = false;
  for (uint64_t s : arrivals) {
    if (seen[s]) {
      ++dups;
      continue;
    }
    seen[s] = true;
    ++unique;
    if (any && s < highest) ++reordered;
    if (!any || s > highest) highest = s;
    any = true;
  }
  const Counts got = feed(arrivals);
  EXPECT_EQ(got.received, unique);
  EXPECT_EQ(got.duplicates, dups);
  EXPECT_EQ(got.reordered, reordered);
  EXPECT_EQ(got.expected, highest + 1);
  EXPECT_EQ(got.lost, highest + 1 - unique);
  EXPECT_EQ(got.late, 0u);
}

TEST(GenHistogram, SmallValuesAreExact) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 50; ++v) h.record(v);
  EXPECT_EQ(h.count(), 50u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 50u);
  EXPECT_EQ(h.percentile(0.5), 25u);
  EXPECT_EQ(h.percentile(0.99), 50u);
  EXPECT_EQ(h.percentile(0.0), 1u);
  EXPECT_DOUBLE_EQ(h.mean(), 25.5);
}

TEST(GenHistogram, PercentilesWithinOneSixtyFourthAboveTheTruth) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
  std::vector<uint64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng)) + 1;
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    const uint64_t truth = values[rank - 1];
    const uint64_t got = h.percentile(q);
    EXPECT_GE(got, truth) << q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(truth) * (1 + 1.0 / 64)) << q;
  }
  EXPECT_EQ(h.percentile(1.0), values.back());
  EXPECT_EQ(h.max(), values.back());
}

TEST(GenHistogram, BucketsCoverTheirBounds) {
  for (uint64_t v :
       {0ULL, 63ULL, 64ULL, 65ULL, 127ULL, 128ULL, 1000ULL, 123456789ULL, (1ULL << 48) - 1}) {
    const size_t b = LatencyHistogram::bucketOf(v);
    EXPECT_LT(b, LatencyHistogram::kBuckets);
    EXPECT_GE(LatencyHistogram::upperBound(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::upperBound(b - 1), v) << v;
    }
  }
  // Beyond 2^48 lands in the last bucket rather than out of range.
  EXPECT_EQ(LatencyHistogram::bucketOf(~0ULL), LatencyHistogram::kBuckets - 1);
}

TEST(GenHistogram, MergeAndEmpty) {
  LatencyHistogram a, b;
  EXPECT_EQ(a.percentile(0.5), 0u);
  EXPECT_EQ(a.min(), 0u);
  a.record(10);
  b.record(1000);
  b.record(5);
  a.merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 1000u);
  EXPECT_EQ(a.percentile(0.5), 10u);
}

}  // namespace
}  // namespace ferry::gen
