// The token bucket of every rate limit in ferry: the dataplanes' ICMP error
// limit (RFC 1812 §4.3.2.8, RFC 4443 §2.4 (f); starts full, one token per
// message) and ferry-gen's pacing (starts empty, tokens are packets). Pure:
// the caller passes the time (CLOCK_MONOTONIC nanoseconds); not thread-safe,
// each owner has its own.
//
// Exact integer arithmetic, so no rounding drift however it is called: the
// rate is kept in micro-tokens per second and the level in femto-tokens
// (token × 1e15, a 128-bit count), so after t ns exactly
// t × rate_micro femto-tokens have been added (capped at the burst), and
// many small steps add up to what one large step adds.
#pragma once

#include <algorithm>
#include <cstdint>

namespace ferry {

class TokenBucket {
 public:
  // Limits that keep every product inside 128 bits: rate ≤ 1e9/s, burst ≤ 1e9.
  static constexpr uint64_t kMaxRate = 1'000'000'000;
  static constexpr uint64_t kMaxBurst = 1'000'000'000;
  enum class Start { kFull, kEmpty };

  // `rate` tokens per second (kept to 1e-6), at most `burst` tokens stored
  // (fractions allowed). Values above the maxima are clamped, negative ones
  // count as 0. rate 0: only what the bucket starts with, never refilled;
  // burst 0: nothing ever passes.
  TokenBucket(double rate, double burst, uint64_t now_ns, Start start) noexcept
      : rate_micro_(micros(std::clamp(rate, 0.0, static_cast<double>(kMaxRate)))),
        capacity_(static_cast<Count>(micros(std::clamp(burst, 0.0, static_cast<double>(kMaxBurst)))) *
                  kFemtoPerMicro),
        level_(start == Start::kFull ? capacity_ : 0),
        last_ns_(now_ns) {}

  // Takes one token if there is one at `now_ns`.
  bool tryTake(uint64_t now_ns) noexcept {
    refill(now_ns);
    if (level_ < kFemtoPerToken) return false;
    level_ -= kFemtoPerToken;
    return true;
  }

  // Whole tokens available at `now_ns` (adds what accrued since the last
  // call; time going backwards adds nothing).
  uint64_t available(uint64_t now_ns) noexcept {
    refill(now_ns);
    return static_cast<uint64_t>(level_ / kFemtoPerToken);
  }

  // Spends `tokens` (at most what available() last returned).
  void take(uint64_t tokens) noexcept {
    const Count spent = static_cast<Count>(tokens) * kFemtoPerToken;
    level_ = spent < level_ ? level_ - spent : 0;
  }

  // Nanoseconds from `now_ns` until `tokens` are available, or the whole
  // burst when `tokens` exceeds it. UINT64_MAX when they never will be
  // (rate 0).
  uint64_t waitNs(uint64_t tokens, uint64_t now_ns) noexcept {
    refill(now_ns);
    const Count want = std::min(static_cast<Count>(tokens) * kFemtoPerToken, capacity_);
    if (level_ >= want) return 0;
    if (rate_micro_ == 0) return UINT64_MAX;
    const Count missing = want - level_;
    return static_cast<uint64_t>((missing + rate_micro_ - 1) / rate_micro_);
  }

  // The burst, in tokens (as stored: to 1e-6).
  double burst() const noexcept {
    return static_cast<double>(capacity_ / kFemtoPerMicro) / static_cast<double>(kMicrosPerToken);
  }

 private:
  __extension__ typedef unsigned __int128 Count;  // GCC's and Clang's 128-bit integer
  static constexpr uint64_t kMicrosPerToken = 1'000'000;
  static constexpr Count kFemtoPerMicro = 1'000'000'000;  // a µ-token/s for 1 ns
  static constexpr Count kFemtoPerToken = kFemtoPerMicro * kMicrosPerToken;

  static uint64_t micros(double tokens) noexcept {
    return static_cast<uint64_t>(tokens * static_cast<double>(kMicrosPerToken) + 0.5);
  }

  void refill(uint64_t now_ns) noexcept {
    if (now_ns <= last_ns_) return;
    const Count added = static_cast<Count>(now_ns - last_ns_) * rate_micro_;
    last_ns_ = now_ns;
    level_ = added >= capacity_ - level_ ? capacity_ : level_ + added;
  }

  uint64_t rate_micro_;  // micro-tokens per second = femto-tokens per nanosecond
  Count capacity_;       // femto-tokens
  Count level_;          // femto-tokens
  uint64_t last_ns_;
};

}  // namespace ferry
