// The dataplane's pure and lock-free parts: user_data packing, the SPSC
// hand-off queue, and snapshot publication with deferred reclamation.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/forwarding.h"
#include "ferry/dataplane/published.h"
#include "ferry/dataplane/spsc_queue.h"
#include "ferry/dataplane/user_data.h"

namespace ferry {
namespace {

TEST(UserData, RoundTripsEveryOpAndEdgeValue) {
  for (Op op : {Op::kRecv, Op::kSend, Op::kWake, Op::kCancel, Op::kIcmpReply}) {
    for (uint16_t iface : {uint16_t(0), uint16_t(1), uint16_t(4095), uint16_t(0xffff)}) {
      for (uint16_t buf : {uint16_t(0), uint16_t(1), uint16_t(32767), uint16_t(0xffff)}) {
        const UserData ud{op, iface, buf};
        EXPECT_EQ(UserData::unpack(ud.pack()), ud);
      }
    }
  }
  EXPECT_EQ((UserData{Op::kSend, 2, 7}.pack()), 0x0200000200000007ull);
  // Distinct requests never share a user_data (async cancel matches on it).
  EXPECT_NE((UserData{Op::kRecv, 1, 0}.pack()), (UserData{Op::kRecv, 2, 0}.pack()));
  EXPECT_NE((UserData{Op::kRecv, 1, 0}.pack()), (UserData{Op::kCancel, 1, 0}.pack()));
}

TEST(Drop, EveryReasonHasADistinctSnakeCaseName) {
  std::set<std::string> names;
  for (size_t i = 0; i < kDropCount; ++i) {
    const std::string name = toString(static_cast<Drop>(i));
    EXPECT_NE(name, "unknown");
    for (char c : name) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), kDropCount);
}

TEST(SpscQueue, FifoAndBoundedInOneThread) {
  SpscQueue<uint32_t> q(4);
  uint32_t v;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.pop(v));
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(q.push(i));
  EXPECT_FALSE(q.push(99)) << "full: refused, not overwritten";
  for (uint32_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(q.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(q.pop(v));
  // Wrap-around many times.
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(q.push(i));
    ASSERT_TRUE(q.pop(v));
    ASSERT_EQ(v, i);
  }
}

TEST(SpscQueue, TwoThreadsDeliverEveryItemInOrder) {
  SpscQueue<uint64_t> q(256);
  constexpr uint64_t kItems = 300000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kItems;)
      if (q.push(i)) ++i;
  });
  uint64_t expected = 0, v;
  while (expected < kItems) {
    if (q.pop(v)) {
      ASSERT_EQ(v, expected);
      ++expected;
    }
  }
  producer.join();
  EXPECT_TRUE(q.empty());
}

TEST(BfdHandoff, CopiesFramesAndRefusesWhenFullOrTooLong) {
  BfdHandoff handoff(2, 16);
  uint8_t packet[24] = {0x20, 0x40, 3, 24};
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(handoff.push(1, 7, packet, sizeof(packet)));
  EXPECT_FALSE(handoff.push(1, 7, packet, sizeof(packet))) << "dataplane 1's queue is full";
  EXPECT_TRUE(handoff.push(0, 3, packet, sizeof(packet))) << "dataplane 0 has its own queue";
  uint8_t long_packet[65] = {};
  EXPECT_FALSE(handoff.push(0, 3, long_packet, sizeof(long_packet)));
  size_t from0 = 0, from1 = 0;
  const size_t n = handoff.drain([&](const BfdFrame& f) {
    EXPECT_EQ(f.length, 24);
    EXPECT_EQ(f.bytes[0], 0x20);
    ASSERT_TRUE(f.interface == 3 || f.interface == 7) << f.interface;
    (f.interface == 3 ? from0 : from1)++;  // dataplane 0 pushed interface 3, dataplane 1 interface 7
  });
  EXPECT_EQ(n, 17u);
  EXPECT_EQ(from0, 1u);
  EXPECT_EQ(from1, 16u);
}

TEST(BfdHandoff, WakesASleepingConsumerOnce) {
  BfdHandoff handoff(1, 16);
  uint8_t packet[24] = {0x20};
  ASSERT_TRUE(handoff.prepareToSleep());
  EXPECT_TRUE(handoff.push(0, 0, packet, 24));
  EXPECT_TRUE(handoff.push(0, 0, packet, 24));
  uint64_t value = 0;
  ASSERT_EQ(read(handoff.eventFd(), &value, sizeof(value)), ssize_t(sizeof(value)));
  EXPECT_EQ(value, 1u) << "one wake-up for two frames";
  handoff.awake();
  EXPECT_FALSE(handoff.prepareToSleep()) << "frames are queued: do not sleep";
}

// A snapshot that knows whether it is still alive.
struct Tracked {
  explicit Tracked(uint64_t v, std::atomic<int>& live) : value(v), live_(live) { ++live_; }
  ~Tracked() {
    value = 0xdead;
    --live_;
  }
  uint64_t value;
  std::atomic<int>& live_;
};

TEST(Published, ReadersNeverSeeAFreedSnapshot) {
  std::atomic<int> live{0};
  constexpr unsigned kReaders = 3;
  {
    Published<Tracked> pub(kReaders);
    pub.publish(std::make_unique<Tracked>(1, live));
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> reads{0};
    std::vector<std::thread> readers;
    for (unsigned r = 0; r < kReaders; ++r) {
      readers.emplace_back([&, r] {
        uint64_t last = 0;
        while (!stop) {
          const Tracked* s = pub.enter(r);
          const uint64_t v = s->value;
          ASSERT_NE(v, 0xdeadu);
          ASSERT_GE(v, last) << "versions never go backwards";
          last = v;
          for (int spin = 0; spin < 50; ++spin) ASSERT_EQ(s->value, v);
          pub.leave(r);
          reads.fetch_add(1, std::memory_order_relaxed);
        }
      });
    }
    // Publish until the readers have done plenty of reads alongside (bounded).
    uint64_t v = 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((v < 20000 || reads.load() < 50000) && std::chrono::steady_clock::now() < deadline)
      pub.publish(std::make_unique<Tracked>(++v, live));
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_GT(reads.load(), 0u);
    EXPECT_EQ(pub.reclaim(), 0u) << "with every reader outside, everything retired is freed";
    EXPECT_EQ(live.load(), 1) << "only the current snapshot is alive";
    EXPECT_EQ(pub.current()->value, v);
    EXPECT_GE(reads.load(), 50000u);
  }
  EXPECT_EQ(live.load(), 0);
}

TEST(Published, ReaderInsideHoldsBackReclamation) {
  std::atomic<int> live{0};
  Published<Tracked> pub(2);
  pub.publish(std::make_unique<Tracked>(1, live));
  const Tracked* held = pub.enter(0);
  pub.publish(std::make_unique<Tracked>(2, live));
  pub.publish(std::make_unique<Tracked>(3, live));
  EXPECT_EQ(pub.retiredCount(), 2u);
  EXPECT_EQ(held->value, 1u) << "still readable while reader 0 is inside";
  pub.leave(0);
  EXPECT_EQ(pub.reclaim(), 0u);
  EXPECT_EQ(live.load(), 1);
  // A reader that entered after a publish does not hold the older one.
  const Tracked* fresh = pub.enter(1);
  EXPECT_EQ(fresh->value, 3u);
  pub.publish(std::make_unique<Tracked>(4, live));
  EXPECT_EQ(pub.retiredCount(), 1u) << "3 is held by reader 1";
  pub.leave(1);
  EXPECT_EQ(pub.reclaim(), 0u);
}

// Reclaim::kLater (the BFD thread's liveness publishes): nothing is freed by
// that publish, even what no reader holds; the next reclaim() or kNow
// publish frees it.
TEST(Published, ALaterPublishLeavesTheFreeingToTheNextReclaim) {
  std::atomic<int> live{0};
  Published<Tracked> pub(1);
  pub.publish(std::make_unique<Tracked>(1, live));
  pub.publish(std::make_unique<Tracked>(2, live), Published<Tracked>::Reclaim::kLater);
  pub.publish(std::make_unique<Tracked>(3, live), Published<Tracked>::Reclaim::kLater);
  EXPECT_EQ(pub.retiredCount(), 2u);
  EXPECT_EQ(live.load(), 3);
  EXPECT_EQ(pub.reclaim(), 0u);
  EXPECT_EQ(live.load(), 1);
  pub.publish(std::make_unique<Tracked>(4, live), Published<Tracked>::Reclaim::kLater);
  pub.publish(std::make_unique<Tracked>(5, live));
  EXPECT_EQ(pub.retiredCount(), 0u);
  EXPECT_EQ(live.load(), 1);
  EXPECT_EQ(pub.current()->value, 5u);
}

TEST(ForwardingState, RelayTableFromConfig) {
  const auto result = parseConfig(R"(
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000" }
  - { name: b, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
  - { name: c, bind: "127.0.0.1:5002" }
relay: [ { from: a, to: b }, { from: c, to: a } ]
)",
                                  "f.yaml");
  ASSERT_TRUE(result.config);
  const auto state = ForwardingState::fromConfig(*result.config, 1);
  EXPECT_EQ(state.relay_to, (std::vector<uint16_t>{1, ForwardingState::kNoInterface, 0}));
  EXPECT_EQ(state.up, (std::vector<uint8_t>{1, 1, 1}));
  EXPECT_EQ(state.mode, Mode::kRelay);
}

// Per-route counters across a table swap: a kept prefix's total carries
// over exactly, including what dataplanes still count on the replaced
// table after the hand-over, before and after that table is freed; a new
// prefix starts at zero; a dropped one is gone.
TEST(RouteCounters, AKeptPrefixsCountCarriesOverExactly) {
  constexpr uint32_t kNone = UINT32_MAX;
  auto old_counters = std::make_shared<RouteCounters>(2, 3);
  old_counters->at(0, 0).add(5);
  old_counters->at(0, 2).add(7);
  old_counters->at(1, 2).add(3);
  EXPECT_EQ(old_counters->total(2), 10u);
  auto next = std::make_shared<RouteCounters>(2, 2);
  // next's route 0 is old route 2; route 1 is new; old routes 0 and 1 go.
  RouteCounters::carryOver(old_counters, next, {2, kNone});
  EXPECT_EQ(next->total(0), 10u);
  EXPECT_EQ(next->total(1), 0u);
  old_counters->at(1, 2).add(4);  // a dataplane still on the old table
  next->at(0, 0).add(1);
  next->at(1, 1).add(2);
  EXPECT_EQ(next->total(0), 15u);
  EXPECT_EQ(next->total(1), 2u);
  // A second hand-over of the same table is refused (it was replaced).
  auto other = std::make_shared<RouteCounters>(2, 1);
  RouteCounters::carryOver(old_counters, other, {2});
  EXPECT_EQ(other->total(0), 0u);
  // The old table freed: its late count stays with the prefix.
  old_counters.reset();
  EXPECT_EQ(next->total(0), 15u);
  EXPECT_EQ(next->total(1), 2u);
  next->at(0, 0).add(1);
  EXPECT_EQ(next->total(0), 16u);
}

// Three generations with the oldest still counting: the newest sees it
// through the middle one; each table freed oldest first keeps every total.
TEST(RouteCounters, ChainsOfLiveTablesAddUp) {
  auto a = std::make_shared<RouteCounters>(1, 2);
  auto b = std::make_shared<RouteCounters>(1, 2);
  auto c = std::make_shared<RouteCounters>(1, 1);
  a->at(0, 1).add(10);
  RouteCounters::carryOver(a, b, {1, 0});  // b swaps a's two routes
  b->at(0, 0).add(1);
  RouteCounters::carryOver(b, c, {0});  // c keeps b's route 0 (a's route 1)
  a->at(0, 1).add(100);                 // late on a
  b->at(0, 0).add(1000);                // late on b
  c->at(0, 0).add(10000);
  EXPECT_EQ(c->total(0), 11111u);
  EXPECT_EQ(b->total(0), 1111u);
  a.reset();
  EXPECT_EQ(c->total(0), 11111u);
  b.reset();
  EXPECT_EQ(c->total(0), 11111u);
  // Bad input carries nothing: a map of the wrong length, an index out of range.
  auto d = std::make_shared<RouteCounters>(1, 1);
  RouteCounters::carryOver(c, d, {0, 0});
  EXPECT_EQ(d->total(0), 0u);
  RouteCounters::carryOver(c, d, {7});
  EXPECT_EQ(d->total(0), 0u);
}

// Two dataplane threads count on the old table while the control thread
// hands over and reads: the total it reads never goes back and ends exact.
TEST(RouteCounters, TotalsNeverGoBackWhileDataplanesStillCountOnTheOldTable) {
  constexpr uint64_t kEach = 200'000;
  auto old_counters = std::make_shared<RouteCounters>(2, 1);
  auto next = std::make_shared<RouteCounters>(2, 1);
  std::atomic<bool> go{false};
  std::vector<std::thread> dataplanes;
  for (unsigned d = 0; d < 2; ++d)
    dataplanes.emplace_back([&, d, counters = old_counters] {
      while (!go.load()) std::this_thread::yield();
      for (uint64_t i = 0; i < kEach; ++i) counters->at(d, 0).add();
    });
  go = true;
  uint64_t last = 0;
  RouteCounters::carryOver(old_counters, next, {0});
  bool went_back = false;
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t t = next->total(0);
    went_back |= t < last;
    last = t;
  }
  for (auto& t : dataplanes) t.join();
  EXPECT_FALSE(went_back);
  EXPECT_EQ(next->total(0), 2 * kEach);
  old_counters.reset();  // the threads' copies went with them
  EXPECT_EQ(next->total(0), 2 * kEach);
}

}  // namespace
}  // namespace ferry
