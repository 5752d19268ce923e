// Session timers with a fake clock (time is a Micros the test advances):
// negotiation (§6.8.2-§6.8.4), jitter (§6.8.7), slow TX while not Up (§6.8.3),
// Poll/Final (§6.5), Demand mode (§6.6), AdminDown both ways (§6.8.16,
// RFC 5882 §3.2), peer restart, passive role, extreme intervals.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "bfd_test_util.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

constexpr Micros kT0 = 100 * kSec;  // an arbitrary monotonic start

// Sends the next periodic packet exactly when due; returns the scheduled gap
// to the one after it.
Micros sendPeriodicAndGap(Session& s, ControlPacket* sent = nullptr) {
  const Micros at = s.nextPeriodicTx();
  EXPECT_TRUE(s.transmitDue(at));
  const ControlPacket p = s.buildPacket(at);
  if (sent != nullptr) *sent = p;
  return s.nextPeriodicTx() - at;
}

// ---------------------------------------------------------------- negotiation

TEST(BfdSessionTimers, AsymmetricPeersNegotiateTxIntervalAndDetectionTime) {
  // Local: wants to send every 50 ms, accepts one every 300 ms, mult 3.
  // Peer: wants to send every 100 ms, accepts one every 200 ms, mult 5.
  Session s(config(50 * kMs, 300 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 100'000;
  peer.required_min_rx_us = 200'000;
  peer.detect_mult = 5;
  toUp(s, peer, kT0);
  // §6.8.2: max(our DesiredMinTx 50 ms, peer's RequiredMinRx 200 ms).
  EXPECT_EQ(s.txInterval(), 200 * kMs);
  // §6.8.4: the *peer's* Detect Mult 5 x max(our RequiredMinRx 300 ms, its
  // DesiredMinTx 100 ms) = 1.5 s; our own mult 3 plays no part.
  EXPECT_EQ(s.detectionTime(), 1500 * kMs);
  EXPECT_EQ(s.detectionDeadline(), kT0 + 1500 * kMs);

  // The mirror-image session computes the peer's side of the same link.
  Session other(config(100 * kMs, 200 * kMs, 5), kPeerDisc, kSeed);
  Peer us;
  us.disc = kPeerDisc;
  us.desired_min_tx_us = 50'000;
  us.required_min_rx_us = 300'000;
  us.detect_mult = 3;
  // (Peer::packet echoes kLocalDisc as Your Discriminator; use other's.)
  ASSERT_TRUE(other.onPacket(us.packet(State::kDown, 0), kT0).accepted());
  ASSERT_TRUE(other.onPacket(us.packet(State::kUp, kPeerDisc), kT0).accepted());
  ASSERT_EQ(other.state(), State::kUp);
  EXPECT_EQ(other.txInterval(), 300 * kMs);         // max(100, 300)
  EXPECT_EQ(other.detectionTime(), 3 * 200 * kMs);  // 3 x max(200, 50)
}

TEST(BfdSessionTimers, DetectionUsesRemoteDetectMultAndRemoteTxWhenSlower) {
  Session s(config(50 * kMs, 50 * kMs, 2), kLocalDisc, kSeed);
  Peer peer;
  peer.detect_mult = 7;
  peer.desired_min_tx_us = 80'000;  // slower than our 50 ms RequiredMinRx
  toUp(s, peer, kT0);
  EXPECT_EQ(s.detectionTime(), 7 * 80 * kMs);
  // Each accepted packet restarts the timer from its arrival.
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), kT0 + 300 * kMs).accepted());
  EXPECT_EQ(s.detectionDeadline(), kT0 + 300 * kMs + 560 * kMs);
  EXPECT_FALSE(s.tick(kT0 + 859'999).state_changed);
  const Change c = s.tick(kT0 + 860 * kMs);
  EXPECT_TRUE(c.state_changed);
  EXPECT_TRUE(c.liveness_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kControlDetectionTimeExpired);
  EXPECT_EQ(s.counters().detection_expiries, 1u);
}

TEST(BfdSessionTimers, NoDetectionTimerBeforeAnyPacket) {
  Session s(config(), kLocalDisc, kSeed);
  EXPECT_EQ(s.detectionTime(), 0u);
  EXPECT_EQ(s.detectionDeadline(), kNever);
  EXPECT_EQ(s.nextDeadline(), 0u) << "first packet due at once";
  EXPECT_FALSE(s.tick(kT0).state_changed);
}

// --------------------------------------------------------------------- jitter

struct JitterStats {
  Micros min = kNever;
  Micros max = 0;
  double mean = 0;
};

JitterStats drawGaps(Session& s, int count) {
  JitterStats st;
  double sum = 0;
  for (int i = 0; i < count; ++i) {
    const Micros gap = sendPeriodicAndGap(s);
    st.min = std::min(st.min, gap);
    st.max = std::max(st.max, gap);
    sum += static_cast<double>(gap);
  }
  st.mean = sum / count;
  return st;
}

TEST(BfdSessionTimers, JitterIs75To100PercentOver10000Draws) {
  Session s(config(100 * kMs, 100 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.required_min_rx_us = 10'000;
  toUp(s, peer, kT0);
  ASSERT_EQ(s.txInterval(), 100 * kMs);
  const JitterStats st = drawGaps(s, 10'000);
  EXPECT_GE(st.min, 75'000u);
  EXPECT_LE(st.max, 100'000u);
  // The whole band is used: both ends are reached within 0.5% ...
  EXPECT_LT(st.min, 75'500u);
  EXPECT_GT(st.max, 99'500u);
  // ... and the draws are uniform (mean 87.5 ms).
  EXPECT_NEAR(st.mean, 87'500.0, 500.0);
}

TEST(BfdSessionTimers, JitterIs75To90PercentWithDetectMultOne) {
  Session s(config(100 * kMs, 100 * kMs, 1), kLocalDisc, kSeed);
  Peer peer;
  peer.required_min_rx_us = 10'000;
  toUp(s, peer, kT0);
  const JitterStats st = drawGaps(s, 10'000);
  EXPECT_GE(st.min, 75'000u);
  EXPECT_LE(st.max, 90'000u);
  EXPECT_LT(st.min, 75'500u);
  EXPECT_GT(st.max, 89'500u);
  EXPECT_NEAR(st.mean, 82'500.0, 500.0);
}

TEST(BfdSessionTimers, JitterIsDeterministicForASeed) {
  auto gaps = [](uint64_t seed) {
    Session s(config(), kLocalDisc, seed);
    std::vector<Micros> out;
    for (int i = 0; i < 20; ++i) out.push_back(sendPeriodicAndGap(s));
    return out;
  };
  EXPECT_EQ(gaps(7), gaps(7));
  EXPECT_NE(gaps(7), gaps(8));
}

// ----------------------------------------------------------- slow TX when down

TEST(BfdSessionTimers, SendsAtMostOncePerSecondUntilUp) {
  Session s(config(50 * kMs, 50 * kMs, 3), kLocalDisc, kSeed);
  const Peer peer;
  ASSERT_TRUE(s.transmitDue(0)) << "the first packet goes out at once";
  for (int i = 0; i < 100; ++i) {
    ControlPacket p;
    const Micros gap = sendPeriodicAndGap(s, &p);
    EXPECT_EQ(p.state, State::kDown);
    EXPECT_EQ(p.desired_min_tx_us, 1'000'000u) << "§6.8.3: >= 1 s while not Up";
    EXPECT_EQ(p.required_min_rx_us, 50'000u) << "RX is not slowed";
    EXPECT_FALSE(p.poll);
    EXPECT_GE(gap, 750'000u);
    EXPECT_LE(gap, 1'000'000u);
  }
  // Still slow in Init.
  toInit(s, peer, s.nextPeriodicTx() - 1);
  ControlPacket p;
  const Micros gap = sendPeriodicAndGap(s, &p);
  EXPECT_EQ(p.state, State::kInit);
  EXPECT_EQ(p.desired_min_tx_us, 1'000'000u);
  EXPECT_GE(gap, 750'000u);
  EXPECT_EQ(s.txInterval(), 1 * kSec);
  EXPECT_FALSE(s.pollActive()) << "no Poll outside Up";

  // Up: the configured 50 ms applies at once (a faster TX is always safe)
  // and a Poll announces it.
  const Micros up_at = s.nextPeriodicTx() - 100 * kMs;
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), up_at).accepted());
  ASSERT_EQ(s.state(), State::kUp);
  EXPECT_EQ(s.txInterval(), 50 * kMs);
  EXPECT_TRUE(s.pollActive());
  EXPECT_EQ(s.counters().polls_started, 1u);
  // The next packet is measured from the last one at the new rate, so it is
  // already due rather than up to a second away.
  EXPECT_TRUE(s.transmitDue(up_at));
  p = s.buildPacket(up_at);
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.state, State::kUp);
  EXPECT_EQ(p.desired_min_tx_us, 50'000u);
}

TEST(BfdSessionTimers, StateChangeSendsAtOnceOtherPacketsDoNot) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  sendPeriodicAndGap(s);  // Down, at 0; the next is >= 750 ms away
  ASSERT_FALSE(s.transmitDue(kMs));
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown, 0), kMs).state_changed);  // -> Init
  EXPECT_TRUE(s.transmitDue(kMs));
  EXPECT_EQ(s.buildPacket(kMs).state, State::kInit);
  // Another Down changes nothing: no extra packet.
  ASSERT_FALSE(s.onPacket(peer.packet(State::kDown, 0), 2 * kMs).state_changed);
  EXPECT_FALSE(s.transmitDue(2 * kMs));
  // Detection expiry (Init -> Down) sends at once too.
  ASSERT_TRUE(s.tick(s.detectionDeadline()).state_changed);
  EXPECT_TRUE(s.transmitDue(s.lastChange()));
  EXPECT_EQ(s.buildPacket(s.lastChange()).diag, Diag::kControlDetectionTimeExpired);
  // So does an administrative change.
  ASSERT_TRUE(s.setAdminDown(true, 500 * kMs).state_changed);
  EXPECT_TRUE(s.transmitDue(500 * kMs));
}

TEST(BfdSessionTimers, ConfiguredSlowerThanOneSecondStaysAsConfigured) {
  Session s(config(3 * kSec, 3 * kSec, 3), kLocalDisc, kSeed);
  ControlPacket p;
  const Micros gap = sendPeriodicAndGap(s, &p);
  EXPECT_EQ(p.desired_min_tx_us, 3'000'000u);
  EXPECT_GE(gap, 2'250'000u);
  toUp(s, Peer{}, kT0);
  EXPECT_FALSE(s.pollActive()) << "DesiredMinTx did not change on reaching Up";
  EXPECT_EQ(s.counters().polls_started, 0u);
}

TEST(BfdSessionTimers, GoingDownReturnsToTheSlowRateAtOnce) {
  Session s(config(), kLocalDisc, kSeed);
  toUp(s, Peer{}, kT0);
  const Change c = s.tick(s.detectionDeadline());
  ASSERT_TRUE(c.state_changed);
  EXPECT_EQ(s.advertisedDesiredMinTx(), 1 * kSec);
  EXPECT_EQ(s.txInterval(), 1 * kSec);
  EXPECT_FALSE(s.pollActive());
  ControlPacket p;
  sendPeriodicAndGap(s, &p);
  EXPECT_EQ(p.state, State::kDown);
  EXPECT_EQ(p.diag, Diag::kControlDetectionTimeExpired);
  EXPECT_EQ(p.your_disc, 0u) << "§6.8.1: RemoteDiscr zeroed with the detection expiry";
  EXPECT_EQ(p.desired_min_tx_us, 1'000'000u);
}

// ------------------------------------------------------------------ Poll/Final

TEST(BfdSessionPoll, SlowerTxWaitsForTheFinal) {
  Session s(config(50 * kMs, 50 * kMs, 3), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_EQ(s.txInterval(), 50 * kMs);

  Micros now = kT0 + 10 * kMs;
  ASSERT_TRUE(s.setTimers(200 * kMs, 50 * kMs, 3, now));
  EXPECT_TRUE(s.pollActive());
  EXPECT_EQ(s.advertisedDesiredMinTx(), 200 * kMs) << "the new value is announced at once";
  EXPECT_EQ(s.txInterval(), 50 * kMs) << "§6.8.3: but not used until the Final";

  // P on every packet until the Final, at the old rate.
  for (int i = 0; i < 3; ++i) {
    ControlPacket p;
    const Micros gap = sendPeriodicAndGap(s, &p);
    EXPECT_TRUE(p.poll);
    EXPECT_FALSE(p.final);
    EXPECT_EQ(p.desired_min_tx_us, 200'000u);
    EXPECT_LE(gap, 50'000u);
  }
  now = s.nextPeriodicTx() - 1;
  ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), now).accepted());
  EXPECT_FALSE(s.pollActive());
  EXPECT_EQ(s.txInterval(), 200 * kMs);
  EXPECT_EQ(s.counters().polls_completed, 2u) << "the Up transition's poll, then this one";
  ControlPacket p;
  const Micros gap = sendPeriodicAndGap(s, &p);
  EXPECT_FALSE(p.poll);
  EXPECT_GE(gap, 150'000u);
  EXPECT_LE(gap, 200'000u);
}

TEST(BfdSessionPoll, FasterTxAppliesAtOnceButStillPolls) {
  Session s(config(100 * kMs, 50 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.required_min_rx_us = 10'000;
  toUp(s, peer, kT0);
  ASSERT_EQ(s.txInterval(), 100 * kMs);
  ASSERT_TRUE(s.setTimers(20 * kMs, 50 * kMs, 3, kT0 + 1));
  EXPECT_TRUE(s.pollActive());
  EXPECT_EQ(s.txInterval(), 20 * kMs);
  ControlPacket p;
  sendPeriodicAndGap(s, &p);
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.desired_min_tx_us, 20'000u);
}

TEST(BfdSessionPoll, FasterRxWaitsForTheFinalSlowerRxDoesNot) {
  Session s(config(50 * kMs, 50 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 10'000;
  toUp(s, peer, kT0);
  ASSERT_EQ(s.detectionTime(), 150 * kMs);  // 3 x max(50, 10)

  // Faster RX: the peer keeps sending every 50 ms until it has seen 20 ms,
  // so detection keeps using 50 ms until the Final (§6.8.3).
  ASSERT_TRUE(s.setTimers(50 * kMs, 20 * kMs, 3, kT0 + 1));
  EXPECT_EQ(s.advertisedRequiredMinRx(), 20 * kMs);
  EXPECT_EQ(s.detectionTime(), 150 * kMs);
  ControlPacket p;
  sendPeriodicAndGap(s, &p);
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.required_min_rx_us, 20'000u);
  ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), kT0 + 60 * kMs).accepted());
  EXPECT_EQ(s.detectionTime(), 60 * kMs);
  EXPECT_EQ(s.detectionDeadline(), kT0 + 120 * kMs);

  // Slower RX: safe at once.
  ASSERT_TRUE(s.setTimers(50 * kMs, 100 * kMs, 3, kT0 + 70 * kMs));
  EXPECT_TRUE(s.pollActive());
  EXPECT_EQ(s.detectionTime(), 300 * kMs);
  EXPECT_EQ(s.detectionDeadline(), kT0 + 60 * kMs + 300 * kMs);
}

TEST(BfdSessionPoll, ReceivedPollIsAnsweredWithFinalImmediately) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  const Micros periodic = s.nextPeriodicTx();
  const Micros now = kT0 + 1;
  ASSERT_LT(now, periodic);
  ASSERT_FALSE(s.transmitDue(now));

  const RxResult r = s.onPacket(peer.withPoll(State::kUp), now);
  EXPECT_TRUE(r.accepted());
  EXPECT_TRUE(r.transmit_now);
  EXPECT_TRUE(s.transmitDue(now)) << "outside the periodic schedule";
  EXPECT_EQ(s.nextDeadline(), 0u);
  const ControlPacket f = s.buildPacket(now);
  EXPECT_TRUE(f.final);
  EXPECT_FALSE(f.poll);
  EXPECT_EQ(s.nextPeriodicTx(), periodic) << "the Final does not move the schedule";
  EXPECT_FALSE(s.transmitDue(now));
  EXPECT_EQ(s.counters().tx_finals, 1u);
}

TEST(BfdSessionPoll, FinalAndOwnPollGoInSeparatePackets) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.setTimers(60 * kMs, 50 * kMs, 3, kT0 + 1));
  ASSERT_TRUE(s.pollActive());
  const Micros due = s.nextPeriodicTx();
  ASSERT_TRUE(s.onPacket(peer.withPoll(State::kUp), due).accepted());
  // Both are due at `due`: first the Final (never P and F together, §6.5) ...
  ControlPacket p = s.buildPacket(due);
  EXPECT_TRUE(p.final);
  EXPECT_FALSE(p.poll);
  // ... then the periodic packet of our own Poll Sequence.
  ASSERT_TRUE(s.transmitDue(due));
  p = s.buildPacket(due);
  EXPECT_TRUE(p.poll);
  EXPECT_FALSE(p.final);
  EXPECT_FALSE(s.transmitDue(due));
}

TEST(BfdSessionPoll, FinalDoublesAsThePeriodicPacketWhenNoPollRuns) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  const Micros due = s.nextPeriodicTx();
  ASSERT_TRUE(s.onPacket(peer.withPoll(State::kUp), due).accepted());
  const ControlPacket p = s.buildPacket(due);
  EXPECT_TRUE(p.final);
  EXPECT_FALSE(s.transmitDue(due));
  EXPECT_GE(s.nextPeriodicTx(), due + 37'500);
}

TEST(BfdSessionPoll, FinalBeforeAPollWithTheLatestValuesIsNotEnough) {
  Session s(config(50 * kMs, 50 * kMs, 3), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.setTimers(100 * kMs, 50 * kMs, 3, kT0 + 1));
  const Micros t = s.nextPeriodicTx();
  sendPeriodicAndGap(s);  // P with 100 ms, at t
  ASSERT_TRUE(s.setTimers(300 * kMs, 50 * kMs, 3, t + 1));
  // This Final may answer the P that carried 100 ms: 300 ms is not yet known.
  ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), t + 2).accepted());
  EXPECT_TRUE(s.pollActive());
  EXPECT_EQ(s.txInterval(), 50 * kMs);
  ControlPacket p;
  sendPeriodicAndGap(s, &p);
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.desired_min_tx_us, 300'000u);
  ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), s.nextPeriodicTx() - 1).accepted());
  EXPECT_FALSE(s.pollActive());
  EXPECT_EQ(s.txInterval(), 300 * kMs);
}

TEST(BfdSessionPoll, UnsolicitedFinalIsIgnored) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  const uint64_t completed = s.counters().polls_completed;
  EXPECT_TRUE(s.onPacket(peer.withFinal(State::kUp), kT0 + 1).accepted());
  EXPECT_EQ(s.counters().polls_completed, completed);
}

TEST(BfdSessionPoll, DetectMultChangeIsAnnouncedWithAPoll) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.setTimers(50 * kMs, 50 * kMs, 5, kT0 + 1));
  EXPECT_TRUE(s.pollActive()) << "frr#10120";
  ControlPacket p;
  sendPeriodicAndGap(s, &p);
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.detect_mult, 5);
  ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), kT0 + 2).accepted());
  EXPECT_FALSE(s.pollActive());
}

TEST(BfdSessionPoll, SetTimersOutsideUpAppliesAtOnceWithoutPoll) {
  Session s(config(), kLocalDisc, kSeed);
  ASSERT_TRUE(s.setTimers(2 * kSec, 300 * kMs, 4, 0));
  EXPECT_FALSE(s.pollActive());
  EXPECT_EQ(s.advertisedDesiredMinTx(), 2 * kSec);
  EXPECT_EQ(s.txInterval(), 2 * kSec);
  EXPECT_EQ(s.advertisedRequiredMinRx(), 300 * kMs);
  EXPECT_EQ(s.detectMult(), 4);
}

TEST(BfdSessionPoll, SetTimersRefusesInvalidValues) {
  Session s(config(), kLocalDisc, kSeed);
  EXPECT_FALSE(s.setTimers(0, 50 * kMs, 3, 0));
  EXPECT_FALSE(s.setTimers(50 * kMs, 0, 3, 0));
  EXPECT_FALSE(s.setTimers(50 * kMs, 50 * kMs, 0, 0));
  EXPECT_FALSE(s.setTimers(kMaxInterval + 1, 50 * kMs, 3, 0));
  EXPECT_EQ(s.advertisedRequiredMinRx(), 50 * kMs) << "unchanged";
  EXPECT_EQ(s.detectMult(), 3);
}

TEST(BfdSessionPoll, GoingDownEndsAPollSequence) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.setTimers(200 * kMs, 50 * kMs, 3, kT0 + 1));
  ASSERT_TRUE(s.pollActive());
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown), kT0 + 2).accepted());
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_FALSE(s.pollActive());
  EXPECT_EQ(s.txInterval(), 1 * kSec);
}

// ---------------------------------------------------------------- Demand mode

TEST(BfdSessionDemand, PeerInDemandModeStopsOurPeriodicTx) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ControlPacket demand = peer.packet(State::kUp);
  demand.demand = true;
  ASSERT_TRUE(s.onPacket(demand, kT0 + 1).accepted());
  EXPECT_TRUE(s.remoteDemandActive());
  EXPECT_FALSE(s.periodicTxEnabled());
  EXPECT_FALSE(s.transmitDue(kT0 + 3600 * kSec));
  EXPECT_EQ(s.nextDeadline(), s.detectionDeadline())
      << "our detection still runs: the peer keeps sending to us";

  // A Poll from the peer (its way of checking us) is still answered.
  ControlPacket poll = demand;
  poll.poll = true;
  ASSERT_TRUE(s.onPacket(poll, kT0 + 10 * kMs).transmit_now);
  EXPECT_TRUE(s.buildPacket(kT0 + 10 * kMs).final);
  EXPECT_FALSE(s.transmitDue(kT0 + 3600 * kSec));

  // Our own Poll Sequence is transmitted periodically despite Demand mode.
  ASSERT_TRUE(s.setTimers(60 * kMs, 50 * kMs, 3, kT0 + 20 * kMs));
  EXPECT_TRUE(s.periodicTxEnabled());
  const Micros t = std::max(s.nextPeriodicTx(), kT0 + 20 * kMs);
  ASSERT_TRUE(s.transmitDue(t));
  EXPECT_TRUE(s.buildPacket(t).poll);
  ControlPacket fin = demand;
  fin.final = true;
  ASSERT_TRUE(s.onPacket(fin, t + 1).accepted());
  EXPECT_FALSE(s.periodicTxEnabled());
  EXPECT_FALSE(s.transmitDue(t + 3600 * kSec));

  // The peer leaves Demand mode: the periodic schedule is back.
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), t + 2).accepted());
  EXPECT_TRUE(s.periodicTxEnabled());
  EXPECT_EQ(s.nextDeadline(), s.nextPeriodicTx());
  EXPECT_LE(s.nextPeriodicTx(), t + 60 * kMs);
  EXPECT_TRUE(s.transmitDue(t + 60 * kMs));
}

TEST(BfdSessionDemand, DemandNeedsBothEndsUp) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  ControlPacket p = peer.packet(State::kDown, 0);
  p.demand = true;
  ASSERT_TRUE(s.onPacket(p, kT0).accepted());
  EXPECT_EQ(s.state(), State::kInit);
  EXPECT_FALSE(s.remoteDemandActive());
  EXPECT_TRUE(s.periodicTxEnabled());
}

TEST(BfdSessionDemand, DetectionStillTakesADemandSessionDown) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ControlPacket demand = peer.packet(State::kUp);
  demand.demand = true;
  ASSERT_TRUE(s.onPacket(demand, kT0 + 1).accepted());
  ASSERT_TRUE(s.tick(kT0 + 1 + 150 * kMs).state_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_FALSE(s.remoteDemandActive());
  EXPECT_TRUE(s.periodicTxEnabled()) << "Down: the slow periodic packets resume";
}

// ------------------------------------------------------------------ AdminDown

TEST(BfdSessionAdminDown, LocalAdminDownSendsDiag7AndDiscardsInput) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  const Change c = s.setAdminDown(true, kT0 + 1);
  EXPECT_TRUE(c.state_changed);
  EXPECT_TRUE(c.liveness_changed);
  EXPECT_EQ(s.state(), State::kAdminDown);
  EXPECT_EQ(s.localDiag(), Diag::kAdministrativelyDown);
  EXPECT_FALSE(s.forwardingUsable());
  EXPECT_EQ(s.detectionDeadline(), kNever);

  // AdminDown packets keep going out, at the slow rate, to the known peer.
  for (int i = 0; i < 5; ++i) {
    ControlPacket p;
    const Micros gap = sendPeriodicAndGap(s, &p);
    EXPECT_EQ(p.state, State::kAdminDown);
    EXPECT_EQ(p.diag, Diag::kAdministrativelyDown);
    EXPECT_EQ(p.your_disc, kPeerDisc);
    EXPECT_EQ(p.desired_min_tx_us, 1'000'000u);
    EXPECT_GE(gap, 750'000u);
  }
  const Micros t = s.nextPeriodicTx();
  const RxResult r = s.onPacket(peer.packet(State::kDown), t + 1);
  EXPECT_EQ(r.discard, RxDiscard::kLocalAdminDown);
  EXPECT_EQ(s.counters().discarded(RxDiscard::kLocalAdminDown), 1u);
  EXPECT_EQ(s.state(), State::kAdminDown);
  EXPECT_EQ(s.detectionDeadline(), kNever);

  // Idempotent.
  EXPECT_FALSE(s.setAdminDown(true, t + 2).state_changed);

  // Back: Down with no diagnostic, then the normal handshake.
  const Change back = s.setAdminDown(false, t + 3);
  EXPECT_TRUE(back.state_changed);
  EXPECT_FALSE(back.liveness_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kNone);
  EXPECT_EQ(s.detectionDeadline(), t + 3 + 150 * kMs) << "the peer heard while AdminDown is timed";
  ASSERT_TRUE(s.onPacket(peer.packet(State::kInit), t + 4).accepted());
  EXPECT_EQ(s.state(), State::kUp);
}

TEST(BfdSessionAdminDown, ConfiguredAdminDownStartsThere) {
  SessionConfig c = config();
  c.admin_down = true;
  Session s(c, kLocalDisc, kSeed);
  EXPECT_EQ(s.state(), State::kAdminDown);
  EXPECT_EQ(s.localDiag(), Diag::kAdministrativelyDown);
  EXPECT_EQ(s.transitions(), 0u);
  EXPECT_EQ(s.buildPacket(0).state, State::kAdminDown);
}

TEST(BfdSessionAdminDown, PeerAdminDownDoesNotFailOver) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  const RxResult r = s.onPacket(peer.packet(State::kAdminDown), kT0 + 10 * kMs);
  EXPECT_TRUE(r.state_changed);
  EXPECT_FALSE(r.liveness_changed) << "RFC 5882 §3.2: no failover";
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_TRUE(s.peerAdminDown());
  EXPECT_TRUE(s.forwardingUsable());
  EXPECT_TRUE(s.status().forwarding_usable);

  // The peer may stop sending after a while: still no failure.
  const Change silent = s.tick(s.detectionDeadline());
  EXPECT_FALSE(silent.state_changed);
  EXPECT_FALSE(silent.liveness_changed);
  EXPECT_TRUE(s.forwardingUsable());
  EXPECT_EQ(s.remoteDiscriminator(), 0u);

  // The peer is re-enabled: Down -> Init -> Up without a liveness blip.
  RxResult back = s.onPacket(peer.packet(State::kDown, 0), kT0 + 5 * kSec);
  EXPECT_EQ(s.state(), State::kInit);
  EXPECT_FALSE(back.liveness_changed);
  back = s.onPacket(peer.packet(State::kUp), kT0 + 6 * kSec);
  EXPECT_EQ(s.state(), State::kUp);
  EXPECT_FALSE(back.liveness_changed);
  EXPECT_FALSE(s.peerAdminDown());
}

TEST(BfdSessionAdminDown, HoldEndsWhenThePeerReturnsAndThenFails) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kAdminDown), kT0 + 1).accepted());
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown, 0), kT0 + 2).accepted());
  ASSERT_EQ(s.state(), State::kInit);
  ASSERT_TRUE(s.forwardingUsable());
  const Change c = s.tick(kT0 + 2 + 150 * kMs);
  EXPECT_TRUE(c.liveness_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kControlDetectionTimeExpired);
  EXPECT_FALSE(s.forwardingUsable());
}

TEST(BfdSessionAdminDown, PeerAdminDownBeforeUpIsNotUsable) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toInit(s, peer, kT0);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kAdminDown), kT0 + 1).accepted());
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_FALSE(s.forwardingUsable());
}

TEST(BfdSessionAdminDown, OurAdminDownEndsAPeerAdminDownHold) {
  Session s(config(), kLocalDisc, kSeed);
  const Peer peer;
  toUp(s, peer, kT0);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kAdminDown), kT0 + 1).accepted());
  ASSERT_TRUE(s.forwardingUsable());
  EXPECT_TRUE(s.setAdminDown(true, kT0 + 2).liveness_changed);
  EXPECT_FALSE(s.forwardingUsable());
  EXPECT_FALSE(s.setAdminDown(false, kT0 + 3).liveness_changed);
  EXPECT_FALSE(s.forwardingUsable());
}

// --------------------------------------------------------------- peer restart

TEST(BfdSession, PeerRestartWithNewDiscriminatorRecovers) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  toUp(s, peer, kT0);
  ASSERT_EQ(s.remoteDiscriminator(), kPeerDisc);

  // The restarted peer has forgotten us: new discriminator, Down, Your Disc 0.
  peer.disc = 0x0000c003;
  const RxResult r = s.onPacket(peer.packet(State::kDown, 0), kT0 + 10 * kMs);
  EXPECT_TRUE(r.accepted()) << "§6.8.6: Your Discriminator 0 with State Down is valid";
  EXPECT_TRUE(r.liveness_changed);
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_EQ(s.localDiag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_EQ(s.remoteDiscriminator(), 0x0000c003u);
  const ControlPacket ours = s.buildPacket(s.nextPeriodicTx());
  EXPECT_EQ(ours.your_disc, 0x0000c003u);
  EXPECT_EQ(ours.state, State::kDown);

  ASSERT_TRUE(s.onPacket(peer.packet(State::kInit), kT0 + 20 * kMs).accepted());
  EXPECT_EQ(s.state(), State::kUp);
  EXPECT_EQ(s.transitions(), 4u) << "Down->Init->Up, Up->Down, Down->Up";
}

// ---------------------------------------------------------------- passive role

TEST(BfdSession, PassiveWaitsForThePeerAndStopsWhenItGoesAway) {
  SessionConfig c = config();
  c.passive = true;
  Session s(c, kLocalDisc, kSeed);
  const Peer peer;
  EXPECT_FALSE(s.transmitDue(kT0));
  EXPECT_EQ(s.nextDeadline(), kNever);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown, 0), kT0).accepted());
  EXPECT_TRUE(s.transmitDue(kT0));
  EXPECT_EQ(s.buildPacket(kT0).state, State::kInit);
  s.tick(s.detectionDeadline());
  EXPECT_EQ(s.remoteDiscriminator(), 0u);
  EXPECT_FALSE(s.transmitDue(kT0 + 3600 * kSec));
}

// ---------------------------------------------------------- extreme intervals

TEST(BfdSessionTimers, RemoteRequiredMinRxZeroStopsPeriodicTxUntilThePeerIsLost) {
  Session s(config(), kLocalDisc, kSeed);
  Peer peer;
  peer.required_min_rx_us = 0;
  toUp(s, peer, kT0);
  EXPECT_FALSE(s.periodicTxEnabled()) << "§6.8.7";
  EXPECT_FALSE(s.status().periodic_tx);
  EXPECT_FALSE(s.transmitDue(kT0 + 3600 * kSec));
  EXPECT_EQ(s.nextDeadline(), s.detectionDeadline());
  // A Poll is still answered.
  EXPECT_TRUE(s.onPacket(peer.withPoll(State::kUp), kT0 + 1).transmit_now);
  EXPECT_TRUE(s.buildPacket(kT0 + 1).final);
  // Once the peer is timed out its "send me nothing" is forgotten.
  s.tick(s.detectionDeadline());
  EXPECT_EQ(s.state(), State::kDown);
  EXPECT_TRUE(s.periodicTxEnabled());
  EXPECT_EQ(s.txInterval(), 1 * kSec);
}

TEST(BfdSessionTimers, RemoteDesiredMinTxZeroUsesOurRequiredMinRx) {
  Session s(config(50 * kMs, 70 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 0;
  toUp(s, peer, kT0);
  EXPECT_EQ(s.detectionTime(), 3 * 70 * kMs);
}

TEST(BfdSessionTimers, LargestIntervalsAndDetectMultDoNotOverflow) {
  Session s(config(kMaxInterval, kMaxInterval, 255), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 0xffffffff;
  peer.required_min_rx_us = 0xffffffff;
  peer.detect_mult = 255;
  toUp(s, peer, kT0);
  EXPECT_EQ(s.txInterval(), 0xffffffffULL);
  EXPECT_EQ(s.detectionTime(), 255ULL * 0xffffffffULL);
  EXPECT_EQ(s.detectionTime(), 1'095'216'660'225ULL);
  EXPECT_EQ(s.detectionDeadline(), kT0 + 1'095'216'660'225ULL);
  ControlPacket p;
  const Micros gap = sendPeriodicAndGap(s, &p);
  EXPECT_EQ(p.desired_min_tx_us, 0xffffffffu);
  EXPECT_EQ(p.required_min_rx_us, 0xffffffffu);
  EXPECT_EQ(p.detect_mult, 255);
  EXPECT_GE(gap, 0xffffffffULL - 0xffffffffULL / 4);
  EXPECT_LE(gap, 0xffffffffULL);
  // Near the end of time the deadlines saturate instead of wrapping.
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), kNever - 10).accepted());
  EXPECT_EQ(s.detectionDeadline(), kNever);
  EXPECT_FALSE(s.tick(kNever - 1).state_changed);
}

TEST(BfdSessionTimers, TinyIntervalsStayPositive) {
  Session s(config(1, 1, 1), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 1;
  peer.required_min_rx_us = 1;
  peer.detect_mult = 1;
  toUp(s, peer, kT0);
  EXPECT_EQ(s.txInterval(), 1u);
  EXPECT_EQ(s.detectionTime(), 1u);
  EXPECT_EQ(sendPeriodicAndGap(s), 1u);
}

// --------------------------------------------------------------- observability

TEST(BfdSession, StatusReportsWhatShowBfdPrints) {
  Session s(config(50 * kMs, 60 * kMs, 3), kLocalDisc, kSeed);
  Peer peer;
  peer.desired_min_tx_us = 70'000;
  peer.required_min_rx_us = 80'000;
  peer.detect_mult = 4;
  toUp(s, peer, kT0);
  ControlPacket bad = peer.packet(State::kUp);
  bad.your_disc = 0xdead;
  EXPECT_EQ(s.onPacket(bad, kT0 + 1).discard, RxDiscard::kYourDiscriminatorMismatch);

  const SessionStatus st = s.status();
  EXPECT_EQ(st.state, State::kUp);
  EXPECT_EQ(st.remote_state, State::kUp);
  EXPECT_TRUE(st.forwarding_usable);
  EXPECT_FALSE(st.peer_admin_down);
  EXPECT_EQ(st.local_disc, kLocalDisc);
  EXPECT_EQ(st.remote_disc, kPeerDisc);
  EXPECT_EQ(st.local_diag, Diag::kNone);
  EXPECT_EQ(st.tx_interval_us, 80 * kMs);
  EXPECT_TRUE(st.periodic_tx);
  EXPECT_EQ(st.detection_time_us, 4 * 70 * kMs);
  EXPECT_EQ(st.transitions, 2u);
  EXPECT_EQ(st.last_change_us, kT0);
  EXPECT_FALSE(st.poll_active);
  EXPECT_EQ(st.desired_min_tx_us, 50 * kMs);
  EXPECT_EQ(st.required_min_rx_us, 60 * kMs);
  EXPECT_EQ(st.detect_mult, 3);
  EXPECT_EQ(st.remote_desired_min_tx_us, 70 * kMs);
  EXPECT_EQ(st.remote_required_min_rx_us, 80 * kMs);
  EXPECT_EQ(st.remote_detect_mult, 4);
  EXPECT_EQ(st.auth_type, AuthType::kNone);
  EXPECT_EQ(st.counters.rx_accepted, 3u);  // Down, Up, Final
  EXPECT_EQ(st.counters.tx_packets, 1u);
  EXPECT_EQ(st.counters.polls_started, 1u);
  EXPECT_EQ(st.counters.polls_completed, 1u);
  EXPECT_EQ(st.counters.discarded(RxDiscard::kYourDiscriminatorMismatch), 1u);
}

TEST(BfdSession, ConstructorRefusesInvalidConfig) {
  EXPECT_THROW(Session(config(0, 50 * kMs, 3), kLocalDisc, kSeed), std::invalid_argument);
  EXPECT_THROW(Session(config(50 * kMs, 50 * kMs, 0), kLocalDisc, kSeed), std::invalid_argument);
  EXPECT_THROW(Session(config(), 0, kSeed), std::invalid_argument);
  EXPECT_STREQ(validate(config(50 * kMs, 50 * kMs, 0)), "detect_mult must be 1..255");
  EXPECT_EQ(validate(config()), nullptr);
  SessionConfig c = config();
  c.auth.type = AuthType::kKeyedSha1;
  EXPECT_STREQ(validate(c), "a keyed SHA1 key must be 1..20 bytes");
  c.auth.secret = std::string(21, 'k');
  EXPECT_STREQ(validate(c), "a keyed SHA1 key must be 1..20 bytes");
  c.auth.secret = std::string(20, 'k');
  EXPECT_EQ(validate(c), nullptr);
}

}  // namespace
}  // namespace ferry::bfd
