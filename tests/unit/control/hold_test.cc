// Holding a session Down with a diagnostic (Session::holdDown): a graceful
// stop (diag 4, Forwarding Plane Reset) and health gating (diag 6,
// Concatenated Path Down), and the gate's pure rules (gateClosed,
// slowestDetection). Time is an argument everywhere.
#include <gtest/gtest.h>

#include <array>

#include "../bfd/bfd_test_util.h"
#include "ferry/bfd/session.h"
#include "ferry/control/bfd_sessions.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

enum class From { kDown, kInit, kUp, kPeerAdminDown };

// A session brought to `from` through the real handshake at time 0.
void bring(Session& s, const Peer& peer, From from) {
  switch (from) {
    case From::kDown:
      break;
    case From::kInit:
      toInit(s, peer, 0);
      break;
    case From::kUp:
      toUp(s, peer, 0);
      break;
    case From::kPeerAdminDown:
      toUp(s, peer, 0);
      ASSERT_TRUE(s.onPacket(peer.packet(State::kAdminDown), 0).accepted());
      ASSERT_TRUE(s.forwardingUsable()) << "RFC 5882 §3.2: the peer's AdminDown is no failure";
      break;
  }
}

struct HoldCase {
  const char* name;
  From from;
  Diag diag;
  bool state_changed;
  bool liveness_changed;
};

// From every state, a hold ends in Down with the hold's diag, never usable.
TEST(BfdHold, FromEveryStateTheSessionIsDownWithTheHoldsDiag) {
  const HoldCase cases[] = {
      {"Down, stop", From::kDown, Diag::kForwardingPlaneReset, false, false},
      {"Init, stop", From::kInit, Diag::kForwardingPlaneReset, true, false},
      {"Up, stop", From::kUp, Diag::kForwardingPlaneReset, true, true},
      {"Up, gate", From::kUp, Diag::kConcatenatedPathDown, true, true},
      {"Down after peer AdminDown, gate", From::kPeerAdminDown, Diag::kConcatenatedPathDown, false, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Session s(config(), kLocalDisc, kSeed);
    Peer peer;
    bring(s, peer, c.from);
    const Change change = s.holdDown(true, c.diag, 5 * kMs);
    EXPECT_EQ(change.state_changed, c.state_changed);
    EXPECT_EQ(change.liveness_changed, c.liveness_changed);
    EXPECT_EQ(s.state(), State::kDown);
    EXPECT_EQ(s.localDiag(), c.diag);
    EXPECT_FALSE(s.forwardingUsable());
    EXPECT_TRUE(s.heldDown());
    // The peer hears it at once, not a slow interval later.
    ASSERT_TRUE(s.transmitDue(5 * kMs));
    const ControlPacket p = s.buildPacket(5 * kMs);
    EXPECT_EQ(p.state, State::kDown);
    EXPECT_EQ(p.diag, c.diag);
    EXPECT_NE(p.diag, Diag::kAdministrativelyDown) << "a failover must happen (RFC 5882 §3.2)";
  }
}

// While held, whatever the peer says, the session stays Down; the peer's
// discriminator and timers are still learnt.
TEST(BfdHold, HeldSessionStaysDownWhateverThePeerSays) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  toUp(s, peer, 0);
  s.holdDown(true, Diag::kForwardingPlaneReset, kMs);
  const State received[] = {State::kUp, State::kDown, State::kInit, State::kUp, State::kAdminDown, State::kInit};
  Micros now = 2 * kMs;
  for (const State r : received) {
    const RxResult result = s.onPacket(peer.packet(r, r == State::kDown ? 0 : kLocalDisc), now);
    EXPECT_TRUE(result.accepted());
    EXPECT_FALSE(result.state_changed) << toString(r);
    EXPECT_EQ(s.state(), State::kDown) << toString(r);
    EXPECT_EQ(s.localDiag(), Diag::kForwardingPlaneReset) << toString(r);
    EXPECT_FALSE(s.forwardingUsable());
    now += 10 * kMs;
  }
  EXPECT_EQ(s.remoteDiscriminator(), kPeerDisc);
  EXPECT_EQ(s.detectionTime(), 150 * kMs) << "the peer's mult 3 x max(our RequiredMinRx, its DesiredMinTx)";
}

// A held session whose peer goes silent forgets it (§6.8.1) and stays Down
// with the hold's diag, not diag 1.
TEST(BfdHold, SilenceWhileHeldKeepsTheHoldsDiag) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  toUp(s, peer, 0);
  s.holdDown(true, Diag::kConcatenatedPathDown, 0);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown, 0), kMs).accepted());
  const Micros deadline = s.detectionDeadline();
  ASSERT_NE(deadline, kNever);
  const Change c = s.tick(deadline);
  EXPECT_FALSE(c.state_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kConcatenatedPathDown);
  EXPECT_EQ(s.remoteDiscriminator(), 0u);
  EXPECT_EQ(s.counters().detection_expiries, 1u);
}

// Released, the session comes Up by the usual handshake.
TEST(BfdHold, ReleasedSessionComesUpByTheHandshake) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  toUp(s, peer, 0);
  s.holdDown(true, Diag::kConcatenatedPathDown, 0);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kInit), kMs).accepted());
  ASSERT_EQ(s.state(), State::kDown);
  const Change released = s.holdDown(false, Diag::kNone, 2 * kMs);
  EXPECT_FALSE(released.state_changed);
  EXPECT_FALSE(s.heldDown());
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kConcatenatedPathDown) << "the diag says why it last went down";
  ASSERT_TRUE(s.onPacket(peer.packet(State::kInit), 3 * kMs).accepted());
  EXPECT_EQ(s.state(), State::kUp);
  EXPECT_EQ(s.localDiag(), Diag::kNone);
  EXPECT_TRUE(s.forwardingUsable());
}

// Holding again with another diag changes only the diag, and tells the peer.
TEST(BfdHold, AStopOverAGateChangesTheDiag) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  toUp(s, peer, 0);
  s.holdDown(true, Diag::kConcatenatedPathDown, 0);
  (void)s.buildPacket(0);
  const uint64_t transitions = s.transitions();
  const Change c = s.holdDown(true, Diag::kForwardingPlaneReset, 300 * kMs);
  EXPECT_FALSE(c.state_changed);
  EXPECT_EQ(s.transitions(), transitions);
  EXPECT_EQ(s.localDiag(), Diag::kForwardingPlaneReset);
  ASSERT_TRUE(s.transmitDue(300 * kMs));
  EXPECT_EQ(s.buildPacket(300 * kMs).diag, Diag::kForwardingPlaneReset);
}

// A hold taken while AdminDown waits; leaving AdminDown lands in the hold.
TEST(BfdHold, HoldWhileAdminDownAppliesWhenAdminDownEnds) {
  SessionConfig cfg = config();
  cfg.admin_down = true;
  Session s(cfg, kLocalDisc, kSeed);
  Peer peer;
  EXPECT_FALSE(s.holdDown(true, Diag::kConcatenatedPathDown, 0).state_changed);
  EXPECT_EQ(s.state(), State::kAdminDown);
  EXPECT_EQ(s.localDiag(), Diag::kAdministrativelyDown);
  s.setAdminDown(false, kMs);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kConcatenatedPathDown);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kInit), 2 * kMs).accepted());
  EXPECT_EQ(s.state(), State::kDown) << "still held";
}

// Two real sessions: a is held (stop), b hears Down with diag 4 in one packet
// and goes Down; b never reaches Up while a is held; after the release both
// are Up within a few packets.
TEST(BfdHold, ThePeerFailsOverOnTheFirstPacketAndComesBackAfterTheRelease) {
  Session a(config(), 0x1111, 1), b(config(), 0x2222, 2);
  Micros now = 0;
  auto exchange = [&](Micros until) {
    while (now < until) {
      for (Session* from : {&a, &b}) {
        Session* to = from == &a ? &b : &a;
        while (from->transmitDue(now)) {
          std::array<uint8_t, kMaxPacketLength> buf{};
          const size_t n = from->writePacket(now, buf);
          ControlPacket p;
          ASSERT_EQ(decode(std::span<const uint8_t>(buf.data(), n), p), DecodeResult::kOk);
          ASSERT_TRUE(to->onPacket(p, now).accepted());
        }
      }
      a.tick(now);
      b.tick(now);
      now += kMs;
    }
  };
  exchange(3 * kSec);
  ASSERT_EQ(a.state(), State::kUp);
  ASSERT_EQ(b.state(), State::kUp);
  a.holdDown(true, Diag::kForwardingPlaneReset, now);
  const Micros held_at = now;
  exchange(now + 2 * kMs);
  EXPECT_EQ(b.state(), State::kDown);
  EXPECT_EQ(b.remoteDiag(), Diag::kForwardingPlaneReset);
  EXPECT_EQ(b.localDiag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_LE(b.lastChange() - held_at, kMs);
  exchange(now + 10 * kSec);
  EXPECT_NE(b.state(), State::kUp);
  EXPECT_EQ(a.state(), State::kDown);
  a.holdDown(false, Diag::kNone, now);
  exchange(now + 3 * kSec);
  EXPECT_EQ(a.state(), State::kUp);
  EXPECT_EQ(b.state(), State::kUp);
}

// gateClosed: a table of (depends_on, liveness) → held.
TEST(BfdGate, ClosedOnlyWhenEveryDependedOnInterfaceIsDown) {
  struct Case {
    std::vector<uint16_t> depends_on;
    std::vector<uint8_t> liveness;
    bool closed;
  };
  const Case cases[] = {
      {{}, {0, 0, 0}, false},         // no depends_on: never gated
      {{1}, {1, 1, 0}, false},        // its one egress is up
      {{1}, {1, 0, 1}, true},         // its one egress is down
      {{1, 2}, {0, 0, 1}, false},     // one of two is up
      {{1, 2}, {1, 0, 0}, true},      // both down (its own liveness does not count)
      {{2, 1}, {0, 1, 0}, false},     // order does not matter
      {{1, 2, 3}, {1, 0, 0, 0}, true},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(gateClosed(cases[i].depends_on, cases[i].liveness), cases[i].closed);
  }
}

// slowestDetection: the drain is measured against the slower side.
TEST(BfdGate, SlowestDetectionTakesTheSlowerSideAndTheConfigBeforeAnyPacket) {
  Session s(config(100 * kMs, 100 * kMs, 3), kLocalDisc, kSeed);
  EXPECT_EQ(slowestDetection(s, 100 * kMs), 3 * kSec) << "not Up: we send every 1 s, the peer waits 3 s";
  Peer peer;
  peer.desired_min_tx_us = 100'000;
  peer.required_min_rx_us = 100'000;
  peer.detect_mult = 5;
  toUp(s, peer, 0);
  EXPECT_EQ(s.detectionTime(), 500 * kMs);
  EXPECT_EQ(slowestDetection(s, 100 * kMs), 500 * kMs) << "ours of the peer: its mult 5 x 100 ms";
  peer.detect_mult = 2;
  peer.required_min_rx_us = 400'000;  // the peer wants our packets every 400 ms
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), kMs).accepted());
  EXPECT_EQ(slowestDetection(s, 100 * kMs), 1200 * kMs) << "the peer's of us: our mult 3 x 400 ms";
}

}  // namespace
}  // namespace ferry::bfd
