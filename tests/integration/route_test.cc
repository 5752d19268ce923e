// Route mode with real IP-in-UDP peers: host A and host B each run a socat
// TUN endpoint (Debian's socat; nothing of ours) that carries their IP
// packets in UDP to ferry in a router namespace. ping (IPv4 and IPv6), a TCP
// transfer with iperf3, and traceroute-style TTL expiry go through ferry.
#include <filesystem>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

// hostA (10.1.0.1) ── veth ── router (10.1.0.254 | 10.2.0.254) ── veth ── hostB (10.2.0.1)
// Overlay: hostA's tunA 10.9.1.1/24 + fd00:1::1/64, hostB's tunB 10.9.2.1/24 + fd00:2::1/64.
class RouteTopology : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
    for (const char* tool : {"/usr/bin/socat", "/usr/bin/ping", "/usr/bin/iperf3"})
      if (!std::filesystem::exists(tool)) GTEST_SKIP() << tool << " missing";
    a_ = std::make_unique<NetNs>("rta");
    r_ = std::make_unique<NetNs>("rtr");
    b_ = std::make_unique<NetNs>("rtb");
    const std::string id = std::to_string(getpid());
    shOk("ip link add ra" + id + " netns " + a_->name() + " type veth peer name rr" + id + " netns " + r_->name());
    shOk("ip link add rb" + id + " netns " + b_->name() + " type veth peer name rs" + id + " netns " + r_->name());
    a_->execOk("ip link set ra" + id + " name v0 && ip addr add 10.1.0.1/24 dev v0 && ip link set v0 up");
    b_->execOk("ip link set rb" + id + " name v0 && ip addr add 10.2.0.1/24 dev v0 && ip link set v0 up");
    r_->execOk("ip link set rr" + id + " name va && ip addr add 10.1.0.254/24 dev va && ip link set va up");
    r_->execOk("ip link set rs" + id + " name vb && ip addr add 10.2.0.254/24 dev vb && ip link set vb up");
    ferryd_ = std::make_unique<Ferryd>(
        "dataplanes: 2\n"
        "mode: route\n"
        "icmp: { source_v4: 10.9.0.254, source_v6: \"fd00::254\" }\n"
        "interfaces:\n"
        "  - { name: a, bind: \"10.1.0.254:4000\", peer: \"10.1.0.1:4000\" }\n"
        "  - { name: b, bind: \"10.2.0.254:4000\", peer: \"10.2.0.1:4000\" }\n"
        "routes:\n"
        "  - { prefix: \"10.9.1.0/24\", via: [a] }\n"
        "  - { prefix: \"10.9.2.0/24\", via: [b] }\n"
        "  - { prefix: \"fd00:1::/64\", via: [a] }\n"
        "  - { prefix: \"fd00:2::/64\", via: [b] }\n"
        // Drop routes (DropRoutes test): one inside b's /24, two of their own.
        "  - { prefix: \"10.9.2.128/25\", drop: blackhole }\n"
        "  - { prefix: \"10.9.4.0/24\", drop: unreachable }\n"
        "  - { prefix: \"fd00:4::/64\", drop: unreachable }\n"
        "  - { prefix: \"10.9.5.0/24\", drop: prohibit }\n"
        "  - { prefix: \"fd00:5::/64\", drop: prohibit }\n",
        r_->name());
    ASSERT_TRUE(ferryd_->started()) << ferryd_->process().err();
    socat_a_ = tunnel(*a_, "tunA", "10.9.1.1/24", "fd00:1::1/64", "10.1.0.1");
    socat_b_ = tunnel(*b_, "tunB", "10.9.2.1/24", "fd00:2::1/64", "10.2.0.1");
  }

  // A socat IP-in-UDP endpoint: TUN device <-> UDP to the router's address.
  // UDP-DATAGRAM (unconnected) so an early ICMP port-unreachable cannot end it.
  Process tunnel(NetNs& ns, const std::string& dev, const std::string& v4, const std::string& v6,
                 const std::string& self) {
    const std::string router = self == "10.1.0.1" ? "10.1.0.254" : "10.2.0.254";
    Process p = Process::start({"socat", "TUN:" + v4 + ",tun-name=" + dev + ",iff-no-pi,up",
                                "UDP-DATAGRAM:" + router + ":4000,bind=" + self + ":4000"},
                               {.netns = ns.name()});
    EXPECT_TRUE(eventually([&] { return ns.exec("ip link show " + dev + " >/dev/null") == 0; }, 5s))
        << p.err();
    // MTU 1400 so an inner packet plus 28 bytes of IP+UDP fits the veth's 1500.
    ns.execOk("ip link set " + dev + " mtu 1400 && ip route add 10.9.0.0/16 dev " + dev +
              " && ip addr add " + v6 + " dev " + dev + " nodad && ip route add fd00::/16 dev " + dev);
    return p;
  }

  std::unique_ptr<NetNs> a_, r_, b_;
  std::unique_ptr<Ferryd> ferryd_;
  Process socat_a_, socat_b_;
};

TEST_F(RouteTopology, PingTcpAndTimeExceededThroughFerry) {
  // IPv4 and IPv6 ping, every echo answered.
  std::string out;
  EXPECT_EQ(a_->exec("ping -c 5 -i 0.2 -W 2 10.9.2.1", &out), 0) << out;
  EXPECT_NE(out.find("5 packets transmitted, 5 received"), std::string::npos) << out;
  EXPECT_NE(out.find("ttl=63"), std::string::npos) << "ferry decrements the TTL: " << out;
  EXPECT_EQ(a_->exec("ping -6 -c 5 -i 0.2 -W 2 fd00:2::1", &out), 0) << out;
  EXPECT_NE(out.find("5 packets transmitted, 5 received"), std::string::npos) << out;

  // TTL 1: ferry answers with Time Exceeded from its ICMP source (what makes
  // ferry a hop in traceroute).
  a_->exec("ping -c 2 -i 0.3 -W 2 -t 1 10.9.2.1", &out);
  EXPECT_NE(out.find("From 10.9.0.254 icmp_seq=1 Time to live exceeded"), std::string::npos) << out;
  a_->exec("ping -6 -c 2 -i 0.3 -W 2 -t 1 fd00:2::1", &out);
  EXPECT_NE(out.find("From fd00::254 icmp_seq=1 Time exceeded: Hop limit"), std::string::npos) << out;
  // No route: Destination Unreachable (net unreachable) from ferry.
  a_->exec("ping -c 1 -W 2 10.9.77.1", &out);
  EXPECT_NE(out.find("From 10.9.0.254 icmp_seq=1 Destination Net Unreachable"), std::string::npos) << out;

  // A 5-second TCP transfer (iperf3) from A to B.
  auto server = Process::start({"iperf3", "-s", "-1", "-B", "10.9.2.1"}, {.netns = b_->name()});
  ASSERT_TRUE(eventually([&] { return b_->exec("ss -tln | grep -q 10.9.2.1:5201") == 0; }, 5s));
  ASSERT_EQ(a_->exec("iperf3 -c 10.9.2.1 -t 5 --json", &out), 0) << out;
  const auto report = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << out;
  const double received = report["end"]["sum_received"]["bytes"].get<double>();
  EXPECT_GT(received, 1e6) << "TCP moved less than 1 MB in 5 s";
  EXPECT_EQ(server.wait(10s), 0);

  const auto stats = ferryd_->show("stats");
  const auto& drops_a = stats["interfaces"][0]["drops"];
  EXPECT_EQ(drops_a["ttl_exceeded"], 4);
  EXPECT_EQ(drops_a["no_route"], 1);
  EXPECT_EQ(drops_a["bad_inner_header"], 0);
  EXPECT_EQ(stats["interfaces"][0]["icmp_tx"], 5);
  const auto routes = ferryd_->show("routes")["routes"];
  ASSERT_EQ(routes.size(), 9u);
  EXPECT_EQ(routes[1]["prefix"], "10.9.2.0/24");
  EXPECT_GT(routes[1]["packets"].get<uint64_t>(), 1000u) << "the TCP data took 10.9.2.0/24";
  EXPECT_EQ(routes[3]["packets"].get<uint64_t>(), 5u) << "the five IPv6 echo requests";
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// ferry's own address (its ICMP source, 10.9.0.254 and fd00::254) answers
// ping, also at TTL 1, and is never routed; each request counts as a
// `local` drop and each reply as icmp_tx.
TEST_F(RouteTopology, FerrysOwnAddressAnswersPing) {
  std::string out;
  EXPECT_EQ(a_->exec("ping -c 3 -i 0.2 -W 2 10.9.0.254", &out), 0) << out;
  EXPECT_NE(out.find("3 packets transmitted, 3 received"), std::string::npos) << out;
  EXPECT_NE(out.find("from 10.9.0.254: icmp_seq=1 ttl=64"), std::string::npos) << out;
  EXPECT_EQ(a_->exec("ping -c 2 -i 0.2 -W 2 -t 1 -s 1000 10.9.0.254", &out), 0) << out;
  EXPECT_NE(out.find("2 packets transmitted, 2 received"), std::string::npos) << out;
  EXPECT_NE(out.find("1008 bytes from 10.9.0.254"), std::string::npos) << out;
  EXPECT_EQ(a_->exec("ping -6 -c 3 -i 0.2 -W 2 fd00::254", &out), 0) << out;
  EXPECT_NE(out.find("3 packets transmitted, 3 received"), std::string::npos) << out;
  const auto stats = ferryd_->show("stats");
  const auto& a = stats["interfaces"][0];
  EXPECT_EQ(a["drops"]["local"], 8) << a.dump();
  EXPECT_EQ(a["icmp_tx"], 8);
  EXPECT_EQ(a["icmp_rate_limited"], 0);
  EXPECT_EQ(a["drops"]["no_route"], 0);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], 0) << "nothing went towards b";
  std::string lookup;
  ASSERT_EQ(sh(binary("FERRYCTL") + " --socket " + ferryd_->socketPath() + " show routes fd00::254",
               &lookup),
            0);
  EXPECT_EQ(lookup,
            "fd00::254 is ferry's own address (icmp source): echo requests are answered, nothing "
            "is routed\n");
  EXPECT_EQ(ferryd_->show("routes 10.9.0.254")["local"], true);
  EXPECT_EQ(ferryd_->show("routes 10.9.1.1")["local"], false);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// A ping flood to ferry's own address runs its echo replies into the ICMP
// rate limit (100/s after a burst of 50, per dataplane), and Time Exceeded
// errors asked for in the middle of it are all still answered: errors have
// a budget of their own (as on Linux, whose rate limit leaves echo replies
// out). With one shared budget the flood (500/s) would take nearly every
// token. One socat tunnel is one 4-tuple: one dataplane sees all of it.
TEST_F(RouteTopology, APingFloodDoesNotSilenceIcmpErrors) {
  std::string out;
  a_->exec(
      "ping -q -c 600 -i 0.002 -W 1 10.9.0.254 > /dev/null & sleep 0.5; "
      "ping -c 5 -i 0.05 -W 1 -t 1 10.9.2.1; wait",
      &out);
  EXPECT_EQ(occurrences(out, "Time to live exceeded"), 5u) << out;
  const auto stats = ferryd_->show("stats");
  const auto& a = stats["interfaces"][0];
  EXPECT_EQ(a["drops"]["local"], 600) << a.dump();
  EXPECT_EQ(a["drops"]["ttl_exceeded"], 5) << a.dump();
  // Every echo request was answered or counted as limited; the errors all went.
  const int limited = a["icmp_rate_limited"].get<int>();
  EXPECT_EQ(a["icmp_tx"].get<int>() + limited, 600 + 5) << a.dump();
  EXPECT_GE(limited, 100) << "the flood ran into the limit: " << a.dump();
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], 0) << "nothing went towards b";
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// Drop routes: a blackhole more specific than a forwarding route swallows
// its part silently; an unreachable route answers with Destination
// Unreachable, a prohibit route with administratively prohibited (as
// Linux answers for its own); each counts on the route and under its own
// drop reason, and the rest of the forwarding route still forwards.
TEST_F(RouteTopology, DropRoutesDropSilentlyOrAnswerUnreachable) {
  std::string out;
  EXPECT_NE(a_->exec("ping -c 3 -i 0.2 -W 1 10.9.2.200", &out), 0) << out;
  EXPECT_NE(out.find("3 packets transmitted, 0 received"), std::string::npos) << out;
  EXPECT_EQ(out.find("From "), std::string::npos) << "a blackhole answers nothing: " << out;
  auto stats = ferryd_->show("stats");
  EXPECT_EQ(stats["interfaces"][0]["drops"]["blackhole"], 3);
  EXPECT_EQ(stats["interfaces"][0]["icmp_tx"], 0);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], 0) << "nothing went towards b";

  a_->exec("ping -c 2 -i 0.3 -W 2 10.9.4.1", &out);
  EXPECT_NE(out.find("From 10.9.0.254 icmp_seq=1 Destination Net Unreachable"), std::string::npos)
      << out;
  a_->exec("ping -6 -c 2 -i 0.3 -W 2 fd00:4::1", &out);
  EXPECT_NE(out.find("From fd00::254 icmp_seq=1 Destination unreachable"), std::string::npos)
      << out;
  // iputils' words for ICMP type 3 code 13 and ICMPv6 type 1 code 1.
  a_->exec("ping -c 2 -i 0.3 -W 2 10.9.5.1", &out);
  EXPECT_NE(out.find("From 10.9.0.254 icmp_seq=1 Packet filtered"), std::string::npos) << out;
  a_->exec("ping -6 -c 2 -i 0.3 -W 2 fd00:5::1", &out);
  EXPECT_NE(
      out.find("From fd00::254 icmp_seq=1 Destination unreachable: Administratively prohibited"),
      std::string::npos)
      << out;
  // Outside the blackhole, b's route forwards.
  EXPECT_EQ(a_->exec("ping -c 2 -i 0.2 -W 2 10.9.2.1", &out), 0) << out;
  EXPECT_NE(out.find("2 packets transmitted, 2 received"), std::string::npos) << out;

  stats = ferryd_->show("stats");
  const auto& a = stats["interfaces"][0];
  EXPECT_EQ(a["drops"]["blackhole"], 3);
  EXPECT_EQ(a["drops"]["unreachable"], 4);
  EXPECT_EQ(a["drops"]["prohibited"], 4);
  EXPECT_EQ(a["drops"]["no_route"], 0);
  EXPECT_EQ(a["icmp_tx"], 8);
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], 2) << "the two echo requests to 10.9.2.1";
  const auto routes = ferryd_->show("routes")["routes"];
  ASSERT_EQ(routes.size(), 9u);
  EXPECT_EQ(routes[1]["packets"], 2);
  EXPECT_EQ(routes[4]["prefix"], "10.9.2.128/25");
  EXPECT_EQ(routes[4]["drop"], "blackhole");
  EXPECT_TRUE(routes[4]["via"].empty());
  EXPECT_EQ(routes[4]["packets"], 3);
  EXPECT_EQ(routes[5]["drop"], "unreachable");
  EXPECT_EQ(routes[5]["packets"], 2);
  EXPECT_EQ(routes[6]["drop"], "unreachable");
  EXPECT_EQ(routes[6]["packets"], 2);
  for (const size_t r : {size_t{7}, size_t{8}}) {
    EXPECT_EQ(routes[r]["drop"], "prohibit") << routes[r].dump();
    EXPECT_EQ(routes[r]["packets"], 2) << routes[r].dump();
  }
  EXPECT_TRUE(routes[1]["drop"].is_null());
  std::string table;
  ASSERT_EQ(
      sh(binary("FERRYCTL") + " --socket " + ferryd_->socketPath() + " show routes 10.9.2.200",
         &table),
      0);
  EXPECT_NE(table.find("10.9.2.128/25"), std::string::npos) << table;
  EXPECT_NE(table.find("drop (blackhole)"), std::string::npos) << table;
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// An ICMP error the kernel refuses to send is counted, not lost silently:
// the router's firewall drops what ferry sends back to host A's tunnel
// endpoint (nft on the output hook makes the send fail with EPERM), so each
// Time Exceeded for A's TTL-1 pings is built and refused.
TEST_F(RouteTopology, IcmpErrorsTheKernelRefusesAreCounted) {
  if (!std::filesystem::exists("/usr/sbin/nft")) GTEST_SKIP() << "/usr/sbin/nft missing";
  r_->execOk(
      "nft add table inet ferrytest && nft add chain inet ferrytest out "
      "'{ type filter hook output priority 0; }' && "
      "nft add rule inet ferrytest out ip daddr 10.1.0.1 udp dport 4000 drop");
  std::string out;
  EXPECT_NE(a_->exec("ping -c 3 -i 0.3 -W 1 -t 1 10.9.2.1", &out), 0) << out;
  EXPECT_EQ(out.find("Time to live exceeded"), std::string::npos) << out;
  const auto a = ferryd_->show("stats")["interfaces"][0];
  EXPECT_EQ(a["drops"]["ttl_exceeded"], 3);
  EXPECT_EQ(a["icmp_tx"], 0);
  EXPECT_EQ(a["icmp_rate_limited"], 0);
  EXPECT_EQ(a["icmp_send_errors"], 3);

  // Let through again: the next error is sent, and the count stays.
  r_->execOk("nft delete table inet ferrytest");
  a_->exec("ping -c 1 -W 2 -t 1 10.9.2.1", &out);
  EXPECT_NE(out.find("From 10.9.0.254 icmp_seq=1 Time to live exceeded"), std::string::npos) << out;
  const auto after = ferryd_->show("stats")["interfaces"][0];
  EXPECT_EQ(after["icmp_tx"], 1);
  EXPECT_EQ(after["icmp_send_errors"], 3);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
