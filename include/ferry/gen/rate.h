// Rate control and packet-size sequences for the sender. Pure: time is an
// argument (ns on any monotonic clock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ferry::gen {

// A token bucket counted in packets. Tokens accrue at `rate` per second up to
// `depth`; a sender that spends them as they come holds the average rate over
// any window of depth/rate seconds. The generator uses depth = 10 ms of
// tokens (at least one), so the asked rate holds over every 10 ms and a sender
// that falls behind does not burst to catch up beyond that.
class TokenBucket {
 public:
  // Starts empty at `now_ns`. rate_pps > 0, depth >= 1.
  TokenBucket(double rate_pps, double depth, uint64_t now_ns) noexcept;

  // Tokens for 10 ms at `rate_pps`, at least 1.
  static double depthFor(double rate_pps) noexcept;
  // The most tokens a sender should wait for before a call: a quarter of the
  // depth (at least 1), so a sleep may overshoot by 3/4 of the depth (7.5 ms)
  // before accrued tokens spill over the full bucket and the rate falls short.
  static uint64_t sendThreshold(double depth) noexcept;

  // Whole tokens available at `now_ns` (adds what accrued since the last call).
  uint64_t available(uint64_t now_ns) noexcept;
  // Spends `packets` tokens (at most available()).
  void take(uint64_t packets) noexcept;
  // How long from `now_ns` until `packets` tokens (<= depth) are available.
  uint64_t waitNs(uint64_t packets, uint64_t now_ns) noexcept;

  double rate() const noexcept { return rate_; }
  double depth() const noexcept { return depth_; }

 private:
  void refill(uint64_t now_ns) noexcept;

  double rate_;
  double depth_;
  double tokens_ = 0;
  uint64_t last_ns_;
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
