#include "ferry/net/checksum.h"

#include <gtest/gtest.h>

#include <array>
#include <random>
#include <vector>

namespace ferry::checksum {
namespace {

// RFC 1071 §3 example: the sum of these words is ddf2, so the checksum is ~ddf2.
TEST(Checksum, Rfc1071Example) {
  const std::array<uint8_t, 8> data{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(compute(data), static_cast<uint16_t>(~0xddf2));
}

// A real IPv4 header (from a capture): its stored checksum 0xb861 verifies to 0.
TEST(Checksum, VerifiesKnownIpv4Header) {
  std::array<uint8_t, 20> hdr{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(compute(hdr), 0);
  hdr[10] = hdr[11] = 0;
  EXPECT_EQ(compute(hdr), 0xb861);
}

TEST(Checksum, OddLengthPadsWithZero) {
  const std::array<uint8_t, 3> odd{0x12, 0x34, 0x56};
  const std::array<uint8_t, 4> even{0x12, 0x34, 0x56, 0x00};
  EXPECT_EQ(compute(odd), compute(even));
  EXPECT_EQ(compute(std::span<const uint8_t>{}), 0xffff);
}

TEST(Checksum, LongInputDoesNotOverflow) {
  std::vector<uint8_t> data(65535, 0xff);
  // 32767 words of 0xffff plus 0xff00: one's-complement sum is 0xff00 + ... = fold.
  uint32_t ref = 0;
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    ref += 0xffff;
    ref = (ref & 0xffff) + (ref >> 16);
  }
  ref += 0xff00;
  EXPECT_EQ(compute(data), fold(ref));
}

TEST(Checksum, IncrementalUpdateMatchesRecomputation) {
  std::mt19937 rng(1624);
  for (int round = 0; round < 100000; ++round) {
    std::array<uint8_t, 20> hdr{};
    for (auto& b : hdr) b = static_cast<uint8_t>(rng());
    hdr[10] = hdr[11] = 0;
    const uint16_t before = compute(hdr);
    hdr[10] = static_cast<uint8_t>(before >> 8);
    hdr[11] = static_cast<uint8_t>(before);
    const size_t word = (rng() % 10) * 2;
    if (word == 10) continue;  // the checksum field itself
    const uint16_t old_word = static_cast<uint16_t>(hdr[word] << 8 | hdr[word + 1]);
    const uint16_t new_word = static_cast<uint16_t>(rng());
    hdr[word] = static_cast<uint8_t>(new_word >> 8);
    hdr[word + 1] = static_cast<uint8_t>(new_word);
    const uint16_t updated = update16(before, old_word, new_word);
    hdr[10] = hdr[11] = 0;
    const uint16_t full = compute(hdr);
    // RFC 1624: both forms of zero are valid only when the sum is all ones;
    // the incremental form never yields 0xffff+0 mismatch for a non-zero header.
    ASSERT_EQ(updated, full) << "round " << round;
  }
}

}  // namespace
}  // namespace ferry::checksum
