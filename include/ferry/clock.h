// The one clock of ferry's timers, counters, rate limits and the generator's
// timestamps: CLOCK_MONOTONIC (any epoch; never jumps with the wall clock).
// Processes on one machine share it, network namespaces included, which is
// what lets ferry-gen's sink compute one-way latency.
#pragma once

#include <time.h>

#include <cstdint>

namespace ferry {

inline uint64_t monotonicNs() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Microseconds: the BFD clock (bfd::Micros).
inline uint64_t monotonicMicros() noexcept { return monotonicNs() / 1000; }

}  // namespace ferry
