// RFC 5880 §6.2 / §6.8.6 state machine as a table: from each local state, for
// each received state and for detection-time expiry (§6.8.4), the resulting
// state and diagnostic.
//
// The RFC's diagram (§6.2):
//
//                              +--+
//                              |  | UP, ADMIN DOWN, TIMER
//                              |  V
//                      DOWN  +------+  INIT
//               +------------|      |------------+
//               |            | DOWN |            |
//               |  +-------->|      |<--------+  |
//               |  |         +------+         |  |
//               |  |                          |  |
//               |  |               ADMIN DOWN,|  |
//               |  |ADMIN DOWN,          DOWN,|  |
//               |  |TIMER                TIMER|  |
//               V  |                          |  V
//             +------+                      +------+
//        +----|      |                      |      |----+
//    DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
//        +--->|      | INIT, UP             |      |<---+
//             +------+                      +------+
#include <gtest/gtest.h>

#include "bfd_test_util.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

enum class Event { kRecvAdminDown, kRecvDown, kRecvInit, kRecvUp, kDetectionTimerExpires };

const char* eventName(Event e) {
  switch (e) {
    case Event::kRecvAdminDown:
      return "recv AdminDown";
    case Event::kRecvDown:
      return "recv Down";
    case Event::kRecvInit:
      return "recv Init";
    case Event::kRecvUp:
      return "recv Up";
    case Event::kDetectionTimerExpires:
      return "detection timer expires";
  }
  return "?";
}

struct Transition {
  State from;
  Event event;
  State to;
  Diag diag;
  bool forwarding_usable;  // RFC 5882 §3.2: a peer's AdminDown is no failure
  RxDiscard discard;       // for received packets
};

constexpr State kAdminDown = State::kAdminDown;
constexpr State kDown = State::kDown;
constexpr State kInit = State::kInit;
constexpr State kUp = State::kUp;
constexpr Diag kNoDiag = Diag::kNone;
constexpr Diag kDiag1Expired = Diag::kControlDetectionTimeExpired;
constexpr Diag kDiag3NeighborDown = Diag::kNeighborSignaledSessionDown;
constexpr Diag kDiag7AdminDown = Diag::kAdministrativelyDown;
constexpr RxDiscard kAccepted = RxDiscard::kNone;
constexpr RxDiscard kDiscarded = RxDiscard::kLocalAdminDown;

// clang-format off
const Transition kTable[] = {
  // from       event                           to          diag                 usable  discard
  // "If bfd.SessionState is AdminDown: discard the packet"; no detection timer runs.
  {kAdminDown, Event::kRecvAdminDown,          kAdminDown, kDiag7AdminDown,     false,  kDiscarded},
  {kAdminDown, Event::kRecvDown,               kAdminDown, kDiag7AdminDown,     false,  kDiscarded},
  {kAdminDown, Event::kRecvInit,               kAdminDown, kDiag7AdminDown,     false,  kDiscarded},
  {kAdminDown, Event::kRecvUp,                 kAdminDown, kDiag7AdminDown,     false,  kDiscarded},
  {kAdminDown, Event::kDetectionTimerExpires,  kAdminDown, kDiag7AdminDown,     false,  kAccepted},
  // Down: Down -> Init, Init -> Up; AdminDown and Up leave it Down.
  {kDown,      Event::kRecvAdminDown,          kDown,      kNoDiag,             false,  kAccepted},
  {kDown,      Event::kRecvDown,               kInit,      kNoDiag,             false,  kAccepted},
  {kDown,      Event::kRecvInit,               kUp,        kNoDiag,             true,   kAccepted},
  {kDown,      Event::kRecvUp,                 kDown,      kNoDiag,             false,  kAccepted},
  {kDown,      Event::kDetectionTimerExpires,  kDown,      kNoDiag,             false,  kAccepted},
  // Init: Init or Up -> Up; AdminDown -> Down (diag 3); timer -> Down (diag 1).
  {kInit,      Event::kRecvAdminDown,          kDown,      kDiag3NeighborDown,  false,  kAccepted},
  {kInit,      Event::kRecvDown,               kInit,      kNoDiag,             false,  kAccepted},
  {kInit,      Event::kRecvInit,               kUp,        kNoDiag,             true,   kAccepted},
  {kInit,      Event::kRecvUp,                 kUp,        kNoDiag,             true,   kAccepted},
  {kInit,      Event::kDetectionTimerExpires,  kDown,      kDiag1Expired,       false,  kAccepted},
  // Up: Down or AdminDown -> Down (diag 3); timer -> Down (diag 1).
  // A peer's AdminDown keeps forwarding usable (no failover); its Down does not.
  {kUp,        Event::kRecvAdminDown,          kDown,      kDiag3NeighborDown,  true,   kAccepted},
  {kUp,        Event::kRecvDown,               kDown,      kDiag3NeighborDown,  false,  kAccepted},
  {kUp,        Event::kRecvInit,               kUp,        kNoDiag,             true,   kAccepted},
  {kUp,        Event::kRecvUp,                 kUp,        kNoDiag,             true,   kAccepted},
  {kUp,        Event::kDetectionTimerExpires,  kDown,      kDiag1Expired,       false,  kAccepted},
};
// clang-format on

// Puts a fresh session in `state` through real events, with a detection timer
// armed (a packet has been received) so that expiry can be exercised.
void reach(Session& s, const Peer& peer, State state, Micros now) {
  switch (state) {
    case State::kAdminDown:
      s.setAdminDown(true, now);
      break;
    case State::kDown:
      // A received AdminDown leaves a Down session Down and arms the timer.
      ASSERT_TRUE(s.onPacket(peer.packet(State::kAdminDown, 0), now).accepted());
      break;
    case State::kInit:
      toInit(s, peer, now);
      break;
    case State::kUp:
      toUp(s, peer, now);
      break;
  }
  ASSERT_EQ(s.state(), state);
}

TEST(BfdStateMachine, EveryStateAndEventMatchesRfc5880Section6_8_6) {
  ASSERT_EQ(std::size(kTable), 4u * 5u) << "4 states x 5 events";
  const Peer peer;
  for (const Transition& t : kTable) {
    SCOPED_TRACE(std::string(toString(t.from)) + " + " + eventName(t.event));
    Session s(config(), kLocalDisc, kSeed);
    const Micros start = 10 * kSec;
    reach(s, peer, t.from, start);
    const uint64_t transitions_before = s.transitions();
    const Micros at = start + 5 * kMs;

    RxDiscard discard = RxDiscard::kNone;
    bool state_changed = false;
    switch (t.event) {
      case Event::kRecvAdminDown:
      case Event::kRecvDown:
      case Event::kRecvInit:
      case Event::kRecvUp: {
        const auto received = static_cast<State>(static_cast<int>(t.event));
        const RxResult r = s.onPacket(peer.packet(received), at);
        discard = r.discard;
        state_changed = r.state_changed;
        break;
      }
      case Event::kDetectionTimerExpires: {
        // Nothing heard for a whole detection time: 3 x 50 ms here, except
        // AdminDown where no timer runs at all.
        const Micros expiry = s.detectionDeadline();
        if (t.from == State::kAdminDown) {
          EXPECT_EQ(expiry, kNever);
          state_changed = s.tick(at + 3600 * kSec).state_changed;
        } else {
          EXPECT_EQ(expiry, start + 150 * kMs);
          EXPECT_FALSE(s.tick(expiry - 1).state_changed);
          EXPECT_EQ(s.state(), t.from) << "one microsecond early";
          state_changed = s.tick(expiry).state_changed;
          EXPECT_EQ(s.remoteDiscriminator(), 0u) << "§6.8.1: RemoteDiscr zeroed";
        }
        break;
      }
    }
    EXPECT_EQ(s.state(), t.to) << "got " << toString(s.state());
    EXPECT_EQ(s.localDiag(), t.diag) << "got " << toString(s.localDiag());
    EXPECT_EQ(s.forwardingUsable(), t.forwarding_usable);
    EXPECT_EQ(discard, t.discard) << "got " << toString(discard);
    EXPECT_EQ(state_changed, t.from != t.to);
    EXPECT_EQ(s.transitions(), transitions_before + (t.from != t.to ? 1 : 0));
    if (t.from != t.to) {
      const Micros when = t.event == Event::kDetectionTimerExpires ? start + 150 * kMs : at;
      EXPECT_EQ(s.lastChange(), when);
    }
    // What we tell the peer next carries the new state and diagnostic.
    const ControlPacket next = s.buildPacket(at + 10 * kSec);
    EXPECT_EQ(next.state, t.to);
    EXPECT_EQ(next.diag, t.diag);
  }
}

// The three-way handshake between two real sessions, packets passed by hand
// through the codec: both reach Up.
TEST(BfdStateMachine, TwoSessionsHandshakeToUp) {
  Session a(config(), 0x1111, 1);
  Session b(config(), 0x2222, 2);
  Micros now = 0;
  auto deliver = [&](Session& from, Session& to) {
    std::array<uint8_t, kMaxPacketLength> buf{};
    const size_t n = from.writePacket(now, buf);
    ASSERT_GT(n, 0u);
    ControlPacket p;
    ASSERT_EQ(decode(std::span<const uint8_t>(buf.data(), n), p), DecodeResult::kOk);
    ASSERT_TRUE(to.onPacket(p, now).accepted());
  };
  deliver(a, b);  // a: Down, your_disc 0  -> b: Init
  EXPECT_EQ(b.state(), State::kInit);
  deliver(b, a);  // b: Init -> a: Up
  EXPECT_EQ(a.state(), State::kUp);
  deliver(a, b);  // a: Up (with P: leaving the 1 s floor) -> b: Up, owes a Final
  EXPECT_EQ(b.state(), State::kUp);
  EXPECT_TRUE(b.transmitDue(now));
  deliver(b, a);  // b: Final (and its own Poll is not yet sent) -> a: poll done
  EXPECT_FALSE(a.pollActive());
  EXPECT_EQ(a.txInterval(), 50 * kMs);
  EXPECT_EQ(a.remoteDiscriminator(), 0x2222u);
  EXPECT_EQ(b.remoteDiscriminator(), 0x1111u);
}

}  // namespace
}  // namespace ferry::bfd
