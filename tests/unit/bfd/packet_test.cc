// RFC 5880 §4 codec: golden bytes, round trips, every packet-level discard
// rule of §6.8.6 (one row each), auth section shapes, truncation.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "ferry/bfd/packet.h"

namespace ferry::bfd {
namespace {

ControlPacket validPacket() {
  ControlPacket p;
  p.state = State::kUp;
  p.diag = Diag::kNone;
  p.detect_mult = 3;
  p.my_disc = 0x11223344;
  p.your_disc = 0x55667788;
  p.desired_min_tx_us = 50'000;
  p.required_min_rx_us = 1'000'000;
  p.required_min_echo_rx_us = 0;
  return p;
}

std::vector<uint8_t> encodeToVector(const ControlPacket& p) {
  std::vector<uint8_t> out(kMaxPacketLength + 8);
  const size_t n = encode(p, out);
  out.resize(n);
  return out;
}

TEST(BfdPacket, EncodesGoldenBytes) {
  ControlPacket p = validPacket();
  p.diag = Diag::kNeighborSignaledSessionDown;
  p.poll = true;
  const std::vector<uint8_t> expected = {
      0x23,                    // Vers 1, Diag 3
      0xe0,                    // Sta Up (3), P
      0x03, 0x18,              // Detect Mult 3, Length 24
      0x11, 0x22, 0x33, 0x44,  // My Discriminator
      0x55, 0x66, 0x77, 0x88,  // Your Discriminator
      0x00, 0x00, 0xc3, 0x50,  // Desired Min TX 50,000 µs
      0x00, 0x0f, 0x42, 0x40,  // Required Min RX 1,000,000 µs
      0x00, 0x00, 0x00, 0x00,  // Required Min Echo RX 0
  };
  EXPECT_EQ(encodeToVector(p), expected);

  ControlPacket back;
  ASSERT_EQ(decode(expected, back), DecodeResult::kOk);
  p.length = 24;
  EXPECT_EQ(back, p);
}

TEST(BfdPacket, EveryFlagBitRoundTripsAlone) {
  // Each of C, A-less D, P, F at its own bit position, and every state/diag.
  for (int state = 0; state < 4; ++state) {
    for (int diag = 0; diag < 32; ++diag) {
      ControlPacket p = validPacket();
      p.state = static_cast<State>(state);
      p.diag = static_cast<Diag>(diag);
      p.control_plane_independent = diag & 1;
      p.demand = diag & 2;
      p.final = diag & 4;
      const auto bytes = encodeToVector(p);
      ASSERT_EQ(bytes.size(), 24u);
      EXPECT_EQ(bytes[0], 0x20 | diag);
      EXPECT_EQ(bytes[1], state << 6 | (p.final ? 0x10 : 0) |
                              (p.control_plane_independent ? 0x08 : 0) | (p.demand ? 0x02 : 0));
      ControlPacket back;
      ASSERT_EQ(decode(bytes, back), DecodeResult::kOk) << state << "/" << diag;
      p.length = 24;
      EXPECT_EQ(back, p);
    }
  }
}

TEST(BfdPacket, ExtremeIntervalsRoundTrip) {
  ControlPacket p = validPacket();
  p.desired_min_tx_us = 0xffffffff;
  p.required_min_rx_us = 0;
  p.required_min_echo_rx_us = 0xffffffff;
  p.detect_mult = 255;
  p.my_disc = 0xffffffff;
  ControlPacket back;
  ASSERT_EQ(decode(encodeToVector(p), back), DecodeResult::kOk);
  EXPECT_EQ(back.desired_min_tx_us, 0xffffffffu);
  EXPECT_EQ(back.required_min_rx_us, 0u);
  EXPECT_EQ(back.required_min_echo_rx_us, 0xffffffffu);
  EXPECT_EQ(back.detect_mult, 255);
  EXPECT_EQ(back.my_disc, 0xffffffffu);
}

// One row per packet-level discard rule of §6.8.6 (and §6.5 for P+F). Each row
// starts from a valid packet's bytes and breaks exactly one thing.
struct DiscardRow {
  const char* rule;
  void (*mutate)(std::vector<uint8_t>& bytes);
  DecodeResult expected;
};

TEST(BfdPacket, DiscardsEveryPacketLevelRule) {
  const DiscardRow rows[] = {
      {"empty datagram", [](auto& b) { b.clear(); }, DecodeResult::kTruncated},
      {"3 bytes: no Length field", [](auto& b) { b.resize(3); }, DecodeResult::kTruncated},
      {"version 0", [](auto& b) { b[0] = 0x00; }, DecodeResult::kBadVersion},
      {"version 2", [](auto& b) { b[0] = 0x40; }, DecodeResult::kBadVersion},
      {"version 7", [](auto& b) { b[0] = 0xe0; }, DecodeResult::kBadVersion},
      {"Length 23 < 24", [](auto& b) { b[3] = 23; }, DecodeResult::kLengthTooShort},
      {"Length 0", [](auto& b) { b[3] = 0; }, DecodeResult::kLengthTooShort},
      {"A set, Length 25 < 26",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 25;
         b.push_back(1);
       },
       DecodeResult::kLengthTooShort},
      {"Length 25 > 24-byte datagram", [](auto& b) { b[3] = 25; },
       DecodeResult::kLengthExceedsDatagram},
      {"Length 24 > 20-byte datagram", [](auto& b) { b.resize(20); },
       DecodeResult::kLengthExceedsDatagram},
      {"Detect Mult 0", [](auto& b) { b[2] = 0; }, DecodeResult::kZeroDetectMult},
      {"Multipoint set", [](auto& b) { b[1] |= 0x01; }, DecodeResult::kMultipoint},
      {"My Discriminator 0", [](auto& b) { std::memset(&b[4], 0, 4); },
       DecodeResult::kZeroMyDiscriminator},
      {"Your Discriminator 0 with Sta Up", [](auto& b) { std::memset(&b[8], 0, 4); },
       DecodeResult::kZeroYourDiscriminatorNotDown},
      {"Your Discriminator 0 with Sta Init",
       [](auto& b) {
         std::memset(&b[8], 0, 4);
         b[1] = static_cast<uint8_t>((b[1] & 0x3f) | 2 << 6);
       },
       DecodeResult::kZeroYourDiscriminatorNotDown},
      {"P and F both set", [](auto& b) { b[1] |= 0x30; }, DecodeResult::kPollAndFinal},
      {"A set, Auth Type 0",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 28;
         b.insert(b.end(), {0, 4, 1, 'x'});
       },
       DecodeResult::kBadAuthType},
      {"A set, Auth Type 6",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 28;
         b.insert(b.end(), {6, 4, 1, 'x'});
       },
       DecodeResult::kBadAuthType},
      {"Simple Password, Auth Len 3 (empty password)",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 27;
         b.insert(b.end(), {1, 3, 1});
       },
       DecodeResult::kBadAuthLength},
      {"Simple Password, Auth Len 20 (17-byte password)",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 44;
         b.insert(b.end(), {1, 20, 1});
         b.resize(44, 'p');
       },
       DecodeResult::kBadAuthLength},
      {"Simple Password, Auth Len beyond Length",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 28;
         b.insert(b.end(), {1, 5, 1, 'x'});
         b.push_back('y');  // datagram has the byte, Length does not cover it
       },
       DecodeResult::kBadAuthLength},
      {"Keyed MD5, Auth Len 28",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 52;
         b.insert(b.end(), {2, 28, 1, 0});
         b.resize(52);
       },
       DecodeResult::kBadAuthLength},
      {"Meticulous Keyed MD5, Auth Len 20",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 44;
         b.insert(b.end(), {3, 20, 1, 0});
         b.resize(44);
       },
       DecodeResult::kBadAuthLength},
      {"Keyed SHA1, Auth Len 24",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 48;
         b.insert(b.end(), {4, 24, 1, 0});
         b.resize(48);
       },
       DecodeResult::kBadAuthLength},
      {"Meticulous Keyed SHA1, Auth Len 28 but Length 50",
       [](auto& b) {
         b[1] |= 0x04;
         b[3] = 50;
         b.insert(b.end(), {5, 28, 1, 0});
         b.resize(52);
       },
       DecodeResult::kBadAuthLength},
  };
  const auto good = encodeToVector(validPacket());
  ControlPacket probe;
  ASSERT_EQ(decode(good, probe), DecodeResult::kOk);
  for (const auto& row : rows) {
    auto bytes = good;
    row.mutate(bytes);
    ControlPacket out;
    EXPECT_EQ(decode(bytes, out), row.expected)
        << row.rule << ": got " << toString(decode(bytes, out)) << ", want "
        << toString(row.expected);
  }
}

TEST(BfdPacket, YourDiscriminatorZeroIsFineWhileSenderDownOrAdminDown) {
  for (State s : {State::kDown, State::kAdminDown}) {
    ControlPacket p = validPacket();
    p.state = s;
    p.your_disc = 0;
    ControlPacket back;
    EXPECT_EQ(decode(encodeToVector(p), back), DecodeResult::kOk) << toString(s);
    EXPECT_EQ(back.your_disc, 0u);
  }
}

TEST(BfdPacket, TrailingBytesBeyondLengthAreIgnored) {
  auto bytes = encodeToVector(validPacket());
  bytes.insert(bytes.end(), {0xde, 0xad, 0xbe, 0xef});
  ControlPacket back;
  ASSERT_EQ(decode(bytes, back), DecodeResult::kOk);
  EXPECT_EQ(back.length, 24);
  EXPECT_FALSE(back.auth_present);
}

TEST(BfdPacket, AuthSectionsOfEveryTypeRoundTrip) {
  struct Row {
    AuthType type;
    uint8_t value_length;
    uint8_t auth_len;
  };
  const Row rows[] = {
      {AuthType::kSimplePassword, 1, 4}, {AuthType::kSimplePassword, 16, 19},
      {AuthType::kKeyedMd5, 16, 24},     {AuthType::kMeticulousKeyedMd5, 16, 24},
      {AuthType::kKeyedSha1, 20, 28},    {AuthType::kMeticulousKeyedSha1, 20, 28},
  };
  for (const auto& row : rows) {
    ControlPacket p = validPacket();
    p.auth_present = true;
    p.auth.type = row.type;
    p.auth.key_id = 7;
    p.auth.sequence = row.type == AuthType::kSimplePassword ? 0 : 0xfedcba98;
    p.auth.value_length = row.value_length;
    for (uint8_t i = 0; i < row.value_length; ++i) p.auth.value[i] = static_cast<uint8_t>(0xa0 + i);
    EXPECT_EQ(authSectionLength(row.type, row.value_length), row.auth_len);
    const auto bytes = encodeToVector(p);
    ASSERT_EQ(bytes.size(), 24u + row.auth_len) << toString(row.type);
    EXPECT_EQ(bytes[1] & 0x04, 0x04);
    EXPECT_EQ(bytes[3], 24 + row.auth_len);
    EXPECT_EQ(bytes[24], static_cast<uint8_t>(row.type));
    EXPECT_EQ(bytes[25], row.auth_len);
    EXPECT_EQ(bytes[26], 7);
    if (row.type != AuthType::kSimplePassword) {
      EXPECT_EQ(bytes[27], 0) << "reserved byte";
      EXPECT_EQ(bytes[28], 0xfe);
      EXPECT_EQ(bytes[31], 0x98);
      EXPECT_EQ(bytes[32], 0xa0);
    } else {
      EXPECT_EQ(bytes[27], 0xa0);
    }
    ControlPacket back;
    ASSERT_EQ(decode(bytes, back), DecodeResult::kOk) << toString(row.type);
    p.length = static_cast<uint8_t>(24 + row.auth_len);
    EXPECT_EQ(back, p) << toString(row.type);
  }
}

TEST(BfdPacket, EncodeRefusesBadAuthSectionsAndSmallBuffers) {
  ControlPacket p = validPacket();
  std::array<uint8_t, kMaxPacketLength> buf{};
  EXPECT_EQ(encode(p, std::span<uint8_t>(buf.data(), 23)), 0u);
  EXPECT_EQ(encode(p, std::span<uint8_t>(buf.data(), 24)), 24u);

  p.auth_present = true;
  p.auth.type = AuthType::kSimplePassword;
  p.auth.value_length = 0;
  EXPECT_EQ(encode(p, buf), 0u) << "empty password";
  p.auth.value_length = 17;
  EXPECT_EQ(encode(p, buf), 0u) << "17-byte password";
  p.auth.type = AuthType::kKeyedSha1;
  p.auth.value_length = 16;
  EXPECT_EQ(encode(p, buf), 0u) << "SHA1 with an MD5-sized digest";
  p.auth.type = AuthType::kNone;
  p.auth.value_length = 0;
  EXPECT_EQ(encode(p, buf), 0u) << "A set with type 0";
  p.auth.type = AuthType::kKeyedSha1;
  p.auth.value_length = 20;
  EXPECT_EQ(encode(p, std::span<uint8_t>(buf.data(), 51)), 0u);
  EXPECT_EQ(encode(p, buf), 52u);
}

// Every prefix of a valid packet (with and without an auth section) decodes to
// a discard, never a crash or an out-of-bounds read (ASan checks the latter),
// and only the full length decodes Ok.
TEST(BfdPacket, EveryTruncationIsDiscarded) {
  ControlPacket with_auth = validPacket();
  with_auth.auth_present = true;
  with_auth.auth.type = AuthType::kMeticulousKeyedSha1;
  with_auth.auth.value_length = 20;
  for (const ControlPacket& p : {validPacket(), with_auth}) {
    const auto full = encodeToVector(p);
    for (size_t n = 0; n <= full.size(); ++n) {
      // A heap copy of exactly n bytes, so ASan flags any read past the end.
      std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
      ControlPacket out;
      const DecodeResult r = decode(prefix, out);
      if (n == full.size()) {
        EXPECT_EQ(r, DecodeResult::kOk);
      } else if (n < 4) {
        EXPECT_EQ(r, DecodeResult::kTruncated) << n;
      } else {
        EXPECT_EQ(r, DecodeResult::kLengthExceedsDatagram) << n;
      }
    }
  }
}

TEST(BfdPacket, LooksLikeBfdOnlyForVersionOne) {
  EXPECT_TRUE(looksLikeBfd(0x20));
  EXPECT_TRUE(looksLikeBfd(0x3f));
  EXPECT_FALSE(looksLikeBfd(0x1f));
  EXPECT_FALSE(looksLikeBfd(0x40));  // IPv4
  EXPECT_FALSE(looksLikeBfd(0x45));
  EXPECT_FALSE(looksLikeBfd(0x60));  // IPv6
}

TEST(BfdPacket, NamesAreSnakeCase) {
  EXPECT_STREQ(toString(State::kAdminDown), "admin_down");
  EXPECT_STREQ(toString(State::kDown), "down");
  EXPECT_STREQ(toString(State::kInit), "init");
  EXPECT_STREQ(toString(State::kUp), "up");
  EXPECT_STREQ(toString(Diag::kControlDetectionTimeExpired), "control_detection_time_expired");
  EXPECT_STREQ(toString(Diag::kAdministrativelyDown), "administratively_down");
  EXPECT_STREQ(toString(static_cast<Diag>(9)), "reserved");
  EXPECT_STREQ(toString(AuthType::kMeticulousKeyedSha1), "meticulous_keyed_sha1");
  EXPECT_STREQ(toString(DecodeResult::kLengthExceedsDatagram), "length_exceeds_datagram");
  EXPECT_STREQ(toString(DecodeResult::kZeroYourDiscriminatorNotDown),
               "zero_your_discriminator_not_down");
  for (size_t i = 0; i < kDecodeResultCount; ++i) {
    const std::string name = toString(static_cast<DecodeResult>(i));
    EXPECT_NE(name, "invalid") << i;
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
  }
}

}  // namespace
}  // namespace ferry::bfd
