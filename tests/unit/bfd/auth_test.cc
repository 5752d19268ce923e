// RFC 5880 §6.7 authentication: known-answer digests (computed independently
// with Python's hashlib), signing, every type end to end, and the sequence
// number windows of §6.7.3/§6.7.4.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "bfd_test_util.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

constexpr char kKey[] = "ferry-secret";

SessionConfig authConfig(AuthType type, std::string secret = kKey, uint8_t key_id = 1) {
  SessionConfig c = config();
  c.auth.type = type;
  c.auth.key_id = key_id;
  c.auth.secret = std::move(secret);
  return c;
}

bool isSha1(AuthType t) { return t == AuthType::kKeyedSha1 || t == AuthType::kMeticulousKeyedSha1; }

// The RFC procedure, written out in the test: encode with the key (zero
// padded) in the digest field, hash the whole packet, store the hash.
std::vector<uint8_t> sign(ControlPacket p, AuthType type, uint32_t sequence, const std::string& key,
                          uint8_t key_id = 1) {
  const size_t n = isSha1(type) ? 20 : 16;
  p.auth_present = true;
  p.auth.type = type;
  p.auth.key_id = key_id;
  p.auth.sequence = sequence;
  p.auth.value_length = static_cast<uint8_t>(n);
  p.auth.value.fill(0);
  std::copy(key.begin(), key.end(), p.auth.value.begin());
  std::vector<uint8_t> bytes(kMaxPacketLength);
  bytes.resize(encode(p, bytes));
  std::array<uint8_t, 20> digest{};
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len,
                       isSha1(type) ? EVP_sha1() : EVP_md5(), nullptr),
            1);
  std::copy_n(digest.begin(), n, bytes.begin() + 32);
  return bytes;
}

RxResult deliver(Session& s, const std::vector<uint8_t>& bytes, Micros now) {
  ControlPacket p;
  EXPECT_EQ(decode(bytes, p), DecodeResult::kOk);
  return s.onPacket(p, now, bytes);
}

// Peer (disc 0xb002) says Down, Your Disc 0, 50 ms / 50 ms, mult 3, Keyed
// SHA1 key ID 1, sequence 5, key "ferry-secret".
std::vector<uint8_t> knownPacket(uint8_t type, uint8_t auth_len, std::vector<uint8_t> digest) {
  const std::array<uint8_t, 32> header = {
      0x20, 0x44,     0x03, static_cast<uint8_t>(24 + auth_len),  // v1, Down, A, mult 3, Length
      0x00, 0x00,     0xb0, 0x02,                                 // My Discriminator
      0x00, 0x00,     0x00, 0x00,                                 // Your Discriminator
      0x00, 0x00,     0xc3, 0x50,                                 // Desired Min TX 50 ms
      0x00, 0x00,     0xc3, 0x50,                                 // Required Min RX 50 ms
      0x00, 0x00,     0x00, 0x00,                                 // Required Min Echo RX
      type, auth_len, 0x01, 0x00,                                 // Type, Len, Key ID 1, Reserved
      0x00, 0x00,     0x00, 0x05,                                 // Sequence 5
  };
  std::vector<uint8_t> b(header.size() + digest.size());
  std::copy(header.begin(), header.end(), b.begin());
  std::copy(digest.begin(), digest.end(), b.begin() + 32);
  return b;
}

TEST(BfdAuth, KnownAnswerKeyedSha1) {
  // hashlib.sha1(packet with b"ferry-secret".ljust(20, b"\0") as digest)
  const auto bytes =
      knownPacket(4, 28, {0x7d, 0xe2, 0x28, 0x73, 0x33, 0x56, 0x97, 0x4f, 0x55, 0xe6,
                          0xb7, 0xc7, 0x4e, 0xfb, 0x65, 0x2f, 0x23, 0xaa, 0x17, 0x43});
  EXPECT_EQ(sign(Peer{}.packet(State::kDown, 0), AuthType::kKeyedSha1, 5, kKey), bytes)
      << "the test's signer agrees with hashlib";
  Session s(authConfig(AuthType::kKeyedSha1), kLocalDisc, kSeed);
  EXPECT_TRUE(deliver(s, bytes, kSec).accepted());
  EXPECT_EQ(s.state(), State::kInit);

  // Any changed bit, in the header or the digest, fails.
  for (size_t i : {size_t{2}, size_t{13}, size_t{31}, size_t{40}, size_t{51}}) {
    Session fresh(authConfig(AuthType::kKeyedSha1), kLocalDisc, kSeed);
    auto tampered = bytes;
    tampered[i] ^= 0x01;
    EXPECT_EQ(deliver(fresh, tampered, kSec).discard, RxDiscard::kAuthFailed) << "byte " << i;
  }
}

TEST(BfdAuth, KnownAnswerKeyedMd5) {
  const auto bytes = knownPacket(2, 24,
                                 {0x0f, 0x82, 0xae, 0x5a, 0x33, 0x88, 0xe2, 0xf2, 0x12, 0x26, 0x24,
                                  0x32, 0xa5, 0xa2, 0x58, 0x9c});
  Session s(authConfig(AuthType::kKeyedMd5), kLocalDisc, kSeed);
  EXPECT_TRUE(deliver(s, bytes, kSec).accepted());
  Session wrong_key(authConfig(AuthType::kKeyedMd5, "ferry-secreT"), kLocalDisc, kSeed);
  EXPECT_EQ(deliver(wrong_key, bytes, kSec).discard, RxDiscard::kAuthFailed);
}

TEST(BfdAuth, WritePacketSignsAndNeverLeaksTheKey) {
  for (AuthType type : {AuthType::kKeyedMd5, AuthType::kMeticulousKeyedMd5, AuthType::kKeyedSha1,
                        AuthType::kMeticulousKeyedSha1}) {
    SCOPED_TRACE(toString(type));
    Session s(authConfig(type), kLocalDisc, kSeed);
    std::array<uint8_t, kMaxPacketLength> buf{};
    const size_t n = s.writePacket(0, buf);
    ASSERT_EQ(n, isSha1(type) ? 52u : 48u);
    const std::vector<uint8_t> bytes(buf.begin(), buf.begin() + static_cast<long>(n));
    ControlPacket p;
    ASSERT_EQ(decode(bytes, p), DecodeResult::kOk);
    EXPECT_EQ(sign(p, type, p.auth.sequence, kKey), bytes);
    const std::string key(kKey);
    EXPECT_EQ(std::search(bytes.begin(), bytes.end(), key.begin(), key.end()), bytes.end());
    // buildPacket() alone (no digest) never carries the key either.
    const ControlPacket unsigned_packet = s.buildPacket(10 * kSec);
    EXPECT_EQ(unsigned_packet.auth.value, (std::array<uint8_t, 20>{}));
  }
}

TEST(BfdAuth, SimplePasswordIsSentAndChecked) {
  Session sender(authConfig(AuthType::kSimplePassword, "hunter2", 9), kLocalDisc, kSeed);
  std::array<uint8_t, kMaxPacketLength> buf{};
  const size_t n = sender.writePacket(0, buf);
  ASSERT_EQ(n, 24u + 3u + 7u);
  const std::vector<uint8_t> bytes(buf.begin(), buf.begin() + static_cast<long>(n));
  ControlPacket p;
  ASSERT_EQ(decode(bytes, p), DecodeResult::kOk);
  EXPECT_EQ(p.auth.type, AuthType::kSimplePassword);
  EXPECT_EQ(p.auth.key_id, 9);
  EXPECT_EQ(std::string(p.auth.value.begin(), p.auth.value.begin() + p.auth.value_length),
            "hunter2");

  struct Row {
    const char* password;
    uint8_t key_id;
    RxDiscard expected;
  };
  const Row rows[] = {
      {"hunter2", 9, RxDiscard::kNone},
      {"hunter3", 9, RxDiscard::kAuthFailed},
      {"hunter", 9, RxDiscard::kAuthFailed},    // a prefix
      {"hunter22", 9, RxDiscard::kAuthFailed},  // longer
      {"hunter2", 8, RxDiscard::kAuthKeyIdMismatch},
  };
  for (const Row& row : rows) {
    Session receiver(authConfig(AuthType::kSimplePassword, row.password, row.key_id), 0x77, kSeed);
    EXPECT_EQ(receiver.onPacket(p, kSec, bytes).discard, row.expected) << row.password;
  }
}

TEST(BfdAuth, EveryTypeBringsTwoSessionsUp) {
  for (AuthType type :
       {AuthType::kSimplePassword, AuthType::kKeyedMd5, AuthType::kMeticulousKeyedMd5,
        AuthType::kKeyedSha1, AuthType::kMeticulousKeyedSha1}) {
    SCOPED_TRACE(toString(type));
    Session a(authConfig(type), 0x1111, 1);
    Session b(authConfig(type), 0x2222, 2);
    Micros now = 0;
    // Exchange packets as they fall due for two simulated seconds.
    for (int step = 0; step < 2000; ++step, now += kMs) {
      for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        while (from->transmitDue(now)) {
          std::array<uint8_t, kMaxPacketLength> buf{};
          const size_t n = from->writePacket(now, buf);
          ASSERT_GT(n, 0u);
          const std::vector<uint8_t> bytes(buf.begin(), buf.begin() + static_cast<long>(n));
          ASSERT_TRUE(deliver(*to, bytes, now).accepted());
        }
      }
    }
    EXPECT_EQ(a.state(), State::kUp);
    EXPECT_EQ(b.state(), State::kUp);
    EXPECT_EQ(a.status().auth_type, type);
  }
}

TEST(BfdAuth, MismatchesAreDiscardedByReason) {
  Session s(authConfig(AuthType::kKeyedSha1), kLocalDisc, kSeed);
  const ControlPacket down = Peer{}.packet(State::kDown, 0);
  EXPECT_EQ(deliver(s, sign(down, AuthType::kKeyedMd5, 1, kKey), kSec).discard,
            RxDiscard::kAuthTypeMismatch);
  EXPECT_EQ(deliver(s, sign(down, AuthType::kMeticulousKeyedSha1, 1, kKey), kSec).discard,
            RxDiscard::kAuthTypeMismatch);
  EXPECT_EQ(deliver(s, sign(down, AuthType::kKeyedSha1, 1, kKey, 2), kSec).discard,
            RxDiscard::kAuthKeyIdMismatch);
  EXPECT_EQ(deliver(s, sign(down, AuthType::kKeyedSha1, 1, "other-key"), kSec).discard,
            RxDiscard::kAuthFailed);
  // Digest auth needs the wire bytes.
  ControlPacket p;
  const auto good = sign(down, AuthType::kKeyedSha1, 1, kKey);
  ASSERT_EQ(decode(good, p), DecodeResult::kOk);
  EXPECT_EQ(s.onPacket(p, kSec).discard, RxDiscard::kAuthFailed);
  EXPECT_EQ(s.counters().discarded(RxDiscard::kAuthTypeMismatch), 2u);
  EXPECT_EQ(s.counters().discarded(RxDiscard::kAuthKeyIdMismatch), 1u);
  EXPECT_EQ(s.counters().discarded(RxDiscard::kAuthFailed), 2u);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_TRUE(s.onPacket(p, kSec, good).accepted());
}

// §6.7.3/§6.7.4: with the peer's Detect Mult 3 the window is 3 x 3 = 9.
struct SeqRow {
  uint32_t sequence;
  Micros at;
  RxDiscard expected;
};

void runSequence(AuthType type, const std::vector<SeqRow>& rows) {
  Session s(authConfig(type), kLocalDisc, kSeed);
  const ControlPacket down = Peer{}.packet(State::kDown, 0);
  for (const SeqRow& row : rows) {
    EXPECT_EQ(deliver(s, sign(down, type, row.sequence, kKey), row.at).discard, row.expected)
        << toString(type) << " sequence " << row.sequence << " at " << row.at;
  }
}

TEST(BfdAuth, KeyedSequenceWindowIncludesTheLastSequence) {
  runSequence(AuthType::kKeyedSha1, {
                                        {100, 1 * kMs, RxDiscard::kNone},  // unknown: any
                                        {100, 2 * kMs, RxDiscard::kNone},  // keyed: equal ok
                                        {109, 3 * kMs, RxDiscard::kNone},  // +9: edge
                                        {108, 4 * kMs, RxDiscard::kAuthSequence},
                                        {119, 5 * kMs, RxDiscard::kAuthSequence},  // +10
                                        {118, 6 * kMs, RxDiscard::kNone},
                                    });
  runSequence(AuthType::kKeyedMd5, {
                                       {7, 1 * kMs, RxDiscard::kNone},
                                       {7, 2 * kMs, RxDiscard::kNone},
                                       {6, 3 * kMs, RxDiscard::kAuthSequence},
                                   });
}

TEST(BfdAuth, MeticulousSequenceMustIncrease) {
  runSequence(AuthType::kMeticulousKeyedSha1,
              {
                  {100, 1 * kMs, RxDiscard::kNone},
                  {100, 2 * kMs, RxDiscard::kAuthSequence},  // replay
                  {101, 3 * kMs, RxDiscard::kNone},
                  {110, 4 * kMs, RxDiscard::kNone},  // +9
                  {120, 5 * kMs, RxDiscard::kAuthSequence},
              });
  runSequence(AuthType::kMeticulousKeyedMd5, {
                                                 {5, 1 * kMs, RxDiscard::kNone},
                                                 {5, 2 * kMs, RxDiscard::kAuthSequence},
                                                 {6, 3 * kMs, RxDiscard::kNone},
                                             });
}

TEST(BfdAuth, SequenceWindowWrapsAround) {
  runSequence(AuthType::kMeticulousKeyedSha1, {
                                                  {0xfffffffe, 1 * kMs, RxDiscard::kNone},
                                                  {0xffffffff, 2 * kMs, RxDiscard::kNone},
                                                  {0x00000003, 3 * kMs, RxDiscard::kNone},
                                                  {0xfffffffe, 4 * kMs, RxDiscard::kAuthSequence},
                                              });
}

TEST(BfdAuth, SequenceKnowledgeLapsesAfterTwoDetectionTimes) {
  // Detection time 3 x 50 ms = 150 ms; bfd.AuthSeqKnown lapses after 300 ms.
  runSequence(AuthType::kMeticulousKeyedSha1, {
                                                  {1000, 0, RxDiscard::kNone},
                                                  {10, 300 * kMs - 1, RxDiscard::kAuthSequence},
                                                  {10, 300 * kMs, RxDiscard::kNone},
                                                  {10, 300 * kMs + 1, RxDiscard::kAuthSequence},
                                              });
}

TEST(BfdAuth, MeticulousTransmitSequenceIncrementsEveryPacket) {
  Session s(authConfig(AuthType::kMeticulousKeyedSha1), kLocalDisc, kSeed);
  uint32_t previous = 0;
  for (int i = 0; i < 5; ++i) {
    const ControlPacket p = s.buildPacket(static_cast<Micros>(i) * kSec);
    if (i > 0) {
      EXPECT_EQ(p.auth.sequence, previous + 1);
    }
    previous = p.auth.sequence;
  }
}

}  // namespace
}  // namespace ferry::bfd
