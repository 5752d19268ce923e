// Pure per-flow accounting for the sink: sequence tracking (loss, reordering,
// duplicates) and a latency histogram. No clock, no I/O, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferry::gen {

// Duplicates are detected exactly for packets at most this many sequence
// numbers behind the highest seen on their flow (a 4096-bit window, 512 bytes
// per flow). An older packet is counted as reordered *and* late, and as a new
// packet: it cannot be checked, so a late duplicate would count as received.
inline constexpr uint64_t kDuplicateWindow = 4096;

// One flow's sequence numbers, as the sink sees them.
//
//   received   unique data packets (in order, after a gap, reordered or late)
//   expected   max(highest sequence seen + 1, the sender's count from its end
//              marker when one arrived); so a lost tail is only seen with the
//              marker
//   lost       expected - received (never negative)
//   reordered  packets below the highest sequence already seen, first copy
//              (they fill a gap, so they are not lost); includes `late`
//   duplicates second and later copies, exact within kDuplicateWindow
class SequenceTracker {
 public:
  enum class Verdict : uint8_t { kNext, kReordered, kLate, kDuplicate };

  // `seq32` is the low 32 bits from the header; the tracker extends it to 64
  // bits by taking the value nearest the highest seen.
  Verdict onPacket(uint32_t seq32) noexcept;
  // The sender's packet count for this flow (from its end marker).
  void onEnd(uint64_t packets_sent) noexcept;

  // The sequence number onPacket would assign to `seq32` now.
  uint64_t extend(uint32_t seq32) const noexcept;

  uint64_t received() const noexcept { return received_; }
  uint64_t reordered() const noexcept { return reordered_; }
  uint64_t late() const noexcept { return late_; }
  uint64_t duplicates() const noexcept { return duplicates_; }
  bool ended() const noexcept { return ended_; }
  uint64_t expected() const noexcept {
    const uint64_t seen = any_ ? highest_ + 1 : 0;
    return seen > end_count_ ? seen : end_count_;
  }
  uint64_t lost() const noexcept {
    const uint64_t e = expected();
    return e > received_ ? e - received_ : 0;
  }

 private:
  bool testAndSet(uint64_t seq) noexcept;  // true when the bit was already set

  std::array<uint64_t, kDuplicateWindow / 64> seen_{};  // bit (seq % window)
  uint64_t highest_ = 0;
  uint64_t received_ = 0;
  uint64_t reordered_ = 0;
  uint64_t late_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t end_count_ = 0;
  bool any_ = false;
  bool ended_ = false;
};

// Log-linear latency histogram (HdrHistogram-style): values below 64 ns are
// exact, above that each power of two is split in 64 buckets, so a reported
// percentile is at most 1/64 (1.6%) above the true value, never below it.
// Values up to 2^48 ns (the timestamp's range). 22 KiB.
class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr unsigned kSub = 1u << kSubBits;
  static constexpr unsigned kMaxBits = 48;
  static constexpr size_t kBuckets = kSub + (kMaxBits - kSubBits) * kSub;

  void record(uint64_t ns) noexcept;
  void merge(const LatencyHistogram& other) noexcept;

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0;
  }
  // The smallest bucket upper bound that covers a `quantile` (0..1) share of
  // the samples, capped at max(); 0 when empty.
  uint64_t percentile(double quantile) const noexcept;

  static size_t bucketOf(uint64_t ns) noexcept;
  static uint64_t upperBound(size_t bucket) noexcept;

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = ~uint64_t{0};
  uint64_t max_ = 0;
};

}  // namespace ferry::gen
