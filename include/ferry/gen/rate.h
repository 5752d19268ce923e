// Rate control and packet-size sequences for the sender. Pure: time is an
// argument (ns on any monotonic clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ferry/token_bucket.h"

namespace ferry::gen {

// The sender's rate control, from two token buckets (tokens are packets)
// that both start empty:
//
//   committed  `rate`, 100 ms of tokens deep: the long-run average. A sender
//              held up (descheduled on a busy machine) for up to 100 ms makes
//              the shortfall up; a longer hold-up is forgiven beyond 100 ms.
//   peak       2 x `rate`, 10 ms of `rate` deep: bounds bursts to 10 ms' worth
//              at once, and making up happens at no more than twice the rate.
//
// While the sender keeps up, the committed bucket limits and the asked rate
// holds over every 10 ms (to within one call's worth of packets).
class Pacer {
 public:
  static constexpr uint64_t kBurstNs = 10'000'000;
  static constexpr uint64_t kCatchUpNs = 100'000'000;
  static constexpr double kCatchUpFactor = 2;

  // rate_pps > 0.
  Pacer(double rate_pps, uint64_t now_ns) noexcept;

  // Packets that may go now.
  uint64_t available(uint64_t now_ns) noexcept;
  // Spends `packets` (at most available()).
  void take(uint64_t packets) noexcept;
  // How long from `now_ns` until `packets` (<= threshold()) may go.
  uint64_t waitNs(uint64_t packets, uint64_t now_ns) noexcept;
  // The most packets worth waiting for before a call: a quarter of the burst
  // (2.5 ms' worth, at least 1), so calls stay small and evenly spaced.
  uint64_t threshold() const noexcept { return threshold_; }

 private:
  TokenBucket committed_;
  TokenBucket peak_;
  uint64_t threshold_;
};

// Simple IMIX by count, 7 x 64 : 4 x 594 : 1 x 1518, the sizes taken as UDP
// payload bytes (not Ethernet frames), interleaved in one fixed 12-packet
// cycle. Mean 361.83 bytes. Note 1518 bytes of payload exceed a 1500-byte MTU
// (IPv4 fragments it); on loopback the MTU is 64 KiB.
std::span<const uint32_t> imixCycle() noexcept;

// The mean of a size cycle, bytes.
double meanSize(std::span<const uint32_t> sizes) noexcept;

// --bitrate to packets per second: bits of UDP payload (as iperf3 -b counts)
// over the mean packet size. Exact for one size; with several, the rate holds
// over each whole cycle of sizes.
double packetsPerSecond(double bits_per_second, std::span<const uint32_t> sizes) noexcept;

}  // namespace ferry::gen
