// Two sessions talking through the codec over a simulated link with a fake
// clock and a per-direction switch: cold start, one-way loss, recovery,
// interval changes on a live session. This is the in-memory version of the
// integration tests between two ferryds and against FRR.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <vector>

#include "bfd_test_util.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

struct Sent {
  Micros at;
  ControlPacket packet;
};

// Event loop of a control thread for two sessions joined back to back.
class Link {
 public:
  Link(const SessionConfig& a, const SessionConfig& b) : a_(a, 0x1111, 11), b_(b, 0x2222, 22) {}

  Session& a() { return a_; }
  Session& b() { return b_; }
  Micros now() const { return now_; }
  bool a_to_b = true;  // false: packets from a are lost
  bool b_to_a = true;
  std::vector<Sent> sent_by_a, sent_by_b;
  Micros a_last_delivered = 0;

  // Runs until `end`, jumping from deadline to deadline.
  void runUntil(Micros end) {
    for (int guard = 0; guard < 10'000'000; ++guard) {
      const Micros next = std::max(now_, std::min(a_.nextDeadline(), b_.nextDeadline()));
      if (next > end) {
        now_ = end;
        return;
      }
      now_ = next;
      a_.tick(now_);
      b_.tick(now_);
      flush(a_, b_, a_to_b, sent_by_a, true);
      flush(b_, a_, b_to_a, sent_by_b, false);
    }
    FAIL() << "event loop did not converge";
  }

  // Runs until `done()` holds or `limit` passes; returns the time it held.
  template <typename Pred>
  Micros runUntil(Micros limit, Pred done) {
    while (!done() && now_ < limit) {
      const Micros next =
          std::min(limit, std::max(now_ + 1, std::min(a_.nextDeadline(), b_.nextDeadline())));
      runUntil(next);
    }
    return now_;
  }

 private:
  void flush(Session& from, Session& to, bool up, std::vector<Sent>& log, bool from_a) {
    while (from.transmitDue(now_)) {
      std::array<uint8_t, kMaxPacketLength> buf{};
      const size_t n = from.writePacket(now_, buf);
      ASSERT_GT(n, 0u);
      ControlPacket p;
      ASSERT_EQ(decode(std::span<const uint8_t>(buf.data(), n), p), DecodeResult::kOk);
      log.push_back({now_, p});
      if (!up) continue;
      const RxResult r = to.onPacket(p, now_, std::span<const uint8_t>(buf.data(), n));
      // The only discard expected on a clean link: the receiver is AdminDown.
      ASSERT_TRUE(r.accepted() || r.discard == RxDiscard::kLocalAdminDown) << toString(r.discard);
      if (from_a) a_last_delivered = now_;
    }
  }

  Session a_;
  Session b_;
  Micros now_ = 0;
};

TEST(BfdLink, ComesUpQuicklyFromColdStart) {
  Link link(config(50 * kMs, 50 * kMs, 3), config(50 * kMs, 50 * kMs, 3));
  const Micros up = link.runUntil(
      2 * kSec, [&] { return link.a().state() == State::kUp && link.b().state() == State::kUp; });
  EXPECT_LT(up, 100 * kMs) << "the handshake needs no 1 s wait";
  link.runUntil(up + 10 * kSec);
  EXPECT_EQ(link.a().state(), State::kUp);
  EXPECT_EQ(link.b().state(), State::kUp);
  EXPECT_EQ(link.a().transitions(), 1u) << "Down -> Up";
  EXPECT_EQ(link.b().transitions(), 2u) << "Down -> Init -> Up";
  EXPECT_FALSE(link.a().pollActive());
  EXPECT_FALSE(link.b().pollActive());
  // In steady state every gap between a's packets is 75-100% of 50 ms.
  std::vector<Micros> gaps;
  for (size_t i = 1; i < link.sent_by_a.size(); ++i) {
    if (link.sent_by_a[i].at < up + kSec || link.sent_by_a[i].packet.final) continue;
    gaps.push_back(link.sent_by_a[i].at - link.sent_by_a[i - 1].at);
  }
  ASSERT_GT(gaps.size(), 150u);
  EXPECT_GE(*std::min_element(gaps.begin(), gaps.end()), 37'500u);
  EXPECT_LE(*std::max_element(gaps.begin(), gaps.end()), 50'000u);
}

TEST(BfdLink, OneWayLossIsDetectedWithinTheDetectionTime) {
  Link link(config(50 * kMs, 50 * kMs, 3), config(50 * kMs, 50 * kMs, 3));
  link.runUntil(1 * kSec);
  ASSERT_EQ(link.b().state(), State::kUp);

  link.a_to_b = false;  // a's packets stop reaching b
  const Micros last = link.a_last_delivered;
  const Micros down = link.runUntil(2 * kSec, [&] { return link.b().state() == State::kDown; });
  // b: diag 1 exactly one detection time (3 x 50 ms) after a's last packet.
  EXPECT_EQ(down, last + 150 * kMs);
  EXPECT_EQ(link.b().lastChange(), last + 150 * kMs);
  EXPECT_EQ(link.b().localDiag(), Diag::kControlDetectionTimeExpired);
  // a hears b's Down and follows with diag 3 (neighbor signaled down).
  link.runUntil(down + 60 * kMs);
  EXPECT_EQ(link.a().state(), State::kDown);
  EXPECT_EQ(link.a().localDiag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_FALSE(link.a().forwardingUsable());

  // The link heals: both come back Up within a couple of slow intervals.
  link.a_to_b = true;
  const Micros healed = link.now();
  const Micros up = link.runUntil(healed + 5 * kSec, [&] {
    return link.a().state() == State::kUp && link.b().state() == State::kUp;
  });
  EXPECT_LE(up, healed + 2 * kSec);
}

TEST(BfdLink, IntervalChangeConvergesWithoutAFlap) {
  Link link(config(50 * kMs, 50 * kMs, 3), config(50 * kMs, 50 * kMs, 3));
  link.runUntil(1 * kSec);
  ASSERT_EQ(link.a().state(), State::kUp);
  const uint64_t a_transitions = link.a().transitions();
  const uint64_t b_transitions = link.b().transitions();

  // a slows down to 300 ms TX and 300 ms RX.
  ASSERT_TRUE(link.a().setTimers(300 * kMs, 300 * kMs, 3, link.now()));
  link.runUntil(link.now() + 200 * kMs);
  EXPECT_FALSE(link.a().pollActive()) << "b answered the Poll";
  EXPECT_EQ(link.a().txInterval(), 300 * kMs);
  EXPECT_EQ(link.b().txInterval(), 300 * kMs) << "b honours a's RequiredMinRx";
  EXPECT_EQ(link.b().detectionTime(), 900 * kMs);
  link.runUntil(link.now() + 10 * kSec);

  // Then speeds up to 10 ms.
  ASSERT_TRUE(link.a().setTimers(10 * kMs, 10 * kMs, 3, link.now()));
  link.runUntil(link.now() + 10 * kSec);
  EXPECT_EQ(link.a().txInterval(), 50 * kMs) << "b still wants 50 ms RX";
  EXPECT_EQ(link.b().txInterval(), 50 * kMs);
  EXPECT_EQ(link.a().detectionTime(), 150 * kMs);

  EXPECT_EQ(link.a().transitions(), a_transitions) << "no flap";
  EXPECT_EQ(link.b().transitions(), b_transitions) << "no flap";
  EXPECT_EQ(link.a().state(), State::kUp);
  EXPECT_EQ(link.b().state(), State::kUp);
}

TEST(BfdLink, PeerAdminDownAndBackWithoutLosingForwarding) {
  Link link(config(), config());
  link.runUntil(1 * kSec);
  ASSERT_EQ(link.b().state(), State::kUp);
  link.a().setAdminDown(true, link.now());
  link.runUntil(link.now() + 3 * kSec);
  EXPECT_EQ(link.b().state(), State::kDown);
  EXPECT_EQ(link.b().localDiag(), Diag::kNeighborSignaledSessionDown);
  EXPECT_TRUE(link.b().forwardingUsable());
  EXPECT_FALSE(link.a().forwardingUsable());

  link.a().setAdminDown(false, link.now());
  link.runUntil(link.now() + 3 * kSec);
  EXPECT_EQ(link.a().state(), State::kUp);
  EXPECT_EQ(link.b().state(), State::kUp);
  EXPECT_TRUE(link.b().forwardingUsable());
}

}  // namespace
}  // namespace ferry::bfd
