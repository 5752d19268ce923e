// Token bucket for the per-dataplane ICMP error rate limit (RFC 1812 §4.3.2.8,
// RFC 4443 §2.4 (f)): `rate` tokens per second, at most `burst` stored. Pure:
// the caller passes the time (CLOCK_MONOTONIC nanoseconds, e.g. the batch's
// timestamp); one bucket per dataplane, so no atomics.
//
// Integer arithmetic in nano-tokens (token × 1e9), so no rounding drift: after
// t ns, exactly floor(t × rate / 1e9) tokens have been added (capped at burst).
#pragma once

#include <algorithm>
#include <cstdint>

namespace ferry::route {

class TokenBucket {
 public:
  static constexpr uint64_t kNanosPerSecond = 1'000'000'000;
  // Limits that keep every product below 2^64: rate ≤ 1e9/s, burst ≤ 1e9.
  static constexpr uint64_t kMaxRate = 1'000'000'000;
  static constexpr uint64_t kMaxBurst = 1'000'000'000;

  // Starts full (a burst is available at once). rate 0 means only the initial
  // burst, never refilled; burst 0 means nothing ever passes (ICMP off).
  // Values above the maxima are clamped.
  TokenBucket(uint64_t rate_per_second, uint64_t burst, uint64_t now_ns) noexcept
      : rate_(std::min(rate_per_second, kMaxRate)),
        capacity_(std::min(burst, kMaxBurst) * kNanosPerSecond),
        level_(capacity_),
        last_ns_(now_ns) {}

  // Takes one token if there is one. Time going backwards adds nothing.
  bool tryTake(uint64_t now_ns) noexcept {
    refill(now_ns);
    if (level_ < kNanosPerSecond) return false;
    level_ -= kNanosPerSecond;
    return true;
  }

  // Whole tokens available at `now_ns` (for metrics and tests).
  uint64_t available(uint64_t now_ns) noexcept {
    refill(now_ns);
    return level_ / kNanosPerSecond;
  }

 private:
  void refill(uint64_t now_ns) noexcept {
    if (now_ns <= last_ns_) return;
    const uint64_t elapsed = now_ns - last_ns_;
    last_ns_ = now_ns;
    const uint64_t room = capacity_ - level_;
    // elapsed × rate could overflow for long idle periods: only multiply when
    // the result can be below `room` (≤ 1e18).
    if (rate_ == 0) return;
    if (elapsed >= room / rate_ + 1) {
      level_ = capacity_;
    } else {
      level_ += elapsed * rate_;
    }
  }

  uint64_t rate_;      // tokens per second = nano-tokens per nanosecond
  uint64_t capacity_;  // nano-tokens
  uint64_t level_;     // nano-tokens
  uint64_t last_ns_;
};

}  // namespace ferry::route
