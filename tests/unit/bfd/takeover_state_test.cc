// What a takeover hands over, as bytes: every message survives a round trip;
// truncated, corrupt, foreign and other-version input is refused with a
// reason and never half-read; a session taken over carries on exactly as the
// original would, and a changed interval becomes a Poll, not a flap.
#include "ferry/bfd/takeover_state.h"

#include "bfd_test_util.h"

namespace ferry::takeover {
namespace {

using bfd::testing::kMs;
using bfd::testing::Peer;

Manifest sampleManifest() {
  Manifest m;
  m.pid = 4242;
  m.dataplanes = 2;
  m.hash_seed = 0x12345678;
  m.interfaces = {{"west", "127.0.0.1:5000"}, {"east", "[::1]:5001"}};
  m.bfd_rx = {"127.0.0.1:3784"};
  m.bfd_tx = {{"east", "[::1]:50123"}};
  m.control_socket = "/run/ferry/ferry.sock";
  m.metrics = "127.0.0.1:9108";
  m.handover = true;
  return m;
}

// A session brought Up through the handshake, then a Poll of ours under way.
bfd::Session upSession(bfd::Micros& now) {
  bfd::Session s(bfd::testing::config(), bfd::testing::kLocalDisc, 7);
  const Peer peer;
  now = 1'000'000;
  bfd::testing::toUp(s, peer, now);
  uint8_t buf[bfd::kMaxPacketLength];
  while (s.transmitDue(now)) s.writePacket(now, buf);
  return s;
}

BfdState sampleState() {
  bfd::Micros now = 0;
  bfd::Session s = upSession(now);
  SessionRecord r;
  r.interface = "west";
  r.mode = 0;
  r.session = s.saveState();
  r.hold = {now, false, true, 2};
  r.link_usable = true;
  r.rx_frames = 11;
  r.tx_errors = 1;
  r.expiries_deferred = 3;
  SessionRecord r2 = r;
  r2.interface = "east";
  r2.mode = 1;
  r2.session.local_disc = 0xdeadbeef;
  r2.session.xmit_auth_seq = 0xfffffff0;
  return BfdState{{r, r2}};
}

TEST(TakeoverState, ManifestRoundTrips) {
  const Manifest m = sampleManifest();
  EXPECT_EQ(m.fdCount(), 2u * 2 + 1 + 1 + 3);
  Manifest back;
  ASSERT_EQ(decode(encode(m), back), "");
  EXPECT_EQ(back, m);
}

TEST(TakeoverState, BfdStateRoundTrips) {
  const BfdState state = sampleState();
  BfdState back;
  ASSERT_EQ(decode(encode(state), back), "");
  EXPECT_EQ(back, state);
  EXPECT_EQ(back.sessions[1].session.xmit_auth_seq, 0xfffffff0u);
}

TEST(TakeoverState, SimpleMessagesRoundTrip) {
  std::string text;
  ASSERT_EQ(
      decodeSimple(encodeSimple(Kind::kAbort, "config asks for 3 dataplanes"), Kind::kAbort, &text),
      "");
  EXPECT_EQ(text, "config asks for 3 dataplanes");
  uint32_t count = 0;
  ASSERT_EQ(decodeFds(encodeFds(250), count), "");
  EXPECT_EQ(count, 250u);
  Kind kind{};
  ASSERT_EQ(readKind(encodeSimple(Kind::kTaken), kind), "");
  EXPECT_EQ(kind, Kind::kTaken);
}

TEST(TakeoverState, EveryTruncationIsRefusedAndLeavesTheOutputAlone) {
  const auto manifest = encode(sampleManifest());
  const auto state = encode(sampleState());
  for (size_t n = 0; n < manifest.size(); ++n) {
    Manifest out;
    out.pid = 1;
    const std::string why = decode(std::span(manifest.data(), n), out);
    EXPECT_FALSE(why.empty()) << "manifest cut at " << n;
    EXPECT_EQ(out.pid, 1u);
  }
  for (size_t n = 0; n < state.size(); ++n) {
    BfdState out;
    EXPECT_FALSE(decode(std::span(state.data(), n), out).empty()) << "state cut at " << n;
    EXPECT_TRUE(out.sessions.empty());
  }
  BfdState out;
  EXPECT_EQ(decode(std::span(state.data(), 7), out), "truncated");
}

TEST(TakeoverState, OtherVersionsAndForeignBytesAreRefusedByName) {
  auto m = encode(sampleManifest());
  m[4] = 2;  // version 2, little-endian u16 after the magic
  Manifest out;
  EXPECT_EQ(decode(m, out), "takeover format version 2; this ferryd reads version 1");
  std::vector<uint8_t> junk{'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P'};
  EXPECT_EQ(decode(junk, out), "not a ferry takeover message");
  BfdState state;
  EXPECT_EQ(decode(encode(sampleManifest()), state), "expected message kind 5, got 2");
  // Bytes after the last field are read as the optional announce block,
  // which they do not make up.
  auto longer = encode(sampleManifest());
  longer.push_back(0);
  EXPECT_EQ(decode(longer, out), "truncated");
  Manifest announcing = sampleManifest();
  announcing.announce_device = "ferry-svc";
  auto after = encode(announcing);
  after.push_back(0);
  EXPECT_EQ(decode(after, out), "trailing bytes");
}

// The announce device is written only when there is one, so a manifest
// without it is the same bytes as before the field existed (an older
// ferryd reads it), and one with it round-trips with its descriptor counted.
TEST(TakeoverState, AnnounceDeviceIsOptionalAndRoundTrips) {
  Manifest m = sampleManifest();
  const auto plain = encode(m);
  m.announce_device = "ferry-svc";
  m.announce_addresses = {"10.200.0.1/32", "2001:db8::1/128"};
  const auto with = encode(m);
  ASSERT_GT(with.size(), plain.size());
  EXPECT_TRUE(std::equal(plain.begin() + 8, plain.end(), with.begin() + 8))
      << "the old fields keep their bytes";
  Manifest out;
  ASSERT_EQ(decode(with, out), "");
  EXPECT_EQ(out, m);
  EXPECT_EQ(out.fdCount(), sampleManifest().fdCount() + 1);
  Manifest old;
  ASSERT_EQ(decode(plain, old), "");
  EXPECT_TRUE(old.announce_device.empty());
}

TEST(TakeoverState, OutOfRangeValuesAreRefused) {
  BfdState one = sampleState();
  one.sessions.resize(1);
  const auto good = encode(one);
  // Offsets into the first session: header 8, count 4, "west" 4+4, mode 1,
  // then local_disc (4) and state (1).
  const size_t mode_at = 8 + 4 + 8, disc_at = mode_at + 1, state_at = disc_at + 4;
  BfdState out;
  auto bad = good;
  bad[mode_at] = 2;
  EXPECT_EQ(decode(bad, out), "bad BFD mode 2");
  bad = good;
  bad[state_at] = 4;
  EXPECT_EQ(decode(bad, out), "bad BFD state 4");
  bad = good;
  std::fill_n(bad.begin() + long(disc_at), 4, 0);
  EXPECT_EQ(decode(bad, out), "local discriminator 0");
  bad = good;
  bad[12] = 0xff;  // the interface name's length
  bad[13] = 0xff;
  EXPECT_EQ(decode(bad, out), "string of 65535 bytes");
}

// The taken-over session is the same session: same discriminators, state,
// schedule and auth sequence, so the next packets are the ones the original
// would have sent.
TEST(TakeoverState, RestoredSessionCarriesOnAsTheOriginal) {
  bfd::Micros now = 0;
  bfd::Session original = upSession(now);
  bfd::Session copy(bfd::testing::config(), 0x1234, 99);
  copy.restoreState(original.saveState());
  EXPECT_EQ(copy.saveState(), original.saveState());
  EXPECT_EQ(copy.localDiscriminator(), bfd::testing::kLocalDisc);
  EXPECT_EQ(copy.state(), bfd::State::kUp);
  EXPECT_EQ(copy.nextDeadline(), original.nextDeadline());
  // Restoring with the same configuration starts no Poll.
  EXPECT_TRUE(copy.setTimers(50 * kMs, 50 * kMs, 3, now));
  EXPECT_FALSE(copy.pollActive());
  const bfd::Change tick = copy.tick(now + 10 * kMs);
  EXPECT_FALSE(tick.state_changed);
  EXPECT_EQ(copy.transitions(), original.transitions());
}

TEST(TakeoverState, ChangedIntervalAtTakeoverIsAPollNotAFlap) {
  bfd::Micros now = 0;
  bfd::Session original = upSession(now);
  bfd::Session copy(bfd::testing::config(100 * kMs, 100 * kMs), 0x1234, 99);
  copy.restoreState(original.saveState());
  ASSERT_TRUE(copy.setTimers(100 * kMs, 100 * kMs, 3, now));
  EXPECT_TRUE(copy.pollActive());
  EXPECT_EQ(copy.state(), bfd::State::kUp);
  EXPECT_EQ(copy.advertisedDesiredMinTx(), 100 * kMs);
  // The peer answers the Poll: the new timers are in force, still Up.
  uint8_t buf[bfd::kMaxPacketLength];
  now += 60 * kMs;
  while (copy.transmitDue(now)) copy.writePacket(now, buf);
  const Peer peer;
  ASSERT_TRUE(copy.onPacket(peer.withFinal(bfd::State::kUp), now).accepted());
  EXPECT_FALSE(copy.pollActive());
  EXPECT_EQ(copy.txInterval(), 100 * kMs);
  EXPECT_EQ(copy.transitions(), original.transitions());
}

}  // namespace
}  // namespace ferry::takeover
