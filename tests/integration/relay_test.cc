// ferryd in relay mode on loopback: real sockets, real io_uring, the real
// binary. Counts are asserted exactly: the sender is paced by the sink so
// nothing can overflow, and every payload is checked byte for byte.
#include <signal.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>

#include "ferry/net/socket.h"
#include "ferry/process/netns.h"
#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

// A relay a → b on 127.0.0.1: `a_peer` (if any) is the only accepted source on
// a; b sends to `b_peer`. `extra` is more top-level YAML.
std::string relayConfig(int dataplanes, uint16_t a_port, uint16_t b_port, const std::string& b_peer,
                        const std::string& extra = "", const std::string& a_peer = "") {
  return "dataplanes: " + std::to_string(dataplanes) + "\n" + extra +
         "interfaces:\n"
         "  - { name: a, bind: \"127.0.0.1:" + std::to_string(a_port) + "\"" +
         (a_peer.empty() ? "" : ", peer: \"" + a_peer + "\"") + " }\n"
         "  - { name: b, bind: \"127.0.0.1:" + std::to_string(b_port) + "\", peer: \"" + b_peer +
         "\" }\n"
         "relay: [ { from: a, to: b } ]\n";
}

struct Loop {
  std::string host;  // "127.0.0.1" or "::1"
  std::string endpoint(uint16_t port) const {
    return host.find(':') != std::string::npos ? "[" + host + "]:" + std::to_string(port)
                                                : host + ":" + std::to_string(port);
  }
};

// 20,000 datagrams of 8..1400 bytes from 64 source ports through a relay
// A → B with 2 dataplanes: every one arrives once, intact, and the daemon's
// counters add up across dataplanes and interfaces.
void relayExactly(const Loop& loop) {
  const uint16_t a_port = freeUdpPort(loop.host), b_port = freeUdpPort(loop.host);
  UdpSocket sink(loop.endpoint(0));
  Ferryd ferryd("dataplanes: 2\n"
                "interfaces:\n"
                "  - { name: a, bind: \"" + loop.endpoint(a_port) + "\" }\n"
                "  - { name: b, bind: \"" + loop.endpoint(b_port) + "\", peer: \"" +
                sink.local().toString() + "\" }\n"
                "relay: [ { from: a, to: b } ]\n");
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();

  std::vector<std::unique_ptr<UdpSocket>> owned;
  std::vector<UdpSocket*> sources;
  for (int i = 0; i < 64; ++i) {
    owned.push_back(std::make_unique<UdpSocket>(loop.endpoint(0)));
    sources.push_back(owned.back().get());
  }
  constexpr uint32_t kCount = 20000;
  const auto r = pacedTransfer(sources, *SockAddr::parse(loop.endpoint(a_port)), sink, kCount);
  EXPECT_EQ(r.sent, kCount);
  EXPECT_EQ(r.received, kCount);
  EXPECT_EQ(r.corrupt, 0u);
  EXPECT_EQ(r.duplicates, 0u);
  uint64_t missing = 0;
  for (auto times : r.seen) missing += times == 0;
  EXPECT_EQ(missing, 0u);

  const auto stats = ferryd.show("stats");
  ASSERT_EQ(stats["dataplanes"].size(), 2u);
  uint64_t rx = 0, tx = 0;
  for (const auto& dp : stats["dataplanes"]) {
    EXPECT_GT(dp["rx_packets"].get<uint64_t>(), 0u) << "64 source ports must reach both dataplanes";
    EXPECT_EQ(dp["dropped"].get<uint64_t>(), 0u);
    rx += dp["rx_packets"].get<uint64_t>();
    tx += dp["tx_packets"].get<uint64_t>();
  }
  EXPECT_EQ(rx, kCount);
  EXPECT_EQ(tx, kCount);
  ASSERT_EQ(stats["interfaces"].size(), 2u);
  EXPECT_EQ(stats["interfaces"][0]["name"], "a");
  EXPECT_EQ(stats["interfaces"][0]["rx_packets"].get<uint64_t>(), kCount);
  EXPECT_EQ(stats["interfaces"][0]["tx_packets"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["interfaces"][1]["rx_packets"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"].get<uint64_t>(), kCount);
  uint64_t bytes = 0;
  for (uint32_t s = 0; s < kCount; ++s) bytes += payloadSize(s);
  EXPECT_EQ(stats["interfaces"][0]["rx_bytes"].get<uint64_t>(), bytes);
  EXPECT_EQ(stats["interfaces"][1]["tx_bytes"].get<uint64_t>(), bytes);
  EXPECT_EQ(stats["totals"]["rx_packets"].get<uint64_t>(), kCount);
  EXPECT_EQ(stats["totals"]["dropped"].get<uint64_t>(), 0u);
  EXPECT_EQ(ferryd.terminate(), 0) << ferryd.process().err();
}

TEST(Relay, Ipv4ExactDeliveryOverTwoDataplanes) { relayExactly({"127.0.0.1"}); }
TEST(Relay, Ipv6ExactDeliveryOverTwoDataplanes) { relayExactly({"::1"}); }

// An interface with a peer accepts datagrams only from that peer.
TEST(Relay, DatagramsFromAnotherSourceAreCountedDrops) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket peer("127.0.0.1:0"), stranger("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(1, a_port, b_port, sink.local().toString(), "", peer.local().toString()));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  const auto a = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<UdpSocket*> strangers{&stranger};
  const auto bad = pacedTransfer(strangers, a, sink, 100, 256, 300);
  EXPECT_EQ(bad.received, 0u);
  std::vector<UdpSocket*> peers{&peer};
  const auto good = pacedTransfer(peers, a, sink, 50, 256, 300);
  EXPECT_EQ(good.received, 50u);
  const auto stats = ferryd.show("stats");
  const auto& in = stats["interfaces"][0];
  EXPECT_EQ(in["rx_packets"].get<uint64_t>(), 150u);
  EXPECT_EQ(in["drops"]["bad_source"].get<uint64_t>(), 100u);
  EXPECT_EQ(in["dropped"].get<uint64_t>(), 100u);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"].get<uint64_t>(), 50u);
  EXPECT_EQ(ferryd.terminate(), 0);
}

// Datagrams larger than tuning.max_datagram are counted, not forwarded cut,
// and their bytes are counted whole. With GRO a 64 KiB buffer holds them and
// the decision drops them; without, the kernel cuts them at the buffer's end.
void oversizedDatagramsAreCountedAsTruncated(const std::string& tuning) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket source("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(1, a_port, b_port, sink.local().toString(), "tuning: " + tuning + "\n"));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  const auto a = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> big(513, 0xab), fits(512, 0xcd), huge(9000, 0xef);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(source.sendTo(a, big.data(), big.size()));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(source.sendTo(a, huge.data(), huge.size()));
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(source.sendTo(a, fits.data(), fits.size()));
  std::vector<uint8_t> buf(65536);
  int got = 0;
  while (sink.recv(buf.data(), buf.size(), 500) == 512) ++got;
  EXPECT_EQ(got, 7);
  const auto stats = ferryd.show("stats");
  EXPECT_EQ(stats["interfaces"][0]["rx_packets"].get<uint64_t>(), 22u);
  EXPECT_EQ(stats["interfaces"][0]["drops"]["truncated"].get<uint64_t>(), 15u);
  EXPECT_EQ(stats["interfaces"][0]["rx_bytes"].get<uint64_t>(), 10u * 513 + 5u * 9000 + 7u * 512);
  EXPECT_EQ(stats["interfaces"][0]["dropped"].get<uint64_t>(), 15u);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"].get<uint64_t>(), 7u);
  EXPECT_EQ(stats["interfaces"][1]["tx_bytes"].get<uint64_t>(), 7u * 512);
  EXPECT_EQ(ferryd.terminate(), 0);
}

TEST(Relay, OversizedDatagramsAreCountedAsTruncated) {
  oversizedDatagramsAreCountedAsTruncated("{ max_datagram: 512 }");
}
TEST(Relay, OversizedDatagramsCutByTheKernelAreCountedWhole) {
  oversizedDatagramsAreCountedAsTruncated("{ max_datagram: 512, gro: false }");
}

// The largest buffer and ring settings the config accepts start and forward
// (they ask for more completion entries than the kernel's maximum, 65536).
void largestSettingsForward(const std::string& tuning) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket source("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(1, a_port, b_port, sink.local().toString(), "tuning: " + tuning + "\n"));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  std::vector<UdpSocket*> sources{&source};
  const auto r = pacedTransfer(sources, *SockAddr::parse("127.0.0.1:" + std::to_string(a_port)), sink, 500);
  EXPECT_EQ(r.received, 500u);
  EXPECT_EQ(r.corrupt, 0u);
  const auto stats = ferryd.show("stats");
  EXPECT_EQ(stats["interfaces"][0]["rx_packets"].get<uint64_t>(), 500u);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"].get<uint64_t>(), 500u);
  EXPECT_EQ(stats["totals"]["dropped"].get<uint64_t>(), 0u);
  EXPECT_EQ(ferryd.terminate(), 0) << ferryd.process().err();
}

TEST(Relay, LargestBufferAndRingSettingsForward) {
  largestSettingsForward("{ gro: false, buffers: 32768, ring_entries: 32768 }");
  largestSettingsForward("{ gro_buffers: 512, ring_entries: 32768 }");
}

// SIGTERM under traffic: exit 0, final counters printed after every thread
// joined, and every socket closed (the ports can be bound again).
TEST(Relay, SigtermUnderTrafficExitsCleanly) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(2, a_port, b_port, sink.local().toString()));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> sent{0};
  std::thread sender([&] {
    std::vector<std::unique_ptr<UdpSocket>> sources;
    for (int i = 0; i < 8; ++i) sources.push_back(std::make_unique<UdpSocket>("127.0.0.1:0"));
    const auto a = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
    std::vector<uint8_t> payload(200, 1);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (uint64_t i = 0; !stop && std::chrono::steady_clock::now() < deadline && i < 2'000'000; ++i)
      if (sources[i % 8]->sendTo(a, payload.data(), payload.size())) ++sent;
  });
  ASSERT_TRUE(eventually([&] { return sent.load() > 20000; }, 5s));
  const int status = ferryd.terminate();
  stop = true;
  sender.join();
  EXPECT_EQ(status, 0) << ferryd.process().err();
  EXPECT_NE(ferryd.process().out().find("final counters:"), std::string::npos);
  EXPECT_NE(ferryd.process().err().find("stopped"), std::string::npos);
  // Nothing holds the interface addresses any more.
  for (const int port : {a_port, b_port}) {
    const Status free = addressIsFree(*SockAddr::parse("127.0.0.1:" + std::to_string(port)));
    EXPECT_TRUE(free) << free.error();
  }
  EXPECT_FALSE(std::filesystem::exists(ferryd.socketPath())) << "control socket left behind";
}

TEST(Relay, PortInUseFailsStartupNamingTheCause) {
  UdpSocket holder("127.0.0.1:0");
  const std::string taken = holder.local().toString();
  TempDir dir;
  const std::string config = dir.write("f.yaml",
      "control_socket: " + dir.path() + "/s.sock\n"
      "interfaces:\n"
      "  - { name: a, bind: \"" + taken + "\" }\n"
      "  - { name: b, bind: \"127.0.0.1:" + std::to_string(freeUdpPort()) + "\", peer: \"127.0.0.1:9\" }\n"
      "relay: [ { from: a, to: b } ]\n");
  auto p = Process::start({binary("FERRYD"), "run", "--config", config});
  EXPECT_EQ(p.wait(10s), 1);
  EXPECT_NE(p.err().find("interface 'a': " + taken + " is already in use by another socket"),
            std::string::npos)
      << p.err();
}

TEST(Relay, ControlSocketIsMode0660) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  Ferryd ferryd(relayConfig(1, a_port, b_port, "127.0.0.1:9"));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  struct stat st{};
  ASSERT_EQ(stat(ferryd.socketPath().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const auto ifaces = ferryd.show("interfaces");
  ASSERT_EQ(ifaces.size(), 2u);
  EXPECT_EQ(ifaces[0]["relay_to"], "b");
  EXPECT_EQ(ifaces[1]["peer"], "127.0.0.1:9");
  EXPECT_EQ(ifaces[0]["sockets"], 1);
  EXPECT_EQ(ferryd.terminate(), 0);
}

TEST(Relay, BadConfigRefusedBeforeAnySocket) {
  TempDir dir;
  const uint16_t port = freeUdpPort();
  const std::string config = dir.write("bad.yaml",
      "interfaces:\n"
      "  - { name: a, bind: \"127.0.0.1:" + std::to_string(port) + "\" }\n"
      "  - { name: b, bind: \"127.0.0.1:0\", peer: \"127.0.0.1:9\" }\n"
      "relay: [ { from: a, to: b } ]\n");
  auto p = Process::start({binary("FERRYD"), "run", "--config", config});
  EXPECT_EQ(p.wait(10s), 1);
  EXPECT_NE(p.err().find(config + ":3:22: interfaces[1].bind: port 0 is out of range 1..65535"),
            std::string::npos)
      << p.err();
  EXPECT_EQ(p.err().find("dataplanes started"), std::string::npos);
}

// The metrics endpoint serves the same counters as ferryctl, over HTTP.
std::string httpGet(uint16_t port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), 0), ssize_t(req.size()));
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) reply.append(buf, size_t(n));
  ::close(fd);
  return reply;
}

TEST(Relay, MetricsEndpointServesTheCounters) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  const uint16_t metrics_port = freeUdpPort();  // free for UDP; TCP very likely too
  UdpSocket source("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(1, a_port, b_port, sink.local().toString(),
                            "metrics: { listen: \"127.0.0.1:" + std::to_string(metrics_port) + "\" }\n"));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  std::vector<UdpSocket*> sources{&source};
  const auto r = pacedTransfer(sources, *SockAddr::parse("127.0.0.1:" + std::to_string(a_port)), sink, 321, 256, 300);
  EXPECT_EQ(r.received, 321u);
  const std::string reply = httpGet(metrics_port, "/metrics");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("\nferry_rx_packets_total{interface=\"a\"} 321\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\nferry_tx_packets_total{interface=\"b\"} 321\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\nferry_drops_total{interface=\"a\",reason=\"no_route\"} 0\n"), std::string::npos);
  EXPECT_EQ(httpGet(metrics_port, "/").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(ferryd.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test

namespace ferry::test {
namespace {

// Receive-queue overflow is counted: with ferryd stopped (SIGSTOP) and a tiny
// socket buffer, the kernel drops what does not fit, and rx_packets +
// rx_queue_overflow account for every datagram sent.
TEST(Relay, ReceiveQueueOverflowIsCounted) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket source("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd ferryd(relayConfig(1, a_port, b_port, sink.local().toString(),
                            "tuning: { socket_buffer: 4096 }\n"));
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  ASSERT_TRUE(stopEveryThread(ferryd));
  const auto a = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> payload(200, 0xa5);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(source.sendTo(a, payload.data(), payload.size()));
  ferryd.process().signal(SIGCONT);
  std::vector<uint8_t> buf(2048);
  uint64_t got = 0;
  while (sink.recv(buf.data(), buf.size(), 500) > 0) ++got;
  const auto in = ferryd.show("stats")["interfaces"][0];
  const uint64_t rx = in["rx_packets"], overflow = in["rx_queue_overflow"];
  EXPECT_GT(overflow, 500u) << "a 4 KiB buffer cannot hold 1000 datagrams";
  EXPECT_EQ(rx + overflow, 1000u);
  EXPECT_EQ(got, rx);
  EXPECT_EQ(ferryd.terminate(), 0);
}

// Each sequence-numbered datagram of `count` (1000 bytes: the number, then
// its low byte repeated) sent from `source` to `to`, in tens 10 ms apart:
// slow enough that a 256 KiB ingress buffer (about 220 of them) bridges a
// dataplane descheduled for 200 ms on a loaded machine.
void sendNumbered(UdpSocket& source, const SockAddr& to, uint32_t count) {
  std::vector<uint8_t> payload(1000);
  for (uint32_t seq = 0; seq < count; ++seq) {
    std::memcpy(payload.data(), &seq, sizeof seq);
    std::fill(payload.begin() + sizeof seq, payload.end(), uint8_t(seq));
    ASSERT_TRUE(source.sendTo(to, payload.data(), payload.size()));
    if (seq % 10 == 9) std::this_thread::sleep_for(10ms);
  }
}

// What `sink` receives of sendNumbered()'s datagrams until it stays quiet
// for `quiet_ms`: how many, how many intact, and whether they came in
// increasing order, each at most once.
struct Numbered {
  uint32_t got = 0, intact = 0;
  bool in_order = true;
};
Numbered receiveNumbered(UdpSocket& sink, uint32_t count, int quiet_ms) {
  Numbered r;
  std::vector<uint8_t> buf(2048);
  int64_t last = -1;
  while (true) {
    const ssize_t n = sink.recv(buf.data(), buf.size(), quiet_ms);
    if (n <= 0) break;
    ++r.got;
    uint32_t seq = 0;
    std::memcpy(&seq, buf.data(), sizeof seq);
    if (n == 1000 && seq < count && buf[999] == uint8_t(seq)) ++r.intact;
    if (int64_t(seq) <= last) r.in_order = false;
    last = seq;
  }
  return r;
}

// A congested egress drops at its queue, as a router's output queue does,
// and holds up nothing else. The link `slow` takes nothing for a while (a
// token bucket of 1 byte/s holds what is sent), so its socket's send buffer
// fills; the sends beyond it fail at once (MSG_DONTWAIT) and are counted as
// egress_full, exactly: everything else that came in on `in1` left. Meanwhile
// `in2` → `fast` forwards every datagram, in order. (Before, the sends to
// `slow` waited for room holding their receive buffers, the buffer ring ran
// dry, and `fast` got nothing until `slow` drained.) When the link opens, what
// was queued on it arrives intact and in order.
TEST(Relay, CongestedEgressTailDropsAndHoldsUpNoOtherEgress) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  NetNs router("cong"), far("congfar");
  router.execOk(
      "ip link add c0 address 02:00:00:00:79:01 type veth peer name c1 address "
      "02:00:00:00:79:02 netns " +
      far.name() +
      " && ip addr add 10.79.0.1/24 dev c0 && ip link set c0 up && ip link set lo up"
      " && ip neigh replace 10.79.0.2 lladdr 02:00:00:00:79:02 dev c0 nud permanent"
      " && tc qdisc add dev c0 root tbf rate 8bit burst 1600 limit 16mb");
  far.execOk("ip addr add 10.79.0.2/24 dev c1 && ip link set c1 up");
  const uint16_t in1 = 41021, in2 = 41022, slow = 41023, fast = 41024, slow_sink = 41025,
                 fast_sink = 41026;
  // 256 KiB socket buffers: the send buffer of `slow` holds a few hundred
  // of the 1000 datagrams.
  Ferryd f(
      "dataplanes: 1\n"
      "tuning: { gro: false, gso: false, buffers: 64, socket_buffer: 262144 }\n"
      "interfaces:\n"
      "  - { name: in1, bind: \"127.0.0.1:" +
          std::to_string(in1) +
          "\" }\n"
          "  - { name: in2, bind: \"127.0.0.1:" +
          std::to_string(in2) +
          "\" }\n"
          "  - { name: slow, bind: \"10.79.0.1:" +
          std::to_string(slow) + "\", peer: \"10.79.0.2:" + std::to_string(slow_sink) +
          "\" }\n"
          "  - { name: fast, bind: \"127.0.0.1:" +
          std::to_string(fast) + "\", peer: \"127.0.0.1:" + std::to_string(fast_sink) +
          "\" }\n"
          "relay: [ { from: in1, to: slow }, { from: in2, to: fast } ]\n",
      router.name());
  ASSERT_TRUE(f.started()) << f.process().err();
  std::unique_ptr<UdpSocket> source, fast_rx, slow_rx;
  {
    process::NetnsScope here(router.name());
    source = std::make_unique<UdpSocket>("127.0.0.1:0");
    fast_rx = std::make_unique<UdpSocket>("127.0.0.1:" + std::to_string(fast_sink));
  }
  {
    process::NetnsScope there(far.name());
    slow_rx = std::make_unique<UdpSocket>("10.79.0.2:" + std::to_string(slow_sink));
  }
  constexpr uint32_t kSlow = 1000, kFast = 300;
  sendNumbered(*source, *SockAddr::parse("127.0.0.1:" + std::to_string(in1)), kSlow);
  auto iface = [&](int i) { return f.show("stats")["interfaces"][i]; };
  ASSERT_TRUE(eventually([&] { return iface(0)["rx_packets"].get<uint64_t>() == kSlow; }, 5s))
      << f.show("stats").dump(2);
  ASSERT_TRUE(eventually(
      [&] {
        const auto s = iface(2);
        return s["tx_packets"].get<uint64_t>() + s["drops"]["egress_full"].get<uint64_t>() == kSlow;
      },
      5s))
      << f.show("stats").dump(2);
  const auto held = iface(2);
  const uint64_t queued = held["tx_packets"], full = held["drops"]["egress_full"];
  EXPECT_GT(full, 0u) << "the send buffer never filled: the test did not test it";
  EXPECT_GT(queued, 1u);

  sendNumbered(*source, *SockAddr::parse("127.0.0.1:" + std::to_string(in2)), kFast);
  const Numbered to_fast = receiveNumbered(*fast_rx, kFast, 1000);
  EXPECT_EQ(to_fast.got, kFast) << "the congested egress held up another one";
  EXPECT_EQ(to_fast.intact, kFast);
  EXPECT_TRUE(to_fast.in_order);

  // The new rate alone does not restart the queue: its timer still waits
  // for the old rate's tokens. One more packet through it (a ping) does.
  router.execOk(
      "tc qdisc change dev c0 root tbf rate 100mbit burst 64kb limit 16mb && "
      "ping -c 1 -W 2 10.79.0.2 >/dev/null");
  const Numbered to_slow = receiveNumbered(*slow_rx, kSlow, 2000);
  EXPECT_EQ(to_slow.got, queued) << "every datagram counted as sent arrives";
  EXPECT_EQ(to_slow.intact, queued);
  EXPECT_TRUE(to_slow.in_order);

  const auto stats = f.show("stats");
  EXPECT_EQ(stats["interfaces"][2]["tx_packets"].get<uint64_t>(), queued);
  EXPECT_EQ(stats["interfaces"][2]["drops"]["egress_full"].get<uint64_t>(), full);
  EXPECT_EQ(stats["interfaces"][3]["tx_packets"].get<uint64_t>(), kFast);
  EXPECT_EQ(stats["totals"]["rx_packets"].get<uint64_t>(), kSlow + kFast);
  EXPECT_EQ(stats["totals"]["rx_queue_overflow"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["totals"]["dropped"].get<uint64_t>(), full) << "no drop but the tail drops";
  EXPECT_EQ(f.terminate(), 0) << f.process().err();
}

// The buffer ring runs dry: with the daemon stopped (SIGSTOP), 300
// datagrams wait for 64 buffers (the fewest allowed). When it runs again,
// the receive ends with ENOBUFS (counted, rx_no_buffer), the loop re-arms
// once the sends have returned buffers, and every datagram arrives once,
// intact and in order; nothing counts as a drop.
TEST(Relay, BufferRingRunningDryLosesNothing) {
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket source("127.0.0.1:0"), sink("127.0.0.1:0");
  Ferryd f(relayConfig(1, a_port, b_port, sink.local().toString(),
                       "tuning: { gro: false, gso: false, buffers: 64 }\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  ASSERT_TRUE(stopEveryThread(f));
  constexpr uint32_t kCount = 300;
  sendNumbered(source, *SockAddr::parse("127.0.0.1:" + std::to_string(a_port)), kCount);
  f.process().signal(SIGCONT);
  const Numbered r = receiveNumbered(sink, kCount, 1000);
  EXPECT_EQ(r.got, kCount);
  EXPECT_EQ(r.intact, kCount);
  EXPECT_TRUE(r.in_order);
  const auto stats = f.show("stats");
  EXPECT_GT(stats["interfaces"][0]["rx_no_buffer"].get<uint64_t>(), 0u)
      << "the ring never ran dry: the test did not test it";
  EXPECT_EQ(stats["interfaces"][0]["rx_packets"].get<uint64_t>(), kCount);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"].get<uint64_t>(), kCount);
  EXPECT_EQ(stats["totals"]["rx_queue_overflow"].get<uint64_t>(), 0u);
  EXPECT_EQ(stats["totals"]["dropped"].get<uint64_t>(), 0u);
  EXPECT_EQ(f.terminate(), 0) << f.process().err();
}

// An interface's address removed under traffic and added back (the fault of
// FRR #11077): while it is gone every datagram for it is a counted
// send_error, and forwarding resumes by itself once it is back, with GSO on.
TEST(Relay, EgressAddressRemovedAndReAddedResumesWithoutRestart) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  NetNs ns("addr");
  ns.execOk("ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && "
            "ip addr add 10.77.0.1/32 dev v0");
  const uint16_t in = 41011, out = 41012, sink_port = 41013;
  Ferryd f("dataplanes: 1\ninterfaces:\n"
           "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
           "  - { name: out, bind: \"10.77.0.1:" + std::to_string(out) + "\", peer: \"127.0.0.1:" +
               std::to_string(sink_port) + "\" }\n"
           "relay: [ { from: in, to: out } ]\n",
           ns.name());
  ASSERT_TRUE(f.started()) << f.process().err();
  TempDir dir;
  dir.write("send.py",
            "import socket, sys\n"
            "sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "sink.bind(('127.0.0.1', " + std::to_string(sink_port) + "))\n"
            "sink.settimeout(0.5)\n"
            "src = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "for i in range(200):\n"
            "    src.sendto(bytes([i % 251]) * 100, ('127.0.0.1', " + std::to_string(in) + "))\n"
            "ok = 0\n"
            "try:\n"
            "    while True:\n"
            "        d = sink.recv(65536)\n"
            "        ok += len(d) == 100 and d == bytes([d[0]]) * 100\n"
            "except socket.timeout:\n"
            "    pass\n"
            "print(ok)\n");
  const std::string send = "python3 " + dir.path() + "/send.py";
  auto out_counters = [&] { return f.show("stats")["interfaces"][1]; };
  EXPECT_EQ(ns.execOk(send), "200\n");
  EXPECT_EQ(out_counters()["tx_packets"], 200);

  ns.execOk("ip addr del 10.77.0.1/32 dev v0");
  EXPECT_EQ(ns.execOk(send), "0\n");
  auto c = out_counters();
  EXPECT_EQ(c["tx_packets"], 200);
  EXPECT_EQ(c["drops"]["send_error"], 200) << "every datagram for the missing address is counted";

  ns.execOk("ip addr add 10.77.0.1/32 dev v0");
  EXPECT_EQ(ns.execOk(send), "200\n");
  c = out_counters();
  EXPECT_EQ(c["tx_packets"], 400);
  EXPECT_EQ(c["drops"]["send_error"], 200);
  EXPECT_EQ(c["tx_gso_refused"], 0) << "an address error is not a GSO refusal: GSO stays on";
  EXPECT_EQ(f.show("stats")["totals"]["rx_packets"], 600);
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
