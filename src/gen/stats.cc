#include "ferry/gen/stats.h"

#include <bit>
#include <cmath>

namespace ferry::gen {

uint64_t SequenceTracker::extend(uint32_t seq32) const noexcept {
  if (!any_) return seq32;
  const auto delta = static_cast<int32_t>(seq32 - static_cast<uint32_t>(highest_));
  if (delta < 0 && static_cast<uint64_t>(-static_cast<int64_t>(delta)) > highest_) return seq32;
  return highest_ + static_cast<uint64_t>(static_cast<int64_t>(delta));
}

bool SequenceTracker::testAndSet(uint64_t seq) noexcept {
  const uint64_t bit = seq % kDuplicateWindow;
  uint64_t& word = seen_[bit / 64];
  const uint64_t mask = uint64_t{1} << (bit % 64);
  const bool was = (word & mask) != 0;
  word |= mask;
  return was;
}

SequenceTracker::Verdict SequenceTracker::onPacket(uint32_t seq32) noexcept {
  const uint64_t seq = extend(seq32);
  if (!any_ || seq > highest_) {
    // Moving the window forward: the slots of the sequence numbers it passes
    // over held numbers a whole window older, which are now out of it.
    const uint64_t from = any_ ? highest_ + 1 : 0;
    if (seq - from >= kDuplicateWindow) {
      seen_.fill(0);
    } else {
      for (uint64_t s = from; s < seq; ++s) {
        const uint64_t bit = s % kDuplicateWindow;
        seen_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
      }
      const uint64_t bit = seq % kDuplicateWindow;
      seen_[bit / 64] &= ~(uint64_t{1} << (bit % 64));
    }
    any_ = true;
    highest_ = seq;
    testAndSet(seq);
    ++received_;
    return Verdict::kNext;
  }
  if (highest_ - seq >= kDuplicateWindow) {
    ++received_;
    ++reordered_;
    ++late_;
    return Verdict::kLate;
  }
  if (testAndSet(seq)) {
    ++duplicates_;
    return Verdict::kDuplicate;
  }
  ++received_;
  ++reordered_;
  return Verdict::kReordered;
}

void SequenceTracker::onEnd(uint64_t packets_sent) noexcept {
  ended_ = true;
  if (packets_sent > end_count_) end_count_ = packets_sent;
}

size_t LatencyHistogram::bucketOf(uint64_t ns) noexcept {
  if (ns < kSub) return static_cast<size_t>(ns);
  if (ns >> kMaxBits) return kBuckets - 1;
  const unsigned exponent = static_cast<unsigned>(std::bit_width(ns)) - 1;  // >= kSubBits
  const unsigned shift = exponent - kSubBits;
  return kSub + static_cast<size_t>(shift) * kSub + static_cast<size_t>((ns >> shift) - kSub);
}

uint64_t LatencyHistogram::upperBound(size_t bucket) noexcept {
  if (bucket < kSub) return bucket;
  const size_t shift = (bucket - kSub) / kSub;
  const uint64_t sub = (bucket - kSub) % kSub;
  return ((kSub + sub + 1) << shift) - 1;
}

void LatencyHistogram::record(uint64_t ns) noexcept {
  ++counts_[bucketOf(ns)];
  ++count_;
  sum_ += ns;
  if (ns < min_) min_ = ns;
  if (ns > max_) max_ = ns;
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  if (other.count_ && other.min_ < min_) min_ = other.min_;
  if (other.max_ > max_) max_ = other.max_;
}

uint64_t LatencyHistogram::percentile(double quantile) const noexcept {
  if (count_ == 0) return 0;
  if (quantile < 0) quantile = 0;
  if (quantile > 1) quantile = 1;
  // The rank of the sample, 1-based: the q-th quantile of n samples is the
  // ceil(q * n)-th smallest (at least the first).
  auto rank = static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t bound = upperBound(i);
      return bound < max_ ? bound : max_;
    }
  }
  return max_;
}

}  // namespace ferry::gen
