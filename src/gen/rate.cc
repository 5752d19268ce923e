#include "ferry/gen/rate.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace ferry::gen {

namespace {
// What `ns` of `rate_pps` amounts to, at least one packet (a bucket must hold
// one to pass any).
double depthFor(double rate_pps, uint64_t ns) {
  return std::max(1.0, rate_pps * static_cast<double>(ns) / 1e9);
}
}  // namespace

Pacer::Pacer(double rate_pps, uint64_t now_ns) noexcept
    : committed_(rate_pps, depthFor(rate_pps, kCatchUpNs), now_ns, TokenBucket::Start::kEmpty),
      peak_(rate_pps * kCatchUpFactor, depthFor(rate_pps, kBurstNs), now_ns,
            TokenBucket::Start::kEmpty),
      threshold_(std::max<uint64_t>(1, static_cast<uint64_t>(peak_.burst() / 4))) {}

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
