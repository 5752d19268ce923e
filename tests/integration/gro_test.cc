// UDP GRO on receive: a run of one 4-tuple's datagrams reaches ferry as one
// buffer plus a segment size (a train). Trains are made here exactly as a
// neighbour's kernel would hand them over: a UDP GSO send over loopback
// reaches a UDP_GRO socket whole (the kernel segments it only for sockets
// without UDP_GRO), so each sendmsg below is one train of known segments.
//
// Every case checks exact contents and totals: what the sinks received, byte
// for byte and in order, and ferry's counters (rx_packets counts datagrams,
// rx_gro_trains receives).
#include <netinet/udp.h>

#include <cstring>
#include <map>
#include <memory>

#include "ferry/net/checksum.h"
#include "ferry/process/netns.h"
#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

// Sends the datagrams `segments` as one UDP GSO send (one train): all of
// them but the last must have the size of the first, the last no larger.
bool sendTrain(const UdpSocket& from, const SockAddr& to,
               const std::vector<std::vector<uint8_t>>& segments) {
  std::vector<uint8_t> all;
  for (const auto& s : segments) all.insert(all.end(), s.begin(), s.end());
  iovec iov{all.data(), all.size()};
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.sa());
  msg.msg_namelen = to.len();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (segments.size() > 1) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const auto size = uint16_t(segments[0].size());
    std::memcpy(CMSG_DATA(cm), &size, sizeof(size));
  }
  return sendmsg(from.fd(), &msg, 0) == ssize_t(all.size());
}

// A test datagram: `size` bytes, byte 0 a marker outside the BFD range, then
// (as far as they fit) the train number and the index in the train, then a
// pattern of both.
std::vector<uint8_t> datagram(uint32_t train, uint32_t index, size_t size) {
  std::vector<uint8_t> d(std::max<size_t>(size, 9));
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(train * 31 + index * 7 + i);
  d[0] = 0xa5;
  std::memcpy(&d[1], &train, 4);
  std::memcpy(&d[5], &index, 4);
  d.resize(size);
  return d;
}

// Receives until `count` datagrams arrived or nothing came for 1 s.
std::vector<std::vector<uint8_t>> receive(const UdpSocket& sink, size_t count) {
  std::vector<std::vector<uint8_t>> got;
  std::vector<uint8_t> buf(65536);
  while (got.size() < count) {
    const ssize_t n = sink.recv(buf.data(), buf.size(), 1000);
    if (n < 0) break;
    got.emplace_back(buf.begin(), buf.begin() + n);
  }
  // Anything more is an error too: wait briefly for extras.
  if (got.size() == count) {
    const ssize_t n = sink.recv(buf.data(), buf.size(), 200);
    if (n >= 0) got.emplace_back(buf.begin(), buf.begin() + n);
  }
  return got;
}

std::string relayYaml(uint16_t in, uint16_t out, const std::string& sink, const std::string& extra = "") {
  return "dataplanes: 1\n" + extra +
         "interfaces:\n"
         "  - { name: a, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
         "  - { name: b, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" + sink + "\" }\n"
         "relay: [ { from: a, to: b } ]\n";
}

SockAddr local(uint16_t port) { return *SockAddr::parse("127.0.0.1:" + std::to_string(port)); }

// Relays `trains` (each a list of segment sizes) and checks that the sink
// got every datagram exactly, in order, and ferry's totals.
void relayTrains(const std::vector<std::vector<size_t>>& trains, const std::string& extra,
                 bool gro_on) {
  UdpSocket sink("127.0.0.1:0", 32 << 20);
  UdpSocket source("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(relayYaml(in, out, sink.local().toString(), extra));
  ASSERT_TRUE(f.started()) << f.process().err();
  std::vector<std::vector<uint8_t>> expected;
  uint64_t bytes = 0;
  for (uint32_t t = 0; t < trains.size(); ++t) {
    std::vector<std::vector<uint8_t>> segments;
    for (uint32_t i = 0; i < trains[t].size(); ++i) {
      segments.push_back(datagram(t, i, trains[t][i]));
      bytes += trains[t][i];
    }
    ASSERT_TRUE(sendTrain(source, local(in), segments)) << "train " << t << ": " << strerror(errno);
    expected.insert(expected.end(), segments.begin(), segments.end());
    // One train in flight at a time: the sink's queue never overflows, and
    // each train stays a train (nothing merges two sends).
    const auto got = receive(sink, segments.size());
    ASSERT_EQ(got.size(), segments.size()) << "train " << t;
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], segments[i]) << "train " << t << " datagram " << i;
  }
  const auto stats = f.show("stats");
  const auto& a = stats["interfaces"][0];
  const auto& b = stats["interfaces"][1];
  EXPECT_EQ(a["rx_packets"], expected.size());
  EXPECT_EQ(a["rx_bytes"], bytes);
  EXPECT_EQ(a["dropped"], 0);
  EXPECT_EQ(a["rx_gro_trains"], gro_on ? trains.size() : 0) << a.dump();
  EXPECT_EQ(a["rx_gro_cut"], 0);
  EXPECT_EQ(b["tx_packets"], expected.size());
  EXPECT_EQ(b["tx_bytes"], bytes);
  EXPECT_EQ(b["dropped"], 0);
  if (gro_on) {
    // A train of several datagrams leaves as one GSO send.
    size_t multi = 0;
    for (const auto& t : trains) multi += t.size() > 1;
    EXPECT_EQ(b["tx_gso_batches"], multi) << b.dump();
  }
  EXPECT_EQ(f.terminate(), 0);
}

TEST(Gro, TrainsOfEqualDatagramsLeaveWholeAsOneGsoSendEach) {
  std::vector<std::vector<size_t>> trains;
  for (size_t n : {2, 5, 20, 40, 64}) trains.push_back(std::vector<size_t>(n, 1000));
  trains.push_back(std::vector<size_t>(44, 1472));  // 64,768 bytes: a full 64 KiB train
  relayTrains(trains, "", true);
}

TEST(Gro, ATrainWithAShorterLastDatagram) {
  std::vector<std::vector<size_t>> trains;
  for (size_t last : {1, 24, 499, 1199}) {
    std::vector<size_t> t(17, 1200);
    t.push_back(last);
    trains.push_back(t);
  }
  relayTrains(trains, "", true);
}

TEST(Gro, SingleDatagramsAreTrainsOfOne) {
  std::vector<std::vector<size_t>> trains;
  for (size_t size : {0, 1, 64, 1400, 2048}) trains.push_back({size});
  relayTrains(trains, "", true);
}

TEST(Gro, OffTheKernelSegmentsEveryTrainBeforeFerry) {
  std::vector<std::vector<size_t>> trains{std::vector<size_t>(30, 800), {100}, std::vector<size_t>(5, 64)};
  relayTrains(trains, "tuning: { gro: false }\n", false);
}

// GRO merges at most 64 datagrams, but a local sender's GSO send reaches a
// UDP_GRO socket whole: up to 128 datagrams (UDP_MAX_SEGMENTS) in one
// receive. Without GSO on the egress each leaves on its own, so a buffer
// can have 128 single sends in flight. 16 such trains wait while ferryd is
// stopped and are handled in one loop turn: 2048 sends at once, with 16
// buffers. Every one needs a send slot.
TEST(Gro, LocalGsoSendsOf128DatagramsAreOneTrainEach) {
  UdpSocket sink("127.0.0.1:0", 32 << 20);
  UdpSocket source("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(relayYaml(in, out, sink.local().toString(),
                     "tuning: { gso: false, gro_buffers: 16, socket_buffer: 33554432 }\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  ASSERT_TRUE(stopEveryThread(f));
  constexpr uint32_t kTrains = 16, kPerTrain = 128;
  std::vector<std::vector<uint8_t>> expected;
  for (uint32_t t = 0; t < kTrains; ++t) {
    std::vector<std::vector<uint8_t>> segments;
    for (uint32_t i = 0; i < kPerTrain; ++i) segments.push_back(datagram(t, i, 100));
    ASSERT_TRUE(sendTrain(source, local(in), segments)) << "train " << t << ": " << strerror(errno);
    expected.insert(expected.end(), segments.begin(), segments.end());
  }
  f.process().signal(SIGCONT);
  const auto got = receive(sink, expected.size());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], expected[i]) << "datagram " << i;
  const auto stats = f.show("stats");
  const auto& a = stats["interfaces"][0];
  EXPECT_EQ(a["rx_packets"], kTrains * kPerTrain);
  EXPECT_EQ(a["rx_gro_trains"], kTrains) << "each send arrived as one train";
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], kTrains * kPerTrain);
  EXPECT_EQ(stats["totals"]["dropped"], 0) << stats["totals"].dump();
  EXPECT_EQ(f.terminate(), 0);
}

// A datagram above tuning.max_datagram inside a train is dropped on its own
// (truncated); the others of the train are forwarded.
TEST(Gro, DatagramsAboveMaxDatagramAreDroppedOneByOne) {
  UdpSocket sink("127.0.0.1:0", 32 << 20);
  UdpSocket source("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(relayYaml(in, out, sink.local().toString(), "tuning: { max_datagram: 1000 }\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  // 10 datagrams of 1200 (all too big) and then a train of 10 × 900 + 1 × 100.
  std::vector<std::vector<uint8_t>> big, fits;
  for (uint32_t i = 0; i < 10; ++i) big.push_back(datagram(0, i, 1200));
  for (uint32_t i = 0; i < 10; ++i) fits.push_back(datagram(1, i, 900));
  fits.push_back(datagram(1, 10, 100));
  ASSERT_TRUE(sendTrain(source, local(in), big));
  ASSERT_TRUE(sendTrain(source, local(in), fits));
  const auto got = receive(sink, fits.size());
  EXPECT_EQ(got, fits);
  const auto a = f.show("stats")["interfaces"][0];
  EXPECT_EQ(a["rx_packets"], 21);
  EXPECT_EQ(a["rx_gro_trains"], 2);
  EXPECT_EQ(a["drops"]["truncated"], 10);
  EXPECT_EQ(a["dropped"], 10);
  EXPECT_EQ(f.terminate(), 0);
}

// A train from an address that is not the interface's peer: every datagram
// of it is counted as bad_source (the check is made once per train: GRO
// merges one 4-tuple only).
TEST(Gro, ATrainFromAnotherSourceIsCountedPerDatagram) {
  UdpSocket sink("127.0.0.1:0", 32 << 20);
  UdpSocket source("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  const std::string yaml =
      "dataplanes: 1\ninterfaces:\n"
      "  - { name: a, bind: \"127.0.0.1:" + std::to_string(in) + "\", peer: \"127.0.0.1:9\" }\n"
      "  - { name: b, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" +
      sink.local().toString() + "\" }\n"
      "relay: [ { from: a, to: b } ]\n";
  Ferryd f(yaml);
  ASSERT_TRUE(f.started()) << f.process().err();
  std::vector<std::vector<uint8_t>> train;
  for (uint32_t i = 0; i < 12; ++i) train.push_back(datagram(0, i, 500));
  ASSERT_TRUE(sendTrain(source, local(in), train));
  EXPECT_TRUE(receive(sink, 1).empty());
  EXPECT_TRUE(eventually([&] { return f.show("stats")["interfaces"][0]["drops"]["bad_source"] == 12; }, 2s));
  const auto a = f.show("stats")["interfaces"][0];
  EXPECT_EQ(a["rx_packets"], 12);
  EXPECT_EQ(a["rx_gro_trains"], 1);
  EXPECT_EQ(a["dropped"], 12);
  EXPECT_EQ(f.terminate(), 0);
}

// A BFD control packet (RFC 5880 §4.1, 24 bytes, state Down) with `my_disc`.
std::vector<uint8_t> bfdPacket(uint32_t my_disc) {
  std::vector<uint8_t> p(24, 0);
  p[0] = 0x20;       // version 1, diagnostic 0
  p[1] = 0x40;       // state Down
  p[2] = 3;          // detect mult
  p[3] = 24;         // length
  p[4] = uint8_t(my_disc >> 24);
  p[5] = uint8_t(my_disc >> 16);
  p[6] = uint8_t(my_disc >> 8);
  p[7] = uint8_t(my_disc);
  const uint32_t interval = htonl(1'000'000);
  std::memcpy(&p[12], &interval, 4);  // desired min tx
  std::memcpy(&p[16], &interval, 4);  // required min rx
  return p;
}

// In-band BFD shares the data port, so a neighbour's BFD packet can arrive as
// the last, shorter datagram of a train from the same 4-tuple: it is handed
// to BFD, and the data before it is forwarded.
TEST(Gro, InBandBfdAsTheLastDatagramOfATrainReachesItsSession) {
  UdpSocket sink("127.0.0.1:0", 32 << 20);
  UdpSocket peer("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  const std::string yaml =
      "dataplanes: 1\ninterfaces:\n"
      "  - { name: a, bind: \"127.0.0.1:" + std::to_string(in) + "\", peer: \"" +
      peer.local().toString() + "\", bfd: { interval_ms: 1000, detect_mult: 3 } }\n"
      "  - { name: b, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" +
      sink.local().toString() + "\" }\n"
      "relay: [ { from: a, to: b } ]\n";
  Ferryd f(yaml);
  ASSERT_TRUE(f.started()) << f.process().err();
  std::vector<std::vector<uint8_t>> train;
  for (uint32_t i = 0; i < 9; ++i) train.push_back(datagram(0, i, 300));
  const std::vector<std::vector<uint8_t>> data = train;
  train.push_back(bfdPacket(0x01020304));
  ASSERT_TRUE(sendTrain(peer, local(in), train));
  EXPECT_EQ(receive(sink, data.size()), data);
  EXPECT_TRUE(eventually([&] { return f.show("bfd")["sessions"][0]["rx_packets"] == 1; }, 2s))
      << f.show("bfd").dump(2);
  const auto a = f.show("stats")["interfaces"][0];
  EXPECT_EQ(a["rx_packets"], 10);
  EXPECT_EQ(a["rx_gro_trains"], 1);
  EXPECT_EQ(a["bfd_rx"], 1);
  EXPECT_EQ(a["dropped"], 0);
  EXPECT_EQ(f.show("bfd")["sessions"][0]["remote_discriminator"], 0x01020304);
  EXPECT_EQ(f.show("stats")["interfaces"][1]["tx_packets"], 9);
  EXPECT_EQ(f.terminate(), 0);
}

// An inner IPv4/UDP packet of 60 bytes to `dst` with `ttl`, valid checksum,
// `seq` in its payload.
std::vector<uint8_t> inner(uint32_t seq, std::array<uint8_t, 4> dst, uint8_t ttl = 64) {
  std::vector<uint8_t> p(60, 0);
  p[0] = 0x45;
  p[3] = uint8_t(p.size());
  p[8] = ttl;
  p[9] = 17;
  const uint8_t src[4] = {10, 0, 0, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst.data(), 4);
  const uint16_t sum = checksum::compute({p.data(), 20});
  p[10] = uint8_t(sum >> 8);
  p[11] = uint8_t(sum);
  p[21] = 7;
  p[23] = 9;
  p[25] = 40;  // UDP length; checksum 0
  std::memcpy(&p[28], &seq, 4);
  return p;
}

// What ferry forwards: the packet with its TTL one less and the header
// checksum updated.
std::vector<uint8_t> forwarded(std::vector<uint8_t> p) {
  p[8] -= 1;
  p[10] = p[11] = 0;
  const uint16_t sum = checksum::compute({p.data(), 20});
  p[10] = uint8_t(sum >> 8);
  p[11] = uint8_t(sum);
  return p;
}

// Route mode decides per datagram of a train: each goes to its own route's
// egress with its TTL decremented, and consecutive datagrams for one egress
// leave together; one with TTL 1 in the middle is dropped and answered with
// Time Exceeded; one with no route is dropped and answered with Destination
// Unreachable.
TEST(Gro, RouteModeDecidesEveryDatagramOfATrain) {
  UdpSocket source("127.0.0.1:0");
  UdpSocket sink1("127.0.0.1:0", 32 << 20), sink2("127.0.0.1:0", 32 << 20);
  const uint16_t in = freeUdpPort(), e1 = freeUdpPort(), e2 = freeUdpPort();
  const std::string yaml =
      "dataplanes: 1\nmode: route\n"
      "icmp: { source_v4: 10.9.0.254 }\n"
      "interfaces:\n"
      "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
      "  - { name: e1, bind: \"127.0.0.1:" + std::to_string(e1) + "\", peer: \"" +
      sink1.local().toString() + "\" }\n"
      "  - { name: e2, bind: \"127.0.0.1:" + std::to_string(e2) + "\", peer: \"" +
      sink2.local().toString() + "\" }\n"
      "routes:\n"
      "  - { prefix: 10.1.0.0/16, via: [e1] }\n"
      "  - { prefix: 10.2.0.0/16, via: [e2] }\n";
  Ferryd f(yaml);
  ASSERT_TRUE(f.started()) << f.process().err();
  // 40 datagrams: 0-9 to e1, 10-19 alternate e1/e2, 20 TTL 1 (to e1), 21-29
  // to e2, 30 to 10.3.0.1 (no route), 31-39 to e1.
  std::vector<std::vector<uint8_t>> train, want1, want2;
  for (uint32_t i = 0; i < 40; ++i) {
    std::array<uint8_t, 4> dst{10, 1, 0, uint8_t(i)};
    if ((i >= 10 && i < 20 && i % 2 == 1) || (i >= 21 && i < 30)) dst[1] = 2;
    if (i == 30) dst[1] = 3;
    train.push_back(inner(i, dst, i == 20 ? 1 : 64));
    if (i == 20 || i == 30) continue;
    (dst[1] == 1 ? want1 : want2).push_back(forwarded(train.back()));
  }
  ASSERT_TRUE(sendTrain(source, local(in), train));
  EXPECT_EQ(receive(sink1, want1.size()), want1);
  EXPECT_EQ(receive(sink2, want2.size()), want2);
  // Two ICMP errors come back to the sender (the ingress has no peer).
  std::vector<uint8_t> buf(2048);
  std::vector<uint8_t> icmp_types;
  for (int i = 0; i < 2; ++i) {
    const ssize_t n = source.recv(buf.data(), buf.size(), 1000);
    ASSERT_GE(n, 28) << "ICMP error " << i;
    EXPECT_EQ(buf[9], 1) << "an ICMP packet";
    icmp_types.push_back(buf[20]);
  }
  EXPECT_EQ(icmp_types, (std::vector<uint8_t>{11, 3})) << "Time Exceeded, then Destination Unreachable";
  const auto stats = f.show("stats");
  const auto& i0 = stats["interfaces"][0];
  EXPECT_EQ(i0["rx_packets"], 40);
  EXPECT_EQ(i0["rx_gro_trains"], 1);
  EXPECT_EQ(i0["drops"]["ttl_exceeded"], 1);
  EXPECT_EQ(i0["drops"]["no_route"], 1);
  EXPECT_EQ(i0["dropped"], 2);
  EXPECT_EQ(i0["icmp_tx"], 2);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], want1.size());
  EXPECT_EQ(stats["interfaces"][2]["tx_packets"], want2.size());
  EXPECT_EQ(stats["interfaces"][1]["dropped"], 0);
  EXPECT_EQ(stats["interfaces"][2]["dropped"], 0);
  EXPECT_EQ(f.terminate(), 0);
}

// The egress path's MTU (1300) is below the trains' datagram size (1400):
// the kernel refuses the GSO send, and ferry sends the train's datagrams
// one by one (IP fragments), so the sink still gets every one whole.
TEST(Gro, AnEgressMtuBelowTheDatagramSizeFallsBackDatagramByDatagram) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  // ferry and the sender in one namespace, the sink in another, joined by
  // a veth pair whose MTU is 1300.
  NetNs ns("gromtu"), far("gromtu2");
  ns.execOk("ip link add g0 mtu 1300 type veth peer name g1 mtu 1300 netns " + far.name());
  ns.execOk("ip addr add 10.77.0.1/24 dev g0 && ip link set g0 up");
  far.execOk("ip addr add 10.77.0.2/24 dev g1 && ip link set g1 up");
  const uint16_t in = 41101, out = 41102;
  std::unique_ptr<UdpSocket> sink;
  {
    process::NetnsScope inside(far.name());  // throws (the test fails) if it cannot
    sink = std::make_unique<UdpSocket>("10.77.0.2:41103", 32 << 20);
  }
  {
    process::NetnsScope inside(ns.name());
    UdpSocket source("127.0.0.1:0");
    const std::string yaml =
        "dataplanes: 1\ninterfaces:\n"
        "  - { name: a, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
        "  - { name: b, bind: \"10.77.0.1:" + std::to_string(out) + "\", peer: \"10.77.0.2:41103\" }\n"
        "relay: [ { from: a, to: b } ]\n";
    Ferryd f(yaml, ns.name());
    ASSERT_TRUE(f.started()) << f.process().err();
    for (uint32_t t = 0; t < 4; ++t) {
      std::vector<std::vector<uint8_t>> train;
      for (uint32_t i = 0; i < 20; ++i) train.push_back(datagram(t, i, 1400));
      ASSERT_TRUE(sendTrain(source, local(in), train)) << strerror(errno);
      EXPECT_EQ(receive(*sink, train.size()), train) << "train " << t;
    }
    const auto stats = f.show("stats");
    const auto& a = stats["interfaces"][0];
    const auto& b = stats["interfaces"][1];
    EXPECT_EQ(a["rx_packets"], 80);
    EXPECT_EQ(a["rx_gro_trains"], 4);
    EXPECT_EQ(b["tx_packets"], 80);
    EXPECT_EQ(b["dropped"], 0);
    EXPECT_EQ(b["tx_gso_refused"], 1) << "the first train is refused, then GSO stays off";
    EXPECT_EQ(b["tx_gso_batches"], 0);
    EXPECT_EQ(f.terminate(), 0);
  }
}

// Per inner flow (the inner UDP source port), the sequence numbers (bytes
// 28..31) received in order; counts datagrams that arrived after a later one
// of their flow.
struct FlowOrder {
  std::map<uint16_t, uint32_t> last;
  uint64_t received = 0, reordered = 0;
  void add(const std::vector<uint8_t>& p) {
    ASSERT_GE(p.size(), 32u);
    const uint16_t flow = uint16_t(p[20] << 8 | p[21]);
    uint32_t seq;
    std::memcpy(&seq, &p[28], 4);
    auto it = last.find(flow);
    if (it != last.end() && seq < it->second) ++reordered;
    else last[flow] = seq;
    ++received;
  }
};

std::string routeYaml(const std::string& steering, uint16_t in, uint16_t out, const SockAddr& sink) {
  return "dataplanes: 2\nmode: route\nsteering: " + steering +
         "\ntuning: { gro: true }\ninterfaces:\n"
         "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
         "  - { name: out, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" +
         sink.toString() + "\" }\n"
         "routes: [ { prefix: \"0.0.0.0/0\", via: [out] } ]\n";
}

// steering: inner-flow spreads one underlay flow over the dataplanes by
// inner flow. GRO would defeat it (a train is steered by its first datagram
// only), so with inner-flow steering ferry does not enable GRO even when
// tuning.gro is on: no trains, whole inner flows per dataplane, and every
// inner flow in order.
TEST(Gro, InnerFlowSteeringKeepsGroOffAndInnerFlowsInOrder) {
  UdpSocket sink("127.0.0.1:0", 32 << 20), from("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(routeYaml("inner-flow", in, out, sink.local()));
  ASSERT_TRUE(f.started()) << f.process().err();
  FlowOrder order;
  std::vector<uint8_t> buf(2048);
  constexpr uint32_t kCount = 3200;  // 64 inner flows of 50
  for (uint32_t i = 0; i < kCount; ++i) {
    const auto p = inner(i, {10, 2, 0, 1});
    auto q = p;
    q[20] = 0x10;
    q[21] = uint8_t(i % 64);
    // The UDP checksum is 0 and the IP header does not cover ports: still valid.
    ASSERT_TRUE(from.sendTo(local(in), q.data(), q.size()));
    if (i % 32 == 31) {
      while (order.received < i + 1) {
        const ssize_t n = sink.recv(buf.data(), buf.size(), 500);
        if (n < 0) break;
        order.add({buf.begin(), buf.begin() + n});
      }
    }
  }
  EXPECT_EQ(order.received, kCount);
  EXPECT_EQ(order.reordered, 0u);
  const auto stats = f.show("stats");
  uint64_t trains = 0;
  std::vector<uint64_t> rx;
  for (const auto& dp : stats["dataplanes"]) {
    trains += dp["rx_gro_trains"].get<uint64_t>();
    rx.push_back(dp["rx_packets"].get<uint64_t>());
  }
  EXPECT_EQ(trains, 0u) << "GRO is off with inner-flow steering";
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0] + rx[1], kCount);
  EXPECT_EQ(rx[0] % 50, 0u) << "an inner flow was split across dataplanes";
  EXPECT_GT(rx[0], 0u);
  EXPECT_GT(rx[1], 0u);
  EXPECT_EQ(f.terminate(), 0);
}

// With the kernel's 4-tuple steering a train, like every datagram of its
// underlay flow, lands on one dataplane, so the inner flows inside it stay
// in order with GRO on.
TEST(Gro, KernelSteeringKeepsTrainsAndTheirInnerFlowsInOrder) {
  UdpSocket sink("127.0.0.1:0", 32 << 20), from("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(routeYaml("kernel", in, out, sink.local()));
  ASSERT_TRUE(f.started()) << f.process().err();
  FlowOrder order;
  std::vector<uint8_t> buf(2048);
  uint32_t seq = 0;
  for (uint32_t t = 0; t < 20; ++t) {
    std::vector<std::vector<uint8_t>> train;
    for (uint32_t i = 0; i < 40; ++i, ++seq) {
      auto p = inner(seq, {10, 2, 0, 1});
      p[20] = 0x10;
      p[21] = uint8_t(seq % 8);  // 8 inner flows mixed in every train
      train.push_back(p);
    }
    ASSERT_TRUE(sendTrain(from, local(in), train));
    for (uint32_t i = 0; i < 40; ++i) {
      const ssize_t n = sink.recv(buf.data(), buf.size(), 1000);
      ASSERT_GE(n, 0) << "train " << t << " datagram " << i;
      order.add({buf.begin(), buf.begin() + n});
    }
  }
  EXPECT_EQ(order.received, 800u);
  EXPECT_EQ(order.reordered, 0u);
  const auto stats = f.show("stats");
  std::vector<uint64_t> rx, trains;
  for (const auto& dp : stats["dataplanes"]) {
    rx.push_back(dp["rx_packets"].get<uint64_t>());
    trains.push_back(dp["rx_gro_trains"].get<uint64_t>());
  }
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_TRUE((rx[0] == 800 && rx[1] == 0) || (rx[0] == 0 && rx[1] == 800)) << rx[0] << " / " << rx[1];
  EXPECT_EQ(trains[0] + trains[1], 20u);
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
