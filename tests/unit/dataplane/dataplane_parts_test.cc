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

}  // namespace
}  // namespace ferry
