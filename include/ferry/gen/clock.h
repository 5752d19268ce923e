// ferry-gen's clock: monotonicNs (ferry/clock.h) to stamp packets, and a sleep on
// the same clock.
#pragma once

#include <time.h>

#include <cstdint>

#include "ferry/clock.h"

namespace ferry::gen {

using ferry::monotonicNs;

// Sleeps about `ns` (EINTR cuts it short; callers loop on their own deadline).
inline void sleepNs(uint64_t ns) noexcept {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000u), static_cast<long>(ns % 1'000'000'000u)};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);
}

}  // namespace ferry::gen
