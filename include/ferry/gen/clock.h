// The clock ferry-gen stamps packets with: CLOCK_MONOTONIC in ns. Sender and
// sink on one machine (network namespaces included) share it, so the sink can
// compute one-way latency.
#pragma once

#include <time.h>

#include <cstdint>

namespace ferry::gen {

inline uint64_t monotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Sleeps about `ns` (EINTR cuts it short; callers loop on their own deadline).
inline void sleepNs(uint64_t ns) noexcept {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

}  // namespace ferry::gen
