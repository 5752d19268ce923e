// A small deterministic PRNG for the BFD module: discriminators (RFC 5880
// §6.3 SHOULD be random) and TX jitter (§6.8.7). Each object that needs
// randomness owns one, seeded by its constructor, so tests replay exactly; the
// daemon seeds it from getrandom(2). Not a cryptographic generator: BFD's
// security rests on authentication and GTSM (RFC 5881 §5), not on
// unpredictable discriminators.
#pragma once

#include <cstdint>

namespace ferry::bfd {

// xoshiro256** (Blackman & Vigna), state filled from the seed by SplitMix64,
// which never yields the all-zero state. 32 bytes, no allocation.
class Prng {
 public:
  explicit Prng(uint64_t seed) noexcept {
    for (uint64_t& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t next() noexcept {
    const uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [lo, hi] (inclusive), without modulo bias; requires lo <= hi.
  uint64_t between(uint64_t lo, uint64_t hi) noexcept {
    const uint64_t span = hi - lo;
    if (span == UINT64_MAX) return next();
    const uint64_t n = span + 1;
    // Reject the top partial block of the 64-bit range.
    const uint64_t limit = UINT64_MAX - (UINT64_MAX % n + 1) % n;
    uint64_t x = next();
    while (x > limit) x = next();
    return lo + x % n;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace ferry::bfd
