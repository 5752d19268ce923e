// Stall detection with a really stuck dataplane: the test stops one
// dataplane thread of a running ferryd with ptrace (PTRACE_SEIZE +
// PTRACE_INTERRUPT stop that one thread, nothing else), sends traffic that
// the steering spreads over both dataplanes' sockets, and checks that ferryd
// reports exactly that dataplane stalled, that the other dataplane then
// receives what waits on the stuck one's sockets (rescue) while it is still
// stuck, every datagram exactly once, and that the stuck dataplane takes its
// share back once it runs again.

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

TEST(Stall, AStuckDataplanesQueuedDatagramsAreRescuedWhileItIsStuck) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd(relayPairYaml(2, a_port, b_port, sink.local()));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  // Idle is not stalled: nothing waits on the sockets.
  std::this_thread::sleep_for(2500ms);
  for (const auto& dp : ferryd.show("dataplanes")) {
    EXPECT_FALSE(dp["stalled"].get<bool>()) << dp.dump();
    EXPECT_TRUE(dp["rescued_by"].is_null()) << dp.dump();
  }

  const pid_t tid = threadNamed(ferryd.process().pid(), "ferry-dp1");
  ASSERT_GT(tid, 0);
  constexpr uint32_t kSources = 16, kEach = 4, kRound = kSources * kEach;
  std::vector<std::unique_ptr<UdpSocket>> sources;
  for (uint32_t i = 0; i < kSources; ++i) sources.push_back(std::make_unique<UdpSocket>("127.0.0.1:0"));
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> payload;
  std::vector<int> seen(2 * kRound, 0);
  uint32_t seq = 0;
  // One round: kEach datagrams from each of the 16 source ports; the
  // steering hash puts some sources on each dataplane, the same ones every
  // round.
  auto round = [&] {
    for (uint32_t r = 0; r < kEach; ++r)
      for (uint32_t s = 0; s < kSources; ++s, ++seq) {
        fillPayload(seq, payload);
        ASSERT_TRUE(sources[s]->sendTo(to, payload.data(), payload.size()));
      }
  };
  auto received = [&] {
    uint64_t total = 0;
    for (int s : seen) total += s != 0;
    return total;
  };
  // Receives until `count` distinct datagrams have arrived or none came for
  // `timeout_ms`.
  auto drain = [&](uint64_t count, int timeout_ms) {
    uint8_t buf[4096];
    while (received() < count) {
      const ssize_t n = sink.recv(buf, sizeof(buf), timeout_ms);
      if (n < 0) return;
      const int64_t got = checkPayload(buf, size_t(n));
      ASSERT_GE(got, 0);
      ASSERT_LT(got, int64_t(seen.size()));
      ++seen[size_t(got)];
    }
  };
  auto rx = [](const nlohmann::json& dp, const char* key) { return dp[key].get<uint64_t>(); };
  uint64_t own_share = 0;  // what dataplane 0's own socket got of a round
  {
    ThreadStop stop(tid);
    ASSERT_TRUE(stop.stopped()) << "ptrace could not stop the dataplane thread";
    round();
    // Dataplane 0 forwards its share at once; dataplane 1's waits. A stall
    // is declared no sooner than 400 ms after the first sample that sees
    // the wait, so this look comes before any rescue.
    drain(kRound, 150);
    const auto early = ferryd.show("dataplanes");
    own_share = received();
    const bool before_rescue = early[0]["rx_rescued"] == 0;
    if (before_rescue) {
      EXPECT_EQ(rx(early[0], "rx_packets"), own_share) << early.dump(2);
    }
    EXPECT_LT(own_share, kRound) << "nothing was hashed to dataplane 1";
    EXPECT_EQ(rx(early[1], "rx_packets"), 0) << early.dump(2);

    ASSERT_TRUE(eventually([&] { return ferryd.show("dataplanes")[1]["stalled"].get<bool>(); }, 6s))
        << ferryd.show("dataplanes").dump(2);
    // Rescued while dataplane 1 is still stopped: everything arrives, once.
    drain(kRound, 2000);
    EXPECT_EQ(received(), kRound) << "dataplane 1's share was not rescued";
    const auto dps = ferryd.show("dataplanes");
    EXPECT_FALSE(dps[0]["stalled"].get<bool>()) << dps.dump(2);
    EXPECT_EQ(dps[0]["stalls"], 0);
    EXPECT_EQ(dps[1]["stalls"], 1);
    EXPECT_EQ(dps[1]["rescued_by"], 0) << dps.dump(2);
    EXPECT_TRUE(dps[0]["rescued_by"].is_null()) << dps.dump(2);
    EXPECT_EQ(rx(dps[1], "rx_packets"), 0) << "a stopped dataplane received";
    EXPECT_EQ(rx(dps[0], "rx_packets"), kRound) << dps.dump(2);
    if (before_rescue) {
      EXPECT_EQ(rx(dps[0], "rx_rescued"), kRound - own_share) << dps.dump(2);
    } else {
      ADD_FAILURE() << "the first look came after the rescue began (the test was too slow): "
                    << early.dump(2);
    }
    EXPECT_EQ(rx(dps[0], "tx_packets"), kRound) << dps.dump(2);
    std::string table;
    ASSERT_EQ(sh(binary("FERRYCTL") + " --socket " + ferryd.socketPath() + " show dataplanes", &table), 0);
    EXPECT_NE(table.find("STALLED"), std::string::npos) << table;
    EXPECT_NE(table.find("rescued by 0"), std::string::npos) << table;
  }
  // The thread runs again: the stall and the rescue end, and its share is
  // its own again.
  ASSERT_TRUE(eventually(
      [&] {
        const auto dps = ferryd.show("dataplanes");
        return !dps[1]["stalled"].get<bool>() && dps[1]["rescued_by"].is_null() &&
               !dps[1]["steered_away"].get<bool>();
      },
      3s))
      << ferryd.show("dataplanes").dump(2);
  round();
  drain(2 * kRound, 1000);
  EXPECT_EQ(received(), 2 * kRound) << "every datagram arrived";
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "datagram " << i;
  const auto stats = ferryd.show("stats");
  EXPECT_EQ(stats["totals"]["rx_packets"], 2 * kRound);
  EXPECT_EQ(stats["totals"]["tx_packets"], 2 * kRound);
  EXPECT_EQ(stats["totals"]["dropped"], 0);
  EXPECT_EQ(stats["interfaces"][0]["rx_rescued"], kRound - own_share);
  EXPECT_EQ(stats["dataplanes"][1]["rx_packets"], kRound - own_share) << "its share came back";
  EXPECT_EQ(stats["dataplanes"][1]["rx_rescued"], 0);
  EXPECT_EQ(stats["dataplanes"][1]["stalls"], 1);
  EXPECT_EQ(ferryd.terminate(), 0);
  const std::string log = ferryd.process().err();
  EXPECT_NE(log.find("dataplane 1 (CPU 1) stalled: no loop turn for "), std::string::npos) << log;
  EXPECT_NE(log.find("dataplane 1 (CPU 1): dataplane 0 receives what waits on its sockets"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("dataplane 1 (CPU 1) is making progress again"), std::string::npos) << log;
  EXPECT_NE(log.find("dataplane 1 (CPU 1): dataplane 0 no longer receives on its sockets"),
            std::string::npos)
      << log;
}

// A dataplane that never runs again (here: held stopped by ptrace until the
// process is gone) cannot keep ferryd from stopping: every dataplane thread
// has until 5 s after the stop, then ferryd exits 1 without the stuck one,
// naming it.
// Before, the stop joined the thread and only SIGKILL ended the process.
// Traffic is rescued from the stuck dataplane's sockets until the stop.
TEST(Stall, AStopGivesUpOnADataplaneThatNeverRunsAgain) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd(relayPairYaml(2, a_port, b_port, sink.local()));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  const std::string cpu = std::to_string(ferryd.show("dataplanes")[1]["cpu"].get<int>());
  const pid_t tid = threadNamed(ferryd.process().pid(), "ferry-dp1");
  ASSERT_GT(tid, 0);
  ThreadStop stop(tid);
  ASSERT_TRUE(stop.stopped()) << "ptrace could not stop the dataplane thread";

  // 16 source ports: some land on the stuck dataplane's socket and are
  // rescued; every one arrives.
  constexpr uint32_t kSources = 16;
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> payload;
  for (uint32_t seq = 0; seq < kSources; ++seq) {
    UdpSocket source("127.0.0.1:0");
    fillPayload(seq, payload);
    ASSERT_TRUE(source.sendTo(to, payload.data(), payload.size()));
  }
  std::vector<int> seen(kSources, 0);
  uint8_t buf[4096];
  for (uint32_t i = 0; i < kSources; ++i) {
    const ssize_t n = sink.recv(buf, sizeof(buf), 3000);
    ASSERT_GT(n, 0) << "datagram " << i << " of " << kSources << " did not arrive";
    const int64_t got = checkPayload(buf, size_t(n));
    ASSERT_GE(got, 0);
    ASSERT_LT(got, int64_t(kSources));
    ++seen[size_t(got)];
  }
  for (uint32_t i = 0; i < kSources; ++i) EXPECT_EQ(seen[i], 1) << "datagram " << i;
  const auto stats = ferryd.show("stats");
  EXPECT_EQ(stats["dataplanes"][1]["rx_packets"], 0);
  EXPECT_GT(stats["dataplanes"][0]["rx_rescued"].get<uint64_t>(), 0u)
      << "the steering put none of 16 sources on dataplane 1: " << stats.dump();

  const auto asked = std::chrono::steady_clock::now();
  ferryd.process().signal(SIGTERM);
  // The process exits while the thread is still held; the test, its tracer,
  // reaps the thread, and then the process's exit is reported.
  ASSERT_TRUE(stop.waitEnded(15s)) << "ferryd did not exit within 15 s of SIGTERM";
  const auto status = ferryd.process().wait(5s);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1) << "a stop that left a thread behind is a failure";
  EXPECT_GE(waited, 5.0) << "the stop gave the thread its 5 s";
  const std::string log = ferryd.process().err();
  EXPECT_NE(log.find("ferryd[error]: dataplane 1 (CPU " + cpu +
                     ") did not end within 5 s of the stop (its thread is stopped, stuck in the "
                     "kernel or spinning); exiting without it"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("did not end"), log.rfind("did not end")) << "only dataplane 1: " << log;
  EXPECT_EQ(log.find("ferryd[info]: stopped"), std::string::npos) << log;
  EXPECT_NE(ferryd.process().out().find("final counters:"), std::string::npos)
      << ferryd.process().out();
}

}  // namespace
}  // namespace ferry::test
