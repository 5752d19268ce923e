#include "ferry/gen/rate.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace ferry::gen {

TokenBucket::TokenBucket(double rate_pps, double depth, uint64_t now_ns) noexcept
    : rate_(rate_pps), depth_(depth < 1 ? 1 : depth), last_ns_(now_ns) {}

void TokenBucket::refill(uint64_t now_ns) noexcept {
  if (now_ns <= last_ns_) return;
  tokens_ += static_cast<double>(now_ns - last_ns_) * rate_ / 1e9;
  if (tokens_ > depth_) tokens_ = depth_;
  last_ns_ = now_ns;
}

uint64_t TokenBucket::available(uint64_t now_ns) noexcept {
  refill(now_ns);
  return static_cast<uint64_t>(std::floor(tokens_));
}

void TokenBucket::take(uint64_t packets) noexcept { tokens_ -= static_cast<double>(packets); }

uint64_t TokenBucket::waitNs(uint64_t packets, uint64_t now_ns) noexcept {
  refill(now_ns);
  const double want = static_cast<double>(packets) < depth_ ? static_cast<double>(packets) : depth_;
  if (tokens_ >= want) return 0;
  return static_cast<uint64_t>(std::ceil((want - tokens_) * 1e9 / rate_));
}

namespace {
double tokensFor(double rate_pps, uint64_t ns) { return rate_pps * static_cast<double>(ns) / 1e9; }
}  // namespace

Pacer::Pacer(double rate_pps, uint64_t now_ns) noexcept
    : committed_(rate_pps, tokensFor(rate_pps, kCatchUpNs), now_ns),
      peak_(rate_pps * kCatchUpFactor, tokensFor(rate_pps, kBurstNs), now_ns),
      threshold_(std::max<uint64_t>(1, static_cast<uint64_t>(peak_.depth() / 4))) {}

uint64_t Pacer::available(uint64_t now_ns) noexcept {
  return std::min(committed_.available(now_ns), peak_.available(now_ns));
}

void Pacer::take(uint64_t packets) noexcept {
  committed_.take(packets);
  peak_.take(packets);
}

uint64_t Pacer::waitNs(uint64_t packets, uint64_t now_ns) noexcept {
  return std::max(committed_.waitNs(packets, now_ns), peak_.waitNs(packets, now_ns));
}

std::span<const uint32_t> imixCycle() noexcept {
  static constexpr std::array<uint32_t, 12> kCycle{64, 594, 64,  1518, 64,  594,
                                                   64, 64,  594, 64,   594, 64};
  return kCycle;
}

double meanSize(std::span<const uint32_t> sizes) noexcept {
  if (sizes.empty()) return 0;
  double total = 0;
  for (uint32_t s : sizes) total += s;
  return total / static_cast<double>(sizes.size());
}

double packetsPerSecond(double bits_per_second, std::span<const uint32_t> sizes) noexcept {
  const double mean = meanSize(sizes);
  return mean > 0 ? bits_per_second / (8 * mean) : 0;
}

}  // namespace ferry::gen
