// Steering over the SO_REUSEPORT group: with the kernel's 4-tuple hash one
// underlay flow lands on one dataplane; `inner-flow` spreads it by the inner
// IP flow; `cpu` keeps a packet on the dataplane of the CPU that received it.
#include <poll.h>
#include <sched.h>

#include "cbpf.h"
#include "ferry/net/socket.h"
#include "ferry/net/steering.h"
#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

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

// The kernel runs the programs as the unit tests' interpreter does: a
// reuseport group of 4 sockets, the 4-tuple program with dataplane 1 away,
// 64 source ports over IPv4 and IPv6; each datagram must reach the socket
// the interpreter picks for the same IP and UDP headers.
TEST(Steering, TheKernelAgreesWithTheInterpreter) {
  for (const std::string host : {"127.0.0.1", "::1"}) {
    const bool v6 = host == "::1";
    const std::string bracketed = v6 ? "[::1]" : host;
    const uint16_t port = freeUdpPort(host);
    const auto bind = *SockAddr::parse(bracketed + ":" + std::to_string(port));
    std::vector<Fd> group;
    for (int i = 0; i < 4; ++i) {
      auto opened = openUdpSocket(bind, UdpSocketOptions{});
      ASSERT_TRUE(opened) << opened.error();
      group.push_back(std::move(opened).take());
    }
    const std::vector<bool> away = {false, true, false, false};
    const auto program = steeringProgram(Steering::kKernel, 4, {0, 1, 2, 3}, away);
    const Status attached = attachSteering(group[0].get(), program);
    ASSERT_TRUE(attached) << attached.error();
    std::vector<int> per_socket(4, 0);
    for (uint16_t i = 0; i < 64; ++i) {
      UdpSocket from(bracketed + ":0");
      const uint16_t sport = from.local().port();
      ASSERT_TRUE(from.sendTo(bind, "x", 1));
      // The headers the kernel's program sees.
      CbpfPacket p;
      const size_t ip = v6 ? 40 : 20;
      p.bytes.assign(ip + 8, 0);
      if (v6) {
        p.bytes[0] = 0x60;
        p.bytes[6] = 17;
        p.bytes[23] = 1;  // source ::1
        p.bytes[39] = 1;  // destination ::1
      } else {
        p.bytes[0] = 0x45;
        p.bytes[9] = 17;
        p.bytes[12] = p.bytes[16] = 127;
        p.bytes[15] = p.bytes[19] = 1;
      }
      p.bytes[ip] = uint8_t(sport >> 8);
      p.bytes[ip + 1] = uint8_t(sport);
      p.bytes[ip + 2] = uint8_t(port >> 8);
      p.bytes[ip + 3] = uint8_t(port);
      p.payload_at = p.bytes.size();
      p.bytes.push_back('x');
      const auto expected = runCbpf(program, p);
      ASSERT_EQ(expected.error, "");
      EXPECT_NE(expected.value, 1u);
      std::vector<pollfd> fds;
      for (const auto& fd : group) fds.push_back({fd.get(), POLLIN, 0});
      ASSERT_EQ(poll(fds.data(), fds.size(), 1000), 1) << host << " source port " << sport;
      for (size_t s = 0; s < fds.size(); ++s) {
        if (!(fds[s].revents & POLLIN)) continue;
        EXPECT_EQ(s, expected.value) << host << " source port " << sport;
        ++per_socket[s];
        char buf[8];
        ASSERT_EQ(recv(fds[s].fd, buf, sizeof(buf), 0), 1);
      }
    }
    // 64 flows: each healthy socket gets some, the away one none.
    EXPECT_EQ(per_socket[1], 0) << host;
    for (int s : {0, 2, 3}) EXPECT_GE(per_socket[size_t(s)], 8) << host << " socket " << s;
  }
}

}  // namespace
}  // namespace ferry::test
