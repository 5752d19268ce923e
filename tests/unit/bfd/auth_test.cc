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

// Runs two sessions against each other from `now` for `for_us` of simulated
// time in 1 ms steps, each packet signed as it falls due and delivered; every
// one must be accepted. Returns how many were exchanged.
uint64_t exchange(Session& a, Session& b, Micros& now, Micros for_us) {
  uint64_t exchanged = 0;
  for (const Micros end = now + for_us; now < end; now += kMs) {
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      while (from->transmitDue(now)) {
        std::array<uint8_t, kMaxPacketLength> buf{};
        const size_t n = from->writePacket(now, buf);
        if (n == 0) {
          ADD_FAILURE() << "nothing written at " << now;
          return exchanged;
        }
        const std::vector<uint8_t> bytes(buf.begin(), buf.begin() + static_cast<long>(n));
        if (!deliver(*to, bytes, now).accepted()) {
          ADD_FAILURE() << "refused at " << now;
          return exchanged;
        }
        ++exchanged;
      }
    }
  }
  return exchanged;
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
    EXPECT_GT(exchange(a, b, now, 2 * kSec), 10u);
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

// Key rollover (§6.7: several keys active at once). A session sends its own
// key and accepts that one and its `accept` keys; each is checked with its
// own secret, and the sequence window is the session's across keys.
TEST(BfdAuth, AcceptedKeysAreCheckedEachWithItsOwnSecret) {
  for (AuthType type :
       {AuthType::kSimplePassword, AuthType::kKeyedMd5, AuthType::kMeticulousKeyedMd5,
        AuthType::kKeyedSha1, AuthType::kMeticulousKeyedSha1}) {
    SCOPED_TRACE(toString(type));
    SessionConfig c = authConfig(type, "new-key", 2);
    c.auth.accept = {{1, "old-key"}, {7, "spare"}};
    Session s(c, kLocalDisc, kSeed);
    const ControlPacket down = Peer{}.packet(State::kDown, 0);
    const auto signed_with = [&](const std::string& key, uint8_t id, uint32_t seq) {
      if (type != AuthType::kSimplePassword) return sign(down, type, seq, key, id);
      ControlPacket p = down;
      p.auth_present = true;
      p.auth.type = type;
      p.auth.key_id = id;
      p.auth.value_length = static_cast<uint8_t>(key.size());
      std::copy(key.begin(), key.end(), p.auth.value.begin());
      std::vector<uint8_t> bytes(kMaxPacketLength);
      bytes.resize(encode(p, bytes));
      return bytes;
    };
    struct Row {
      const char* key;
      uint8_t id;
      RxDiscard expected;
      int peer_key_id;  // status().peer_key_id after the row
    };
    const Row rows[] = {
        {"new-key", 2, RxDiscard::kNone, 2},
        {"old-key", 1, RxDiscard::kNone, 1},
        {"spare", 7, RxDiscard::kNone, 7},
        {"old-key", 2, RxDiscard::kAuthFailed, 7},  // the id selects the secret
        {"new-key", 1, RxDiscard::kAuthFailed, 7},
        {"old-key", 3, RxDiscard::kAuthKeyIdMismatch, 7},
        {"new-key", 2, RxDiscard::kNone, 2},
    };
    uint32_t seq = 100;
    for (const Row& row : rows) {
      EXPECT_EQ(deliver(s, signed_with(row.key, row.id, ++seq), kSec).discard, row.expected)
          << row.key << " as key " << int(row.id);
      EXPECT_EQ(s.status().peer_key_id, row.peer_key_id);
    }
    const SessionStatus st = s.status();
    EXPECT_EQ(st.auth_key_id, 2);
    ASSERT_EQ(st.accept_key_count, 2);
    EXPECT_EQ(st.accept_key_ids[0], 1);
    EXPECT_EQ(st.accept_key_ids[1], 7);
    // What goes out is signed with the key sent, never an accepted one.
    std::array<uint8_t, kMaxPacketLength> buf{};
    const size_t n = s.writePacket(kSec, buf);
    const std::vector<uint8_t> bytes(buf.begin(), buf.begin() + static_cast<long>(n));
    ControlPacket p;
    ASSERT_EQ(decode(bytes, p), DecodeResult::kOk);
    EXPECT_EQ(p.auth.key_id, 2);
    if (type != AuthType::kSimplePassword) {
      EXPECT_EQ(sign(p, type, p.auth.sequence, "new-key", 2), bytes);
    }
  }
}

TEST(BfdAuth, TheSequenceWindowSpansKeys) {
  SessionConfig c = authConfig(AuthType::kMeticulousKeyedSha1, "new-key", 2);
  c.auth.accept = {{1, "old-key"}};
  Session s(c, kLocalDisc, kSeed);
  const ControlPacket down = Peer{}.packet(State::kDown, 0);
  EXPECT_TRUE(deliver(s, sign(down, c.auth.type, 500, "old-key", 1), kSec).accepted());
  // A replay under the other key is still a replay.
  EXPECT_EQ(deliver(s, sign(down, c.auth.type, 500, "new-key", 2), kSec).discard,
            RxDiscard::kAuthSequence);
  EXPECT_TRUE(deliver(s, sign(down, c.auth.type, 501, "new-key", 2), kSec).accepted());
  EXPECT_EQ(deliver(s, sign(down, c.auth.type, 501, "old-key", 1), kSec).discard,
            RxDiscard::kAuthSequence);
}

// Rolling the keys of two Up sessions, one side at a time, as an operator
// does with reloads: neither session ever leaves Up, and no packet is
// discarded; the meticulous sequence numbers run on across the change.
TEST(BfdAuth, KeyRolloverKeepsTwoSessionsUp) {
  const AuthType type = AuthType::kMeticulousKeyedSha1;
  SessionConfig old_only = authConfig(type, "old-key", 1);
  Session a(old_only, 0x1111, 1);
  Session b(old_only, 0x2222, 2);
  Micros now = 0;
  uint64_t exchanged = 0;
  const auto run = [&](Micros for_us) { exchanged += exchange(a, b, now, for_us); };
  run(2 * kSec);
  ASSERT_EQ(a.state(), State::kUp);
  ASSERT_EQ(b.state(), State::kUp);
  const uint64_t ta = a.transitions(), tb = b.transitions();
  const uint32_t a_seq = a.buildPacket(now).auth.sequence;

  AuthConfig both = old_only.auth;  // 1. both accept the new key
  both.accept = {{2, "new-key"}};
  ASSERT_TRUE(a.setAuthKeys(both));
  ASSERT_TRUE(b.setAuthKeys(both));
  run(300 * kMs);
  EXPECT_EQ(a.status().peer_key_id, 1);
  AuthConfig next = authConfig(type, "new-key", 2).auth;  // 2. each sends it
  next.accept = {{1, "old-key"}};
  ASSERT_TRUE(a.setAuthKeys(next));
  run(300 * kMs);
  EXPECT_EQ(b.status().peer_key_id, 2);
  EXPECT_EQ(a.status().peer_key_id, 1);
  ASSERT_TRUE(b.setAuthKeys(next));
  run(300 * kMs);
  EXPECT_EQ(a.status().peer_key_id, 2);
  const AuthConfig new_only = authConfig(type, "new-key", 2).auth;  // 3. the old key goes
  ASSERT_TRUE(a.setAuthKeys(new_only));
  ASSERT_TRUE(b.setAuthKeys(new_only));
  run(300 * kMs);
  EXPECT_EQ(a.state(), State::kUp);
  EXPECT_EQ(b.state(), State::kUp);
  EXPECT_EQ(a.transitions(), ta);
  EXPECT_EQ(b.transitions(), tb);
  EXPECT_GT(a.buildPacket(now).auth.sequence - a_seq, 20u) << "the sequence ran on";
  EXPECT_GT(exchanged, 100u);
  // A peer still on the old key is refused now.
  EXPECT_EQ(deliver(a, sign(Peer{}.packet(State::kUp, 0x1111), type, 1, "old-key", 1), now).discard,
            RxDiscard::kAuthKeyIdMismatch);
}

TEST(BfdAuth, SetAuthKeysRefusesAnotherTypeOrBadKeys) {
  SessionConfig c = authConfig(AuthType::kKeyedSha1, "key-one", 1);
  Session s(c, kLocalDisc, kSeed);
  AuthConfig other = authConfig(AuthType::kKeyedMd5, "key-two", 2).auth;
  EXPECT_FALSE(s.setAuthKeys(other));
  AuthConfig none;
  EXPECT_FALSE(s.setAuthKeys(none));
  AuthConfig bad = authConfig(AuthType::kKeyedSha1, "key-two", 2).auth;
  bad.accept = {{2, "same-id"}};
  EXPECT_FALSE(s.setAuthKeys(bad));
  // Nothing changed: key 1 is still the one sent and the only one accepted.
  EXPECT_EQ(s.buildPacket(0).auth.key_id, 1);
  EXPECT_EQ(s.status().accept_key_count, 0);
  const ControlPacket down = Peer{}.packet(State::kDown, 0);
  EXPECT_EQ(deliver(s, sign(down, AuthType::kKeyedSha1, 1, "key-two", 2), kSec).discard,
            RxDiscard::kAuthKeyIdMismatch);
  EXPECT_TRUE(deliver(s, sign(down, AuthType::kKeyedSha1, 1, "key-one", 1), kSec).accepted());
}

// show bfd's peer_key_id names only a key still held: a rollover that drops
// the key the peer last signed with forgets it until the next packet.
TEST(BfdAuth, ThePeersKeyIdIsForgottenWithItsKey) {
  SessionConfig c = authConfig(AuthType::kKeyedSha1, "key-one", 1);
  c.auth.accept = {{2, "key-two"}};
  Session s(c, kLocalDisc, kSeed);
  EXPECT_EQ(s.status().peer_key_id, -1);
  const ControlPacket down = Peer{}.packet(State::kDown, 0);
  ASSERT_TRUE(deliver(s, sign(down, AuthType::kKeyedSha1, 1, "key-two", 2), kSec).accepted());
  EXPECT_EQ(s.status().peer_key_id, 2);
  AuthConfig swapped = authConfig(AuthType::kKeyedSha1, "key-two", 2).auth;  // still holds 2
  ASSERT_TRUE(s.setAuthKeys(swapped));
  EXPECT_EQ(s.status().peer_key_id, 2);
  ASSERT_TRUE(s.setAuthKeys(authConfig(AuthType::kKeyedSha1, "key-three", 3).auth));
  EXPECT_EQ(s.status().peer_key_id, -1);
  ASSERT_TRUE(deliver(s, sign(down, AuthType::kKeyedSha1, 2, "key-three", 3), kSec).accepted());
  EXPECT_EQ(s.status().peer_key_id, 3);
}

TEST(BfdAuth, ValidateChecksTheAcceptedKeys) {
  struct Row {
    AuthType type;
    std::vector<AuthKey> accept;
    const char* expected;
  };
  const Row rows[] = {
      {AuthType::kKeyedSha1, {{2, "k2"}, {3, "k3"}}, nullptr},
      {AuthType::kKeyedSha1, {{2, std::string(20, 'k')}}, nullptr},
      {AuthType::kKeyedSha1, {{2, std::string(21, 'k')}}, "a keyed SHA1 key must be 1..20 bytes"},
      {AuthType::kKeyedMd5, {{2, std::string(17, 'k')}}, "a keyed MD5 key must be 1..16 bytes"},
      {AuthType::kSimplePassword, {{2, ""}}, "a simple password must be 1..16 bytes"},
      {AuthType::kKeyedSha1, {{1, "k1"}}, "an accepted key has the key id of the key sent"},
      {AuthType::kKeyedSha1, {{2, "k2"}, {2, "k3"}}, "two accepted keys have the same key id"},
      {AuthType::kNone, {{2, "k2"}}, "accepted keys need an authentication type"},
      {AuthType::kKeyedSha1,
       {{2, "a"}, {3, "b"}, {4, "c"}, {5, "d"}, {6, "e"}, {7, "f"}, {8, "g"}},
       nullptr},
      {AuthType::kKeyedSha1,
       {{2, "a"}, {3, "b"}, {4, "c"}, {5, "d"}, {6, "e"}, {7, "f"}, {8, "g"}, {9, "h"}},
       "at most 7 accepted keys"},
  };
  for (const Row& row : rows) {
    SessionConfig c = config();
    c.auth.type = row.type;
    c.auth.key_id = 1;
    c.auth.secret = row.type == AuthType::kNone ? "" : "k1";
    c.auth.accept = row.accept;
    const char* got = validate(c);
    EXPECT_EQ(got == nullptr ? std::string("ok") : std::string(got),
              row.expected == nullptr ? std::string("ok") : std::string(row.expected));
    if (row.expected == nullptr) {
      EXPECT_NO_THROW(Session(c, kLocalDisc, kSeed));
    } else {
      EXPECT_THROW(Session(c, kLocalDisc, kSeed), std::invalid_argument);
    }
  }
}

}  // namespace
}  // namespace ferry::bfd
