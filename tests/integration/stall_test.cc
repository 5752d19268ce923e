// Stall detection with a really stuck dataplane: the test stops one
// dataplane thread of a running ferryd with ptrace (PTRACE_SEIZE +
// PTRACE_INTERRUPT stop that one thread, nothing else), sends traffic that
// the kernel spreads over both dataplanes' sockets, and checks that ferryd
// reports exactly that dataplane stalled, then forwards what waited once the
// thread runs again.

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

TEST(Stall, AStuckDataplaneIsReportedAndWhatWaitedIsForwardedAfterIt) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd("dataplanes: 2\ninterfaces:\n"
                "  - { name: a, bind: \"127.0.0.1:" + std::to_string(a_port) + "\" }\n"
                "  - { name: b, bind: \"127.0.0.1:" + std::to_string(b_port) + "\", peer: \"" +
                sink.local().toString() + "\" }\n"
                "relay: [ { from: a, to: b } ]\n");
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  // Idle is not stalled: nothing waits on the sockets.
  std::this_thread::sleep_for(2500ms);
  for (const auto& dp : ferryd.show("dataplanes")) EXPECT_FALSE(dp["stalled"].get<bool>()) << dp.dump();

  const pid_t tid = threadNamed(ferryd.process().pid(), "ferry-dp1");
  ASSERT_GT(tid, 0);
  constexpr uint32_t kSources = 16, kEach = 4;
  std::vector<std::unique_ptr<UdpSocket>> sources;
  for (uint32_t i = 0; i < kSources; ++i) sources.push_back(std::make_unique<UdpSocket>("127.0.0.1:0"));
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> payload;
  std::vector<int> seen(kSources * kEach, 0);
  auto drain = [&](int timeout_ms) {
    uint8_t buf[4096];
    while (true) {
      const ssize_t n = sink.recv(buf, sizeof(buf), timeout_ms);
      if (n < 0) return;
      const int64_t seq = checkPayload(buf, size_t(n));
      ASSERT_GE(seq, 0);
      ASSERT_LT(seq, int64_t(seen.size()));
      ++seen[size_t(seq)];
    }
  };
  auto received = [&] {
    uint64_t total = 0;
    for (int s : seen) total += s != 0;
    return total;
  };
  {
    ThreadStop stop(tid);
    ASSERT_TRUE(stop.stopped()) << "ptrace could not stop the dataplane thread";
    // 16 source ports: the kernel's reuseport hash puts some on each socket.
    uint32_t seq = 0;
    for (uint32_t round = 0; round < kEach; ++round)
      for (uint32_t s = 0; s < kSources; ++s, ++seq) {
        fillPayload(seq, payload);
        ASSERT_TRUE(sources[s]->sendTo(to, payload.data(), payload.size()));
      }
    ASSERT_TRUE(eventually([&] { return ferryd.show("dataplanes")[1]["stalled"].get<bool>(); }, 6s))
        << ferryd.show("dataplanes").dump(2);
    const auto dps = ferryd.show("dataplanes");
    EXPECT_FALSE(dps[0]["stalled"].get<bool>()) << dps.dump(2);
    EXPECT_EQ(dps[0]["stalls"], 0);
    EXPECT_EQ(dps[1]["stalls"], 1);
    drain(300);
    // Dataplane 0 forwarded its share; dataplane 1's share waits in its socket.
    EXPECT_EQ(received(), dps[0]["rx_packets"].get<uint64_t>());
    EXPECT_LT(received(), uint64_t(kSources * kEach)) << "nothing was hashed to dataplane 1";
    EXPECT_EQ(dps[1]["rx_packets"], 0);
    std::string table;
    ASSERT_EQ(sh(binary("FERRYCTL") + " --socket " + ferryd.socketPath() + " show dataplanes", &table), 0);
    EXPECT_NE(table.find("STALLED"), std::string::npos) << table;
  }
  // The thread runs again: what waited is forwarded, and the stall is over.
  ASSERT_TRUE(eventually([&] { return !ferryd.show("dataplanes")[1]["stalled"].get<bool>(); }, 3s));
  drain(1000);
  EXPECT_EQ(received(), uint64_t(kSources * kEach)) << "every datagram arrived";
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "datagram " << i;
  const auto stats = ferryd.show("stats");
  EXPECT_EQ(stats["totals"]["rx_packets"], kSources * kEach);
  EXPECT_EQ(stats["dataplanes"][1]["stalls"], 1);
  EXPECT_EQ(ferryd.terminate(), 0);
  const std::string log = ferryd.process().err();
  EXPECT_NE(log.find("dataplane 1 (CPU 1) stalled: no loop turn for "), std::string::npos) << log;
  EXPECT_NE(log.find("dataplane 1 (CPU 1) is making progress again"), std::string::npos) << log;
}

}  // namespace
}  // namespace ferry::test
