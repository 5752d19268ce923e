// BfdSessions with a fake clock and no sockets: packets from the peer are
// built with the BFD encoder and fed in as datagrams; what the sessions send
// is recorded by a fake Transmit with the fake time it was sent at. Every
// `now` is an argument, so every deadline is checked to the microsecond.
#include "ferry/control/bfd_sessions.h"

#include <gtest/gtest.h>

#include <array>
#include <span>
#include <string>
#include <vector>

#include "../bfd/bfd_test_util.h"
#include "ferry/bfd/packet.h"
#include "ferry/config/config.h"
#include "ferry/control/bfd_transport.h"
#include "ferry/control/render.h"

namespace ferry {
namespace {

using bfd::ControlPacket;
using bfd::DecodeResult;
using bfd::Diag;
using bfd::Micros;
using bfd::State;
using bfd::testing::kMs;
using bfd::testing::kSec;
using bfd::testing::Peer;

constexpr Micros kT0 = 1'000 * kSec;  // the fake clock's start: any epoch will do

Config parse(const std::string& yaml) {
  ConfigResult result = parseConfig(yaml, "test.yaml");
  if (!result.errors.empty()) ADD_FAILURE() << result.errors[0].format();
  return result.config ? *result.config : Config{};
}

// Interface a: BFD every 50 ms (`more`: further bfd keys); interface b: no BFD.
Config oneSession(const std::string& more = "") {
  return parse(R"(
interfaces:
  - { name: a, bind: "192.0.2.1:5000", peer: "192.0.2.2:5000", bfd: { interval_ms: 50)" +
               (more.empty() ? "" : ", " + more) + R"( } }
  - { name: b, bind: "192.0.2.1:5001", peer: "192.0.2.3:5001" }
relay: [ { from: a, to: b } ]
)");
}

// up1 and up2: uplinks with BFD; edge: BFD gated on them (depends_on).
Config gatedSessions() {
  return parse(R"(
interfaces:
  - { name: up1, bind: "192.0.2.1:5000", peer: "192.0.2.2:5000", bfd: { interval_ms: 50 } }
  - { name: up2, bind: "192.0.2.1:5001", peer: "192.0.2.3:5001", bfd: { interval_ms: 50 } }
  - { name: edge, bind: "192.0.2.1:5002", peer: "192.0.2.4:5002",
      bfd: { interval_ms: 50, depends_on: [up1, up2] } }
relay: [ { from: edge, to: up1 } ]
)");
}

// Records every packet sent, decoded, with the fake time it left at.
class FakeTransmit final : public BfdSessions::Transmit {
 public:
  struct Sent {
    uint32_t session;
    Micros at;
    ControlPacket packet;
  };
  explicit FakeTransmit(const Micros& clock) : clock_(clock) {}
  bool send(uint32_t session, std::span<const uint8_t> bytes) noexcept override {
    ControlPacket p;
    EXPECT_EQ(bfd::decode(bytes, p), DecodeResult::kOk);
    sent.push_back({session, clock_, p});
    return !refuse;
  }
  // The packets of `session`, in order.
  std::vector<Sent> of(uint32_t session) const {
    std::vector<Sent> out;
    for (const auto& s : sent)
      if (s.session == session) out.push_back(s);
    return out;
  }
  std::vector<Sent> sent;
  bool refuse = false;

 private:
  const Micros& clock_;
};

// The dataplanes' receive path as a test sets it (one dataplane).
class FakeReceivePath final : public BfdSessions::ReceivePath {
 public:
  unsigned dataplanes() const noexcept override { return 1; }
  bool waiting(unsigned, uint16_t interface) const noexcept override {
    return interface == waiting_on;
  }
  uint64_t turns(unsigned) const noexcept override { return turn_count; }
  bool runnable(unsigned) const noexcept override { return is_runnable; }
  bool handedOver() const noexcept override { return handed_over; }

  int waiting_on = -1;  // the interface whose datagram waits, -1 for none
  uint64_t turn_count = 7;
  bool is_runnable = false;
  bool handed_over = false;
};

// One BfdSessions on a fake clock, and the peers that talk to it.
class BfdSessionsTest : public ::testing::Test {
 protected:
  void make(Config config, uint64_t seed = 1) {
    config_ = std::move(config);
    sessions_ = std::make_unique<BfdSessions>(config_, tx_, seed);
  }
  BfdSessions& sessions() { return *sessions_; }
  const bfd::Session& session(uint32_t i) { return *sessions_->entry(i).session; }
  uint32_t disc(uint32_t i) { return session(i).localDiscriminator(); }

  // The daemon's loop on the fake clock: service() at every deadline up to
  // and including `until`, then the clock stands at `until`.
  void runUntil(Micros until) {
    for (Micros next = sessions_->nextDeadline(); next <= until; next = sessions_->nextDeadline()) {
      now_ = std::max(now_, next);
      sessions_->service(now_);
    }
    now_ = until;
    sessions_->service(now_);
  }
  // Interface `interface`'s peer sends `p` now (handed over by a dataplane).
  void hear(uint16_t interface, const ControlPacket& p) {
    std::array<uint8_t, bfd::kMaxPacketLength> buf{};
    const size_t n = bfd::encode(p, buf);
    ASSERT_GT(n, 0u);
    frame(interface, std::span<const uint8_t>(buf.data(), n));
  }
  void frame(uint16_t interface, std::span<const uint8_t> bytes) {
    BfdFrame f;
    f.interface = interface;
    f.length = static_cast<uint16_t>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), f.bytes);
    sessions_->onFrame(f, now_);
  }
  // The three-way handshake (RFC 5880 §6.2) fed as packets on `interface`
  // (session `index`), and the Poll Sequence that Up starts answered, so
  // the configured 50 ms timers are in force.
  void bringUp(uint32_t index, uint16_t interface, const Peer& peer = Peer{}) {
    hear(interface, peer.packet(State::kDown, 0));
    ASSERT_EQ(session(index).state(), State::kInit);
    runUntil(now_);
    hear(interface, peer.packet(State::kUp, disc(index)));
    ASSERT_EQ(session(index).state(), State::kUp);
    runUntil(now_);  // sends the Up packet with P
    ControlPacket final = peer.packet(State::kUp, disc(index));
    final.final = true;
    hear(interface, final);
    ASSERT_FALSE(session(index).pollActive());
  }
  // Keeps interface `interface`'s peer talking every 50 ms until `until`.
  void keepTalking(uint16_t interface, uint32_t index, Micros until, const Peer& peer = Peer{}) {
    while (now_ + 50 * kMs <= until) {
      runUntil(now_ + 50 * kMs);
      hear(interface, peer.packet(State::kUp, disc(index)));
    }
    runUntil(until);
  }

  Micros now_ = kT0;
  FakeTransmit tx_{now_};
  Config config_;
  std::unique_ptr<BfdSessions> sessions_;
};

TEST_F(BfdSessionsTest, NothingIsScheduledBeforeStartAndTheFirstPacketLeavesAtStart) {
  make(oneSession());
  ASSERT_EQ(sessions().size(), 1u) << "b has no BFD";
  EXPECT_EQ(sessions().nextDeadline(), bfd::kNever);
  EXPECT_EQ(sessions().liveness(), (std::vector<uint8_t>{0, 1}))
      << "a BFD interface starts unusable";
  EXPECT_EQ(sessions().livenessVersion(), 0u);
  sessions().start(kT0);
  ASSERT_EQ(tx_.sent.size(), 1u);
  const FakeTransmit::Sent& first = tx_.sent[0];
  EXPECT_EQ(first.session, 0u);
  EXPECT_EQ(first.at, kT0);
  EXPECT_EQ(first.packet.state, State::kDown);
  EXPECT_EQ(first.packet.your_disc, 0u);
  EXPECT_EQ(first.packet.my_disc, disc(0));
  EXPECT_EQ(first.packet.desired_min_tx_us, 1'000'000u) << "1 s while not Up (§6.8.3)";
  EXPECT_EQ(first.packet.required_min_rx_us, 50'000u);
  EXPECT_EQ(first.packet.detect_mult, 3);
  EXPECT_EQ(sessions().nextDeadline(), session(0).nextPeriodicTx());
}

TEST(BfdSessions, NoSessionNeverHasADeadline) {
  const Config config = parse(R"(
interfaces:
  - { name: a, bind: "192.0.2.1:5000", peer: "192.0.2.2:5000" }
  - { name: b, bind: "192.0.2.1:5001", peer: "192.0.2.3:5001" }
relay: [ { from: a, to: b } ]
)");
  Micros clock = kT0;
  FakeTransmit tx(clock);
  BfdSessions sessions(config, tx, 1);
  sessions.start(kT0);
  EXPECT_EQ(sessions.size(), 0u);
  EXPECT_EQ(sessions.nextDeadline(), bfd::kNever);
  EXPECT_EQ(sessions.liveness(), (std::vector<uint8_t>{1, 1}));
  EXPECT_TRUE(sessions.canForward());
  EXPECT_TRUE(tx.sent.empty());
}

TEST_F(BfdSessionsTest, ComesUpThroughTheThreeWayHandshake) {
  make(oneSession());
  sessions().start(kT0);
  now_ = kT0 + 10 * kMs;
  Peer peer;
  hear(0, peer.packet(State::kDown, 0));
  EXPECT_EQ(session(0).state(), State::kInit);
  EXPECT_EQ(sessions().nextDeadline(), now_) << "a state change is told at once";
  runUntil(now_);
  ASSERT_EQ(tx_.sent.size(), 2u);
  EXPECT_EQ(tx_.sent[1].at, kT0 + 10 * kMs);
  EXPECT_EQ(tx_.sent[1].packet.state, State::kInit);
  EXPECT_EQ(tx_.sent[1].packet.your_disc, bfd::testing::kPeerDisc);
  EXPECT_EQ(sessions().liveness()[0], 0);

  now_ = kT0 + 12 * kMs;
  hear(0, peer.packet(State::kUp, disc(0)));
  EXPECT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(session(0).localDiag(), Diag::kNone);
  EXPECT_EQ(sessions().liveness()[0], 1);
  EXPECT_EQ(sessions().livenessVersion(), 1u);
  runUntil(now_);
  ASSERT_EQ(tx_.sent.size(), 3u);
  EXPECT_EQ(tx_.sent[2].packet.state, State::kUp);
  EXPECT_TRUE(tx_.sent[2].packet.poll) << "DesiredMinTx leaves its 1 s floor: a Poll Sequence";
  EXPECT_EQ(tx_.sent[2].packet.desired_min_tx_us, 50'000u);
  EXPECT_EQ(sessions().entry(0).rx_frames, 2u);
  EXPECT_EQ(session(0).counters().rx_accepted, 2u);
}

TEST_F(BfdSessionsTest, DetectionTimeExpiryTakesItDownWithDiag1AtTheExactMicrosecond) {
  make(oneSession());
  sessions().start(kT0);
  bringUp(0, 0);
  const Micros last_heard = now_;
  const Micros deadline = last_heard + 150 * kMs;  // the peer's mult 3 x 50 ms
  EXPECT_EQ(session(0).detectionDeadline(), deadline);
  runUntil(deadline - 1);
  EXPECT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(sessions().liveness()[0], 1);
  EXPECT_LE(sessions().nextDeadline(), deadline);
  runUntil(deadline);
  EXPECT_EQ(session(0).state(), State::kDown);
  EXPECT_EQ(session(0).localDiag(), Diag::kControlDetectionTimeExpired);
  EXPECT_EQ(session(0).lastChange(), deadline);
  EXPECT_EQ(session(0).counters().detection_expiries, 1u);
  EXPECT_EQ(sessions().liveness()[0], 0);
  EXPECT_EQ(sessions().livenessVersion(), 2u) << "up, then down";
  const FakeTransmit::Sent& told = tx_.sent.back();
  EXPECT_EQ(told.at, deadline) << "the peer hears the Down at once";
  EXPECT_EQ(told.packet.state, State::kDown);
  EXPECT_EQ(told.packet.diag, Diag::kControlDetectionTimeExpired);
  EXPECT_EQ(told.packet.your_disc, 0u) << "the peer's discriminator is forgotten (§6.8.1)";
}

// A Poll is answered with a Final in the same call that delivers it (§6.5),
// not at the next deadline.
TEST_F(BfdSessionsTest, APollIsAnsweredAtOnce) {
  make(oneSession());
  sessions().start(kT0);
  bringUp(0, 0);
  tx_.sent.clear();
  now_ += 3 * kMs;
  ControlPacket poll = Peer{}.packet(State::kUp, disc(0));
  poll.poll = true;
  hear(0, poll);
  ASSERT_EQ(tx_.sent.size(), 1u);
  EXPECT_EQ(tx_.sent[0].at, now_);
  EXPECT_TRUE(tx_.sent[0].packet.final);
  EXPECT_FALSE(tx_.sent[0].packet.poll);
  EXPECT_EQ(session(0).counters().tx_finals, 1u);
}

// §6.8.7: each interval is 75-100% of the negotiated one (75-90% with
// detect mult 1); 1 s while Down.
TEST_F(BfdSessionsTest, TransmitScheduleStaysWithinTheJitterBounds) {
  struct Case {
    int detect_mult;
    Micros up_lo, up_hi;
  };
  for (const Case c : {Case{3, 37'500, 50'000}, Case{1, 37'500, 45'000}}) {
    SCOPED_TRACE(c.detect_mult);
    now_ = kT0;
    tx_.sent.clear();
    make(oneSession("detect_mult: " + std::to_string(c.detect_mult)));
    sessions().start(kT0);
    runUntil(kT0 + 20 * kSec);  // Down, nobody answers
    std::vector<FakeTransmit::Sent> down = tx_.of(0);
    ASSERT_GE(down.size(), 21u) << "one at the start, then at least one a second";
    ASSERT_LE(down.size(), 27u);
    for (size_t i = 1; i < down.size(); ++i) {
      const Micros gap = down[i].at - down[i - 1].at;
      EXPECT_GE(gap, 750'000u);
      EXPECT_LE(gap, c.detect_mult == 1 ? 900'000u : 1'000'000u);
    }

    bringUp(0, 0);
    tx_.sent.clear();
    const Micros from = now_;
    keepTalking(0, 0, from + 5 * kSec);
    ASSERT_EQ(session(0).state(), State::kUp);
    const std::vector<FakeTransmit::Sent> up = tx_.of(0);
    ASSERT_GE(up.size(), 100u);
    Micros shortest = bfd::kNever, longest = 0;
    for (size_t i = 1; i < up.size(); ++i) {
      const Micros gap = up[i].at - up[i - 1].at;
      shortest = std::min(shortest, gap);
      longest = std::max(longest, gap);
    }
    EXPECT_GE(shortest, c.up_lo);
    EXPECT_LE(longest, c.up_hi);
    EXPECT_LT(shortest + 5 * kMs, longest) << "jittered, not a fixed interval";
  }
}

// bfd.hold_up_ms: the link is usable only once the session has stayed Up
// that long; the session itself is Up at once.
TEST_F(BfdSessionsTest, HoldDownDelaysLivenessByHoldUpMs) {
  make(oneSession("hold_up_ms: 200"));
  sessions().start(kT0);
  bringUp(0, 0);
  const Micros up_at = session(0).lastChange();
  EXPECT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(sessions().liveness()[0], 0);
  EXPECT_EQ(sessions().livenessVersion(), 0u);
  EXPECT_EQ(sessions().entry(0).hold.deadline(), up_at + 200 * kMs);
  EXPECT_LE(sessions().nextDeadline(), up_at + 200 * kMs);
  keepTalking(0, 0, up_at + 200 * kMs - 1);
  EXPECT_EQ(sessions().liveness()[0], 0);
  runUntil(up_at + 200 * kMs);
  EXPECT_EQ(sessions().liveness()[0], 1) << "at the exact end of the hold";
  EXPECT_EQ(sessions().livenessVersion(), 1u);
  EXPECT_EQ(sessions().entry(0).hold.damped(), 0u);
}

// A session that goes down within its hold never reaches forwarding: a flap
// kept out, counted, and no liveness change at all.
TEST_F(BfdSessionsTest, AFlapWithinTheHoldNeverChangesLiveness) {
  make(oneSession("hold_up_ms: 1000"));
  sessions().start(kT0);
  bringUp(0, 0);
  const Micros deadline = session(0).detectionDeadline();
  runUntil(deadline);
  EXPECT_EQ(session(0).state(), State::kDown);
  EXPECT_EQ(sessions().entry(0).hold.damped(), 1u);
  EXPECT_EQ(sessions().entry(0).hold.deadline(), bfd::kNever);
  EXPECT_EQ(sessions().liveness()[0], 0);
  EXPECT_EQ(sessions().livenessVersion(), 0u);
}

TEST_F(BfdSessionsTest, SetRefusesWhatIsWrongWithTheseMessages) {
  make(oneSession());
  sessions().start(kT0);
  struct Case {
    const char* interface;
    const char* key;
    const char* value;
    const char* error;
  };
  const Case cases[] = {
      {"nope", "interval_ms", "100", "unknown interface 'nope'"},
      {"b", "interval_ms", "100", "interface 'b' has no BFD session"},
      {"a", "interval_ms", "0", "interval_ms: expected a whole number 1..4294967, got '0'"},
      {"a", "interval_ms", "4294968",
       "interval_ms: expected a whole number 1..4294967, got '4294968'"},
      {"a", "interval_ms", "10x", "interval_ms: expected a whole number 1..4294967, got '10x'"},
      {"a", "interval_ms", "-5", "interval_ms: expected a whole number 1..4294967, got '-5'"},
      {"a", "interval_ms", "", "interval_ms: expected a whole number 1..4294967, got ''"},
      {"a", "detect_mult", "0", "detect_mult: expected a whole number 1..255, got '0'"},
      {"a", "detect_mult", "256", "detect_mult: expected a whole number 1..255, got '256'"},
      {"a", "admin_down", "yes", "admin_down: expected true or false"},
      {"a", "hold_up_ms", "3600001",
       "hold_up_ms: expected a whole number 0..3600000, got '3600001'"},
      {"a", "color", "red",
       "unknown key 'color' (expected interval_ms, detect_mult, admin_down or hold_up_ms)"},
  };
  const size_t sent = tx_.sent.size();
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.key) + "=" + c.value);
    EXPECT_EQ(sessions().set(c.interface, c.key, c.value, now_), c.error);
  }
  EXPECT_EQ(tx_.sent.size(), sent) << "a refused set sends nothing";
  EXPECT_EQ(sessions().entry(0).interval_us, 50 * kMs);
  EXPECT_EQ(session(0).detectMult(), 3);
  EXPECT_EQ(session(0).state(), State::kDown);
  EXPECT_EQ(sessions().entry(0).hold.hold(), 0u);
}

TEST_F(BfdSessionsTest, SetIntervalAndDetectMultWhileUpStartAPollSequence) {
  make(oneSession());
  sessions().start(kT0);
  bringUp(0, 0);
  tx_.sent.clear();
  EXPECT_EQ(sessions().set("a", "interval_ms", "100", now_), "");
  EXPECT_EQ(sessions().entry(0).interval_us, 100 * kMs);
  EXPECT_TRUE(session(0).pollActive());
  EXPECT_EQ(sessions().set("a", "detect_mult", "5", now_), "");
  EXPECT_EQ(session(0).detectMult(), 5);
  // A slower rate waits for the Final (§6.8.3): the Poll goes out with the
  // next periodic packet, on the old schedule.
  runUntil(now_);
  EXPECT_TRUE(tx_.sent.empty());
  const Micros due = session(0).nextPeriodicTx();
  EXPECT_EQ(sessions().nextDeadline(), due);
  runUntil(due);
  ASSERT_EQ(tx_.sent.size(), 1u);
  EXPECT_EQ(tx_.sent[0].at, due);
  const ControlPacket& p = tx_.sent[0].packet;
  EXPECT_TRUE(p.poll);
  EXPECT_EQ(p.desired_min_tx_us, 100'000u);
  EXPECT_EQ(p.required_min_rx_us, 100'000u);
  EXPECT_EQ(p.detect_mult, 5);
  EXPECT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(sessions().liveness()[0], 1);
}

TEST_F(BfdSessionsTest, SetAdminDownTakesTheLinkDownAndTellsThePeerAtOnce) {
  make(oneSession());
  sessions().start(kT0);
  bringUp(0, 0);
  ASSERT_EQ(sessions().livenessVersion(), 1u);
  tx_.sent.clear();
  now_ += kMs;
  EXPECT_EQ(sessions().set("a", "admin_down", "true", now_), "");
  EXPECT_EQ(session(0).state(), State::kAdminDown);
  EXPECT_EQ(session(0).localDiag(), Diag::kAdministrativelyDown);
  EXPECT_EQ(sessions().liveness()[0], 0);
  EXPECT_EQ(sessions().livenessVersion(), 2u);
  ASSERT_EQ(tx_.sent.size(), 1u);
  EXPECT_EQ(tx_.sent[0].at, now_);
  EXPECT_EQ(tx_.sent[0].packet.state, State::kAdminDown);
  EXPECT_EQ(tx_.sent[0].packet.diag, Diag::kAdministrativelyDown);
  EXPECT_EQ(sessions().set("a", "admin_down", "false", now_), "");
  EXPECT_EQ(session(0).state(), State::kDown);
  EXPECT_EQ(sessions().livenessVersion(), 2u);
}

TEST_F(BfdSessionsTest, SetHoldUpMsAppliesToARunningHold) {
  make(oneSession("hold_up_ms: 1000"));
  sessions().start(kT0);
  bringUp(0, 0);
  EXPECT_EQ(sessions().liveness()[0], 0);
  EXPECT_EQ(sessions().set("a", "hold_up_ms", "0", now_), "");
  EXPECT_EQ(sessions().entry(0).hold.hold(), 0u);
  EXPECT_EQ(sessions().liveness()[0], 1) << "the hold is over at once";
  EXPECT_EQ(sessions().livenessVersion(), 1u);
  EXPECT_EQ(sessions().set("a", "hold_up_ms", "3600000", now_), "");
  EXPECT_EQ(sessions().entry(0).hold.hold(), 3'600'000 * kMs);
  EXPECT_EQ(sessions().liveness()[0], 1) << "a link already usable stays so";
}

// Graceful stop: every session Down with diag 4 at once, liveness frozen.
TEST_F(BfdSessionsTest, BeginDrainHoldsEverySessionWithDiag4AndFreezesLiveness) {
  make(gatedSessions());
  sessions().start(kT0);
  Peer slow;
  slow.detect_mult = 5;  // our detection time of this peer: 5 x 50 ms
  bringUp(0, 0, slow);
  bringUp(2, 2);
  ASSERT_EQ(sessions().liveness(), (std::vector<uint8_t>{1, 0, 1}));
  const uint64_t version = sessions().livenessVersion();
  tx_.sent.clear();
  now_ += kMs;
  EXPECT_EQ(sessions().beginDrain(now_), 250 * kMs)
      << "the slowest of the Up sessions (up2 is Down)";
  EXPECT_TRUE(sessions().draining());
  for (uint32_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(session(i).state(), State::kDown);
    EXPECT_EQ(session(i).localDiag(), Diag::kForwardingPlaneReset);
    EXPECT_TRUE(session(i).heldDown());
    const std::vector<FakeTransmit::Sent> told = tx_.of(i);
    ASSERT_EQ(told.size(), 1u);
    EXPECT_EQ(told[0].at, now_);
    EXPECT_EQ(told[0].packet.diag, Diag::kForwardingPlaneReset);
  }
  EXPECT_EQ(sessions().liveness(), (std::vector<uint8_t>{1, 0, 1})) << "frozen";
  EXPECT_EQ(sessions().livenessVersion(), version);
  // Whatever the peers do now, liveness stays as it was.
  hear(0, slow.packet(State::kDown, disc(0)));
  runUntil(now_ + 2 * kSec);
  EXPECT_EQ(sessions().liveness(), (std::vector<uint8_t>{1, 0, 1}));
  EXPECT_EQ(sessions().livenessVersion(), version);
  EXPECT_TRUE(sessions().canForward()) << "gates are left alone while draining";
}

TEST_F(BfdSessionsTest, BeginDrainWithNoSessionUpReturnsZero) {
  make(oneSession());
  sessions().start(kT0);
  EXPECT_EQ(sessions().beginDrain(now_), 0u);
  EXPECT_EQ(session(0).localDiag(), Diag::kForwardingPlaneReset);
}

// bfd.depends_on: edge is held Down with diag 6 while up1 and up2 are both
// down, and canForward() says whether the host can forward.
TEST_F(BfdSessionsTest, GateHoldsTheDependentSessionWithDiag6WhileEveryUplinkIsDown) {
  make(gatedSessions());
  sessions().start(kT0);
  const BfdSessions::Entry& edge = sessions().entry(2);
  EXPECT_TRUE(edge.gated) << "every session starts Down: the gate is closed from the start";
  EXPECT_EQ(edge.gate_holds, 1u);
  EXPECT_TRUE(session(2).heldDown());
  EXPECT_EQ(session(2).localDiag(), Diag::kConcatenatedPathDown);
  EXPECT_EQ(tx_.of(2).at(0).packet.diag, Diag::kConcatenatedPathDown);
  EXPECT_FALSE(sessions().canForward());
  // The held session stays Down whatever its peer says.
  hear(2, Peer{}.packet(State::kDown, 0));
  hear(2, Peer{}.packet(State::kInit, disc(2)));
  EXPECT_EQ(session(2).state(), State::kDown);

  bringUp(1, 1);  // up2 comes up: released
  EXPECT_FALSE(edge.gated);
  EXPECT_FALSE(session(2).heldDown());
  EXPECT_TRUE(sessions().canForward());
  bringUp(2, 2);
  EXPECT_EQ(session(2).state(), State::kUp);

  // up2 goes silent: the gate closes again and takes edge Down at once.
  const Micros up2_dies = session(1).detectionDeadline();
  keepTalking(2, 2, up2_dies);
  EXPECT_EQ(session(1).state(), State::kDown);
  EXPECT_TRUE(edge.gated);
  EXPECT_EQ(edge.gate_holds, 2u);
  EXPECT_EQ(session(2).state(), State::kDown);
  EXPECT_EQ(session(2).localDiag(), Diag::kConcatenatedPathDown);
  EXPECT_EQ(session(2).lastChange(), up2_dies);
  EXPECT_EQ(tx_.of(2).back().at, up2_dies);
  EXPECT_EQ(tx_.of(2).back().packet.diag, Diag::kConcatenatedPathDown);
  EXPECT_EQ(sessions().liveness(), (std::vector<uint8_t>{0, 0, 0}));
  EXPECT_FALSE(sessions().canForward());
}

// A session with no depends_on never gates, and canForward() is then true.
TEST_F(BfdSessionsTest, WithoutDependsOnTheHostCanAlwaysForward) {
  make(oneSession());
  sessions().start(kT0);
  EXPECT_FALSE(sessions().entry(0).gated);
  EXPECT_EQ(sessions().entry(0).gate_holds, 0u);
  EXPECT_FALSE(session(0).heldDown());
  EXPECT_TRUE(sessions().canForward());
}

// ReceivePath: an in-band expiry waits while the peer's packets may still be
// on their way through a dataplane.
class BfdDeferralTest : public BfdSessionsTest {
 protected:
  // Session a Up, its peer silent from now on; returns the detection deadline.
  Micros upThenSilent() {
    make(oneSession());
    sessions().setReceivePath(&path_);
    sessions().start(kT0);
    bringUp(0, 0);
    const Micros deadline = session(0).detectionDeadline();
    runUntil(deadline - 1);
    return deadline;
  }
  void expectDownAt(Micros at) {
    EXPECT_EQ(session(0).state(), State::kDown);
    EXPECT_EQ(session(0).localDiag(), Diag::kControlDetectionTimeExpired);
    EXPECT_EQ(session(0).lastChange(), at);
    EXPECT_EQ(session(0).counters().detection_expiries, 1u);
  }
  FakeReceivePath path_;
};

TEST_F(BfdDeferralTest, NothingOnTheWayExpiresOnTime) {
  const Micros deadline = upThenSilent();
  runUntil(deadline);
  expectDownAt(deadline);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 0u);
}

TEST_F(BfdDeferralTest, AHandedOverFrameDefersTheExpiryByRechecks) {
  const Micros deadline = upThenSilent();
  path_.handed_over = true;
  runUntil(deadline);
  EXPECT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 1u);
  EXPECT_EQ(sessions().entry(0).deferred_since, deadline);
  EXPECT_EQ(sessions().nextDeadline(),
            std::min(deadline + BfdSessions::kBacklogRecheckUs, session(0).nextPeriodicTx()));
  runUntil(deadline + 20 * kMs);
  EXPECT_EQ(session(0).state(), State::kUp) << "still on its way";
  path_.handed_over = false;
  const Micros drained = sessions().nextDeadline();
  ASSERT_LE(drained, now_ + BfdSessions::kBacklogRecheckUs);
  runUntil(drained);
  expectDownAt(drained);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 1u);
  EXPECT_EQ(sessions().entry(0).deferred_since, bfd::kNever);
}

TEST_F(BfdDeferralTest, ARunnableDataplaneMustFinishItsTurn) {
  const Micros deadline = upThenSilent();
  path_.is_runnable = true;
  path_.turn_count = 7;
  runUntil(deadline);
  EXPECT_EQ(session(0).state(), State::kUp);
  path_.is_runnable = false;  // only the turn under way at the deadline counts
  runUntil(deadline + 30 * kMs);
  EXPECT_EQ(session(0).state(), State::kUp) << "turn 7 has not ended";
  path_.turn_count = 8;
  const Micros next = sessions().nextDeadline();
  runUntil(next);
  expectDownAt(next);
}

TEST_F(BfdDeferralTest, AWaitingDatagramNeedsTheNextTurnAfterTheOneUnderWay) {
  const Micros deadline = upThenSilent();
  path_.waiting_on = 0;
  path_.turn_count = 7;
  runUntil(deadline);
  EXPECT_EQ(session(0).state(), State::kUp);
  path_.waiting_on = -1;  // read by the turn under way, or the next
  path_.turn_count = 8;
  runUntil(deadline + 30 * kMs);
  EXPECT_EQ(session(0).state(), State::kUp)
      << "turn 8 may have read it; only its end hands it over";
  path_.turn_count = 9;
  const Micros next = sessions().nextDeadline();
  runUntil(next);
  expectDownAt(next);
}

TEST_F(BfdDeferralTest, ABacklogThatNeverDrainsDefersAtMostOneSecond) {
  const Micros deadline = upThenSilent();
  path_.handed_over = true;
  runUntil(deadline + BfdSessions::kMaxBacklogDeferUs - 1);
  EXPECT_EQ(session(0).state(), State::kUp);
  runUntil(deadline + BfdSessions::kMaxBacklogDeferUs + BfdSessions::kBacklogRecheckUs);
  EXPECT_EQ(session(0).state(), State::kDown);
  EXPECT_GE(session(0).lastChange(), deadline + BfdSessions::kMaxBacklogDeferUs);
  EXPECT_LT(session(0).lastChange(),
            deadline + BfdSessions::kMaxBacklogDeferUs + BfdSessions::kBacklogRecheckUs);
  EXPECT_EQ(session(0).counters().detection_expiries, 1u);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 1u);
}

TEST_F(BfdDeferralTest, APacketArrivingDuringTheWaitKeepsTheSessionUp) {
  const Micros deadline = upThenSilent();
  path_.handed_over = true;
  runUntil(deadline + 10 * kMs);
  hear(0, Peer{}.packet(State::kUp, disc(0)));  // it was on its way
  path_.handed_over = false;
  EXPECT_EQ(sessions().entry(0).deferred_since, bfd::kNever);
  EXPECT_EQ(session(0).detectionDeadline(), deadline + 10 * kMs + 150 * kMs);
  runUntil(deadline + 10 * kMs + 150 * kMs);
  expectDownAt(deadline + 10 * kMs + 150 * kMs);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 1u);
}

// RFC 5881 sessions do not go through the dataplanes: they never wait.
TEST_F(BfdDeferralTest, AnRfc5881SessionNeverWaits) {
  make(oneSession("mode: rfc5881"));
  sessions().setReceivePath(&path_);
  sessions().start(kT0);
  path_.handed_over = true;
  Peer peer;
  auto datagram = [&](const ControlPacket& p) {
    std::array<uint8_t, bfd::kMaxPacketLength> buf{};
    const size_t n = bfd::encode(p, buf);
    sessions().onDatagram(0, std::span<const uint8_t>(buf.data(), n), now_);
  };
  datagram(peer.packet(State::kDown, 0));
  datagram(peer.packet(State::kUp, disc(0)));
  ASSERT_EQ(session(0).state(), State::kUp);
  EXPECT_EQ(sessions().entry(0).rx_frames, 2u);
  const Micros deadline = session(0).detectionDeadline();
  runUntil(deadline);
  expectDownAt(deadline);
  EXPECT_EQ(sessions().entry(0).expiries_deferred, 0u);
}

// What reaches no session is counted by reason; a failed send by session.
TEST_F(BfdSessionsTest, UnmatchedPacketsAndFailedSendsAreCounted) {
  make(oneSession());
  sessions().start(kT0);
  Peer peer;
  hear(0, peer.packet(State::kUp, 0x12345678));  // not our discriminator
  EXPECT_EQ(sessions().counters().unknown_discriminator, 1u);
  hear(1, peer.packet(State::kDown, 0));  // b has no session to start
  EXPECT_EQ(sessions().counters().no_session_for_peer, 1u);
  EXPECT_EQ(sessions().entry(0).rx_frames, 1u) << "counted before demux, as received on a";
  EXPECT_EQ(session(0).counters().rx_accepted, 0u);

  std::array<uint8_t, bfd::kMaxPacketLength> good{};
  const size_t n = bfd::encode(peer.packet(State::kDown, 0), good);
  ASSERT_EQ(n, 24u);
  struct BadPacket {
    DecodeResult why;
    std::vector<uint8_t> bytes;
  };
  std::vector<uint8_t> version2(good.begin(), good.begin() + 24), mult0 = version2,
                                                                  short_length = version2;
  version2[0] = uint8_t((2 << 5) | (version2[0] & 0x1f));
  mult0[2] = 0;
  short_length[3] = 20;
  const BadPacket bad[] = {
      {DecodeResult::kTruncated, {0x20, 0x40}},
      {DecodeResult::kBadVersion, version2},
      {DecodeResult::kZeroDetectMult, mult0},
      {DecodeResult::kLengthTooShort, short_length},
  };
  for (const BadPacket& b : bad) {
    SCOPED_TRACE(bfd::toString(b.why));
    frame(0, b.bytes);
    EXPECT_EQ(sessions().counters().decode_errors[size_t(b.why)], 1u);
  }
  EXPECT_EQ(session(0).state(), State::kDown);

  tx_.refuse = true;
  const Micros next = sessions().nextDeadline();
  runUntil(next);
  EXPECT_EQ(sessions().entry(0).tx_errors, 1u);
  EXPECT_EQ(sessions().counters().tx_errors, 1u);
}

// Takeover: a saved Up session goes on Up in the new sessions, with its
// discriminator, its link usable and its counters.
TEST_F(BfdSessionsTest, SaveAndRestoreCarryAnUpSession) {
  make(oneSession());
  sessions().start(kT0);
  bringUp(0, 0);
  const takeover::BfdState saved = sessions().save();
  ASSERT_EQ(saved.sessions.size(), 1u);
  EXPECT_EQ(saved.sessions[0].interface, "a");
  EXPECT_TRUE(saved.sessions[0].link_usable);
  EXPECT_EQ(saved.sessions[0].rx_frames, 3u);
  const uint32_t old_disc = disc(0);

  FakeTransmit tx(now_);
  BfdSessions next(config_, tx, 99);
  EXPECT_EQ(next.restore(saved, now_), 1u);
  EXPECT_EQ(next.entry(0).session->state(), State::kUp);
  EXPECT_EQ(next.entry(0).session->localDiscriminator(), old_disc);
  EXPECT_EQ(next.entry(0).rx_frames, 3u);
  EXPECT_EQ(next.liveness()[0], 1);
  EXPECT_EQ(next.livenessVersion(), 1u);
  EXPECT_NE(next.nextDeadline(), bfd::kNever);
}

// `show bfd`'s JSON: every key of a session, and the unmatched counters of
// both the sessions and the transport.
TEST_F(BfdSessionsTest, ShowBfdJsonHasEveryKey) {
  make(oneSession("hold_up_ms: 200"));
  BfdTransport transport(config_, {});
  sessions().start(kT0);
  bringUp(0, 0);
  hear(0, Peer{}.packet(State::kUp, 0x12345678));
  const nlohmann::json j = bfdJson(sessions(), transport, now_ + 50 * kMs);
  ASSERT_EQ(j["sessions"].size(), 1u);
  const nlohmann::json& s = j["sessions"][0];
  std::vector<std::string> keys;
  for (auto it = s.begin(); it != s.end(); ++it) keys.push_back(it.key());
  const std::vector<std::string> expected = {"auth",
                                             "depends_on",
                                             "desired_min_tx_us",
                                             "detect_mult",
                                             "detection_expiries",
                                             "detection_time_us",
                                             "discards",
                                             "expiries_deferred",
                                             "flaps_damped",
                                             "forwarding_usable",
                                             "gate_closed",
                                             "gate_holds",
                                             "held_down",
                                             "hold_left_ms",
                                             "hold_up_ms",
                                             "interface",
                                             "last_change_monotonic_us",
                                             "last_diagnostic",
                                             "last_rx_monotonic_us",
                                             "link_usable",
                                             "local_discriminator",
                                             "mode",
                                             "peer",
                                             "poll_active",
                                             "polls_completed",
                                             "remote_demand",
                                             "remote_desired_min_tx_us",
                                             "remote_detect_mult",
                                             "remote_diagnostic",
                                             "remote_discriminator",
                                             "remote_required_min_rx_us",
                                             "remote_state",
                                             "required_min_rx_us",
                                             "rx_accepted",
                                             "rx_packets",
                                             "since_last_change_ms",
                                             "state",
                                             "transitions",
                                             "tx_errors",
                                             "tx_interval_us",
                                             "tx_packets"};
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(s["interface"], "a");
  EXPECT_EQ(s["peer"], "192.0.2.2:5000");
  EXPECT_EQ(s["mode"], "inband");
  EXPECT_EQ(s["state"], "up");
  EXPECT_EQ(s["forwarding_usable"], true);
  EXPECT_EQ(s["link_usable"], false);
  EXPECT_EQ(s["hold_up_ms"], 200);
  EXPECT_EQ(s["hold_left_ms"], 150);
  EXPECT_EQ(s["local_discriminator"], disc(0));
  EXPECT_EQ(s["rx_packets"], 4);
  EXPECT_EQ(s["since_last_change_ms"], 50);
  EXPECT_EQ(j["unmatched"]["unknown_discriminator"], 1);
  EXPECT_EQ(j["unmatched"]["bad_ttl"], 0);
  EXPECT_EQ(j["unmatched"]["unknown_source"], 0);
  EXPECT_EQ(j["unmatched"]["decode_errors"]["truncated"], 0);
}

}  // namespace
}  // namespace ferry
