// libFuzzer-style robustness test, deterministic and bounded so it runs in
// the unit suite (and under ASan/UBSan): random datagrams and bit-flipped
// valid packets go through decode -> select -> onPacket, interleaved with
// ticks and transmissions, checking invariants after every step.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "bfd_test_util.h"
#include "ferry/bfd/demux.h"
#include "ferry/bfd/random.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

constexpr int kIterations = 100'000;

void checkInvariants(const Session& s) {
  const auto state = static_cast<int>(s.state());
  ASSERT_GE(state, 0);
  ASSERT_LE(state, 3);
  ASSERT_TRUE(s.state() != State::kUp || s.forwardingUsable());
  ASSERT_TRUE(s.state() != State::kAdminDown || !s.forwardingUsable());
  ASSERT_TRUE(s.state() != State::kAdminDown || s.detectionDeadline() == kNever);
  ASSERT_TRUE(!s.pollActive() || s.state() == State::kUp) << "Poll only while Up";
  ASSERT_GE(s.txInterval(), 1u);
  ASSERT_TRUE(s.detectionDeadline() == kNever || s.detectionTime() > 0);
}

void fuzz(const SessionConfig& cfg, uint64_t seed) {
  Prng rng(seed);
  DiscriminatorTable table(seed);
  Session session(cfg, kLocalDisc, seed);
  ASSERT_TRUE(table.insert(kLocalDisc, 0));
  // A well-behaved peer whose packets we mutate.
  SessionConfig peer_cfg = cfg;
  peer_cfg.passive = false;
  peer_cfg.admin_down = false;
  Session peer(peer_cfg, kPeerDisc, seed + 1);

  Micros now = 0;
  std::array<uint8_t, 80> buf{};
  int decoded_ok = 0;
  int accepted = 0;
  for (int i = 0; i < kIterations; ++i) {
    now += rng.between(0, 30 * kMs);
    std::vector<uint8_t> datagram;
    const uint64_t kind = rng.between(0, 9);
    if (kind < 3) {
      // Random bytes; a version-1 first byte half of the time.
      datagram.resize(rng.between(0, 72));
      for (auto& b : datagram) b = static_cast<uint8_t>(rng.next());
      if (!datagram.empty() && (rng.next() & 1))
        datagram[0] = static_cast<uint8_t>(0x20 | (datagram[0] & 0x1f));
    } else {
      // A valid packet from the peer, flipped in 0-3 bits, sometimes cut.
      const size_t n = peer.writePacket(now, buf);
      ASSERT_GT(n, 0u);
      datagram.assign(buf.begin(), buf.begin() + static_cast<long>(n));
      const uint64_t flips = kind < 6 ? 0 : rng.between(1, 3);
      for (uint64_t f = 0; f < flips; ++f) {
        datagram[rng.between(0, n - 1)] ^= static_cast<uint8_t>(1u << rng.between(0, 7));
      }
      if (kind == 9) datagram.resize(rng.between(0, n));
    }

    ControlPacket packet;
    if (decode(datagram, packet) == DecodeResult::kOk) {
      ++decoded_ok;
      ASSERT_LE(packet.length, datagram.size());
      // Whatever decodes re-encodes to a packet that decodes the same.
      std::array<uint8_t, kMaxPacketLength> again{};
      const size_t m = encode(packet, again);
      ASSERT_GT(m, 0u);
      ControlPacket back;
      ASSERT_EQ(decode(std::span<const uint8_t>(again.data(), m), back), DecodeResult::kOk);
      back.length = packet.length;
      ASSERT_EQ(back, packet);

      const Selection sel = select(packet, table, 0u);
      if (sel.session) {
        ASSERT_EQ(*sel.session, 0u);
        if (session.onPacket(packet, now, datagram).accepted()) ++accepted;
      }
    }
    // The peer hears us back (unmutated), keeping the session moving.
    while (session.transmitDue(now)) {
      const size_t n = session.writePacket(now, buf);
      ASSERT_GT(n, 0u);
      ControlPacket ours;
      ASSERT_EQ(decode(std::span<const uint8_t>(buf.data(), n), ours), DecodeResult::kOk);
      ASSERT_EQ(ours.state, session.state());
      ASSERT_FALSE(ours.poll && ours.final);
      (void)peer.onPacket(ours, now, std::span<const uint8_t>(buf.data(), n));
    }
    session.tick(now);
    peer.tick(now);
    if (rng.between(0, 999) == 0)
      session.setAdminDown(!(session.state() == State::kAdminDown), now);
    if (rng.between(0, 999) == 0) {
      session.setTimers(rng.between(1, 2 * kSec), rng.between(1, 2 * kSec),
                        static_cast<uint8_t>(rng.between(1, 255)), now);
    }
    checkInvariants(session);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The run exercised the deep paths, not just the first checks.
  EXPECT_GT(decoded_ok, kIterations / 3);
  EXPECT_GT(accepted, kIterations / 20);
  EXPECT_GT(session.transitions(), 10u);
}

TEST(BfdFuzz, RandomAndMutatedPacketsWithoutAuth) { fuzz(config(), 1); }

TEST(BfdFuzz, RandomAndMutatedPacketsWithSha1Auth) {
  SessionConfig c = config();
  c.auth.type = AuthType::kMeticulousKeyedSha1;
  c.auth.key_id = 3;
  c.auth.secret = "fuzz-key";
  fuzz(c, 2);
}

TEST(BfdFuzz, RandomAndMutatedPacketsWithSimplePassword) {
  SessionConfig c = config(10 * kMs, 10 * kMs, 1);
  c.auth.type = AuthType::kSimplePassword;
  c.auth.secret = "pw";
  fuzz(c, 3);
}

}  // namespace
}  // namespace ferry::bfd
