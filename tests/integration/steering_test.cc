// Steering over the SO_REUSEPORT group: with the kernel's 4-tuple hash one
// underlay flow lands on one dataplane; `inner-flow` spreads it by the inner
// IP flow; `cpu` keeps a packet on the dataplane of the CPU that received it.
#include <sched.h>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

std::vector<uint64_t> perDataplaneRx(const Ferryd& f) {
  std::vector<uint64_t> rx;
  const auto stats = f.show("stats");
  for (const auto& dp : stats["dataplanes"]) rx.push_back(dp["rx_packets"].get<uint64_t>());
  return rx;
}

// Sends `count` inner packets over 64 inner flows, all from one UDP socket
// (one underlay 4-tuple), paced by the sink; returns how many arrived.
uint64_t oneUnderlayFlow(const SockAddr& to, const UdpSocket& from, const UdpSocket& sink,
                         uint32_t count) {
  uint64_t got = 0;
  std::vector<uint8_t> buf(2048);
  for (uint32_t i = 0; i < count; ++i) {
    const auto p = innerPacket(uint16_t(1000 + i % 64), i, {10, 2, 0, 1});
    from.sendTo(to, p.data(), p.size());
    if (i % 32 == 31)
      while (got < i + 1 && sink.recv(buf.data(), buf.size(), 200) > 0) ++got;
  }
  while (got < count && sink.recv(buf.data(), buf.size(), 300) > 0) ++got;
  return got;
}

std::string routeConfig(const std::string& steering, uint16_t in, uint16_t out, const SockAddr& sink) {
  return "dataplanes: 2\nmode: route\nsteering: " + steering +
         "\ninterfaces:\n"
         "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
         "  - { name: out, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" +
         sink.toString() + "\" }\n"
         "routes: [ { prefix: \"0.0.0.0/0\", via: [out] } ]\n";
}

TEST(Steering, KernelHashPutsOneUnderlayFlowOnOneDataplane) {
  UdpSocket sink("127.0.0.1:0"), from("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(routeConfig("kernel", in, out, sink.local()));
  ASSERT_TRUE(f.started()) << f.process().err();
  EXPECT_EQ(oneUnderlayFlow(*SockAddr::parse("127.0.0.1:" + std::to_string(in)), from, sink, 3200), 3200u);
  const auto rx = perDataplaneRx(f);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0] + rx[1], 3200u);
  EXPECT_TRUE(rx[0] == 0 || rx[1] == 0) << rx[0] << " / " << rx[1];
  EXPECT_EQ(f.terminate(), 0);
}

TEST(Steering, InnerFlowSpreadsOneUnderlayFlowOverDataplanes) {
  UdpSocket sink("127.0.0.1:0"), from("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(routeConfig("inner-flow", in, out, sink.local()));
  ASSERT_TRUE(f.started()) << f.process().err();
  EXPECT_EQ(oneUnderlayFlow(*SockAddr::parse("127.0.0.1:" + std::to_string(in)), from, sink, 3200), 3200u);
  const auto rx = perDataplaneRx(f);
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0] + rx[1], 3200u);
  // 64 inner flows of 50 packets each: each dataplane gets whole flows.
  EXPECT_EQ(rx[0] % 50, 0u) << "an inner flow was split across dataplanes";
  EXPECT_GE(rx[0], 3200u * 20 / 100) << rx[0] << " / " << rx[1];
  EXPECT_GE(rx[1], 3200u * 20 / 100) << rx[0] << " / " << rx[1];
  EXPECT_EQ(f.terminate(), 0);
}

TEST(Steering, CpuKeepsPacketsOnTheReceivingCpusDataplane) {
  if (allowedCpuCount() < 2) GTEST_SKIP() << "needs 2 CPUs";
  UdpSocket sink("127.0.0.1:0"), from("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(routeConfig("cpu", in, out, sink.local()));
  ASSERT_TRUE(f.started()) << f.process().err();
  const auto dps = f.show("dataplanes");
  // On loopback the sending CPU also receives (softirq): pin the sender.
  for (int round = 0; round < 2; ++round) {
    const int cpu = dps[size_t(round)]["cpu"].get<int>();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
    const auto before = perDataplaneRx(f);
    EXPECT_EQ(oneUnderlayFlow(*SockAddr::parse("127.0.0.1:" + std::to_string(in)), from, sink, 640), 640u);
    const auto after = perDataplaneRx(f);
    EXPECT_EQ(after[size_t(round)] - before[size_t(round)], 640u) << "sent from CPU " << cpu;
  }
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c = 0; c < CPU_SETSIZE; ++c) CPU_SET(c, &all);
  sched_setaffinity(0, sizeof(all), &all);
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
