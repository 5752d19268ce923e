#include "ferry/gen/rate.h"

#include <array>
#include <cmath>

namespace ferry::gen {

TokenBucket::TokenBucket(double rate_pps, double depth, uint64_t now_ns) noexcept
    : rate_(rate_pps), depth_(depth < 1 ? 1 : depth), last_ns_(now_ns) {}

double TokenBucket::depthFor(double rate_pps) noexcept {
  const double d = rate_pps * 0.010;
  return d < 1 ? 1 : d;
}

uint64_t TokenBucket::sendThreshold(double depth) noexcept {
  const auto quarter = static_cast<uint64_t>(depth / 4);
  return quarter < 1 ? 1 : quarter;
}

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
