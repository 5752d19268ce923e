// Internet checksum helpers (RFC 1071 one's-complement sum, RFC 1624
// incremental update). Pure, allocation-free; used by the inner-packet code of
// route mode, the ICMP builders and ferry-gen's encapsulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ferry::checksum {

// Adds `data` to a running 32-bit one's-complement accumulator, 16 bits at a
// time in network byte order; an odd trailing byte is padded with zero.
// Chain calls (pseudo-header, then header, then payload) and finish with fold().
inline uint32_t add(uint32_t sum, std::span<const uint8_t> data) noexcept {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  // Fold early so that very long inputs (64 KiB) cannot overflow 32 bits.
  return (sum & 0xffff) + (sum >> 16);
}

// Adds one 16-bit value given in host order (a length or protocol number of a
// pseudo-header).
inline uint32_t add16(uint32_t sum, uint16_t value) noexcept { return sum + value; }

// Folds the accumulator to 16 bits and complements it: the value to store in a
// checksum field (host order; write it big-endian).
inline uint16_t fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// The checksum of `data` on its own (an IPv4 header, an ICMPv4 message).
// Over data that already holds a correct checksum field the result is 0.
inline uint16_t compute(std::span<const uint8_t> data) noexcept { return fold(add(0, data)); }

// RFC 1624 eqn. 3: the new checksum when one 16-bit word of the covered data
// changes from `old_word` to `new_word` (all host order): HC' = ~(~HC + ~m + m').
inline uint16_t update16(uint16_t old_checksum, uint16_t old_word, uint16_t new_word) noexcept {
  uint32_t sum = static_cast<uint16_t>(~old_checksum);
  sum += static_cast<uint16_t>(~old_word);
  sum += new_word;
  return fold(sum);
}

}  // namespace ferry::checksum
