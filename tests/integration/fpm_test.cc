// Routes from FRR over FPM, end to end: router namespace R runs ferryd
// (route mode, `fpm:`) with FRR zebra (`-M dplane_fpm_nl`, `fpm address
// 127.0.0.1 port P`), staticd and bgpd beside it; namespace P holds ferry's
// three neighbours (west 10.99.0.2, east 10.98.0.2, v6 2001:db8:98::2, at the
// far ends of two veths), the traffic source and a BGP peer. The routes
// zebra streams (static IPv4 and IPv6, BGP) decide where ferry sends: a
// withdrawn route's traffic gets no_route, a multipath route spreads flows
// over both interfaces, and zebra killed and restarted leaves forwarding
// going throughout, with the routes it no longer sends swept after the
// resync. A hand-made FPM client sends the streams zebra would not. FRR runs as user frr with
// private config, pid and vty sockets in a temp dir; everything is removed at the end, also on
// failure.
#include <poll.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "ferry/route/inner.h"
#include "ferry/route/next_hop.h"
#include "ferryd_fixture.h"
#include "messages.h"  // tests/unit/fpm: netlink messages built with libmnl

namespace ferry::test {
namespace {

constexpr const char* kStaticd = "/usr/lib/frr/staticd";

class Fpm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
    if (!std::filesystem::exists(kZebra) || !std::filesystem::exists(kStaticd))
      GTEST_SKIP() << "FRR zebra/staticd missing (Debian package frr)";
    r_ = std::make_unique<NetNs>("fpmr");
    p_ = std::make_unique<NetNs>("fpmp");
    const std::string id = std::to_string(getpid());
    for (const auto& [name, r_addr, p_addr] : {std::tuple{"w", "10.99.0.1/24", "10.99.0.2/24"},
                                               std::tuple{"e", "10.98.0.1/24", "10.98.0.2/24"}}) {
      shOk(std::string("ip link add fr") + name + id + " netns " + r_->name() +
           " type veth peer name fp" + name + id + " netns " + p_->name());
      r_->execOk(std::string("ip link set fr") + name + id + " name v" + name + " && ip addr add " +
                 r_addr + " dev v" + name + " && ip link set v" + name +
                 " up && ip link set lo up");
      p_->execOk(std::string("ip link set fp") + name + id + " name v" + name + " && ip addr add " +
                 p_addr + " dev v" + name + " && ip link set v" + name +
                 " up && ip link set lo up");
    }
    r_->execOk("ip -6 addr add 2001:db8:98::1/64 dev ve nodad");
    p_->execOk("ip -6 addr add 2001:db8:98::2/64 dev ve nodad");
    {
      // Sockets made inside P stay there.
      const process::NetnsScope in_p(p_->name());
      source_ = std::make_unique<UdpSocket>("10.99.0.2:0");
      west_ = std::make_unique<UdpSocket>("10.99.0.2:6001");
      east_ = std::make_unique<UdpSocket>("10.98.0.2:6002");
    }
    ferryd_ = std::make_unique<Ferryd>(
        "dataplanes: 2\nmode: route\ntuning: { ecmp_seed: 3 }\n"
        "interfaces:\n"
        "  - { name: in, bind: \"10.99.0.1:5000\" }\n"
        "  - { name: west, bind: \"10.99.0.1:5001\", peer: \"10.99.0.2:6001\" }\n"
        "  - { name: east, bind: \"10.98.0.1:5002\", peer: \"10.98.0.2:6002\" }\n"
        "  - { name: v6, bind: \"[2001:db8:98::1]:5003\", peer: \"[2001:db8:98::2]:6003\" }\n"
        "routes: [ { prefix: \"10.90.0.0/16\", via: [east] } ]\n"
        "fpm: { listen: \"127.0.0.1:" +
            std::to_string(kFpmPort) + "\", batch_ms: 50, resync_ms: 4000 }\n",
        r_->name());
    ASSERT_TRUE(ferryd_->started()) << ferryd_->process().err();
    frr_ = std::make_unique<TempDir>();
  }

  void TearDown() override {
    peer_bgpd_ = Process();
    bgpd_ = Process();
    staticd_ = Process();
    zebra_ = Process();
    ferryd_.reset();
    source_.reset();
    west_.reset();
    east_.reset();
    r_.reset();
    p_.reset();
    frr_.reset();
    peer_dir_.reset();
  }

  // zebra with the FPM module, then staticd with `routes` (staticd.conf lines).
  void startFrr(const std::string& routes) {
    const std::string w = frr_->path();
    frr_->write("zebra.conf",
                "hostname fpmr\nfpm address 127.0.0.1 port " + std::to_string(kFpmPort) + "\n!\n");
    frr_->write("staticd.conf", "hostname fpmr\n" + routes + "!\n");
    shOk("chown -R frr:frr " + w);
    zebra_ = Process::start(
        {kZebra, "-f", w + "/zebra.conf", "-i", w + "/zebra.pid", "-z", w + "/zserv.api",
         "--vty_socket", w, "-A", "127.0.0.1", "-M", "dplane_fpm_nl"},
        {.netns = r_->name()});
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(w + "/zserv.api"); }, 10s))
        << zebra_.err();
    staticd_ = Process::start({kStaticd, "-f", w + "/staticd.conf", "-i", w + "/staticd.pid", "-z",
                               w + "/zserv.api", "--vty_socket", w, "-A", "127.0.0.1"},
                              {.netns = r_->name()});
  }
  void killFrr() {
    staticd_.signal(SIGKILL);
    zebra_.signal(SIGKILL);
    staticd_.wait(5s);
    zebra_.wait(5s);
    staticd_ = Process();
    zebra_ = Process();
    // The dead zebra's socket file would have staticd connect to nothing and
    // back off for seconds.
    std::filesystem::remove(frr_->path() + "/zserv.api");
  }
  void staticd(const std::string& line) {
    shOk("vtysh --vty_socket " + frr_->path() + " -d staticd -c 'configure terminal' -c '" + line +
         "'");
  }

  nlohmann::json routes() { return ferryd_->show("routes"); }
  nlohmann::json fpm() { return routes()["fpm"]; }
  // The route a packet to `address` takes (null: none).
  nlohmann::json lookup(const std::string& address) {
    std::string out;
    sh("ip netns exec " + r_->name() + " " + binary("FERRYCTL") + " --socket " +
           ferryd_->socketPath() + " show routes " + address + " --json",
       &out);
    auto doc = nlohmann::json::parse(out, nullptr, false);
    return doc.is_discarded() ? nlohmann::json() : doc["route"];
  }
  uint64_t noRoute() { return ferryd_->show("stats")["interfaces"][0]["drops"]["no_route"]; }

  struct Counts {
    int west = 0;
    int east = 0;
  };
  // `count` packets to inner destination `dst` over `flows` flows (source
  // ports), then what each neighbour received.
  Counts send(std::array<uint8_t, 4> dst, int count, int flows = 1) {
    const auto to = *SockAddr::parse("10.99.0.1:5000");
    for (int i = 0; i < count; ++i) {
      const auto p = innerPacket(uint16_t(2000 + i % flows), uint32_t(i), dst);
      source_->sendTo(to, p.data(), p.size());
    }
    return drain(300);
  }
  Counts drain(int timeout_ms) {
    Counts c;
    std::vector<uint8_t> buf(2048);
    while (west_->recv(buf.data(), buf.size(), timeout_ms) > 0) ++c.west;
    while (east_->recv(buf.data(), buf.size(), 50) > 0) ++c.east;
    return c;
  }

  // bgpd in R (AS 65000, through R's zebra) and a BGP peer in P (AS 65001,
  // 10.99.0.2, no zebra) announcing `networks`: R learns them with next hop
  // 10.99.0.2, ferry's west neighbour.
  void startBgp(const std::vector<std::string>& networks) {
    const std::string w = frr_->path();
    frr_->write(
        "bgpd.conf",
        "hostname fpmr\nrouter bgp 65000\n bgp router-id 10.99.0.1\n no bgp ebgp-requires-policy\n"
        " neighbor 10.99.0.2 remote-as 65001\n neighbor 10.99.0.2 timers 1 3\n"
        " neighbor 10.99.0.2 timers connect 1\n!\n");
    shOk("chown -R frr:frr " + w);
    bgpd_ = Process::start({"/usr/lib/frr/bgpd", "-f", w + "/bgpd.conf", "-i", w + "/bgpd.pid",
                            "-z", w + "/zserv.api", "--vty_socket", w, "-A", "127.0.0.1"},
                           {.netns = r_->name()});
    peer_dir_ = std::make_unique<TempDir>();
    const std::string pw = peer_dir_->path();
    std::string conf =
        "hostname fpmp\nrouter bgp 65001\n bgp router-id 10.99.0.2\n no bgp ebgp-requires-policy\n"
        " no bgp network import-check\n neighbor 10.99.0.1 remote-as 65000\n"
        " neighbor 10.99.0.1 timers 1 3\n neighbor 10.99.0.1 timers connect 1\n"
        " address-family ipv4 unicast\n";
    for (const auto& n : networks) conf += "  network " + n + "\n";
    conf += " exit-address-family\n!\n";
    peer_dir_->write("bgpd.conf", conf);
    shOk("chown -R frr:frr " + pw);
    peer_bgpd_ = Process::start({"/usr/lib/frr/bgpd", "-Z", "-f", pw + "/bgpd.conf", "-i",
                                 pw + "/bgpd.pid", "--vty_socket", pw, "-A", "127.0.0.1"},
                                {.netns = p_->name()});
  }
  void peerBgp(const std::string& line) {
    shOk("vtysh --vty_socket " + peer_dir_->path() +
         " -d bgpd -c 'configure terminal' -c 'router bgp 65001' -c "
         "'address-family ipv4 unicast' -c '" +
         line + "'");
  }

  static constexpr uint16_t kFpmPort = 2620;  // in R's own namespace: never taken
  std::unique_ptr<NetNs> r_, p_;
  std::unique_ptr<UdpSocket> source_, west_, east_;
  std::unique_ptr<Ferryd> ferryd_;
  std::unique_ptr<TempDir> frr_, peer_dir_;
  Process zebra_, staticd_, bgpd_, peer_bgpd_;
};

const std::string kRoutes =
    "ip route 10.50.0.0/16 10.99.0.2\n"  // west
    "ip route 10.60.0.0/16 10.98.0.2\n"  // east
    "ip route 10.70.0.0/16 10.99.0.2\n"  // multipath: west and east
    "ip route 10.70.0.0/16 10.98.0.2\n"
    "ip route 10.90.0.0/16 10.99.0.2\n"  // the config has it via east: the config wins
    "ip route 10.80.0.0/16 10.99.0.3\n"  // a next hop that is no interface's peer: left out
    "ipv6 route 2001:db8:50::/48 2001:db8:98::2\n";  // IPv6: interface v6

TEST_F(Fpm, TrafficFollowsZebrasRoutesWithdrawalMultipathAndRestart) {
  startFrr(kRoutes);
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 4; }, 20s))
      << routes().dump(2) << zebra_.err() << staticd_.err() << ferryd_->process().err();
  const auto summary = routes();
  EXPECT_EQ(summary["sources"]["config"], 1);
  EXPECT_EQ(summary["count"], 5);
  EXPECT_GE(summary["fpm"]["routes_left_out"].get<int>(), 1);
  EXPECT_GE(summary["fpm"]["unmapped_nexthops"].get<int>(), 1);
  EXPECT_NE(summary["fpm"]["left_out"].dump().find("10.80.0.0/16"), std::string::npos)
      << summary["fpm"].dump(2);
  EXPECT_EQ(summary["fpm"]["state"], "connected");
  EXPECT_EQ(summary["fpm"]["errors"], 0);
  EXPECT_EQ(summary["fpm"]["routes_shadowed_by_config"], 1);
  EXPECT_GE(summary["fpm"]["batches"].get<int>(), 1);
  std::cout << "fpm after the first sync: " << summary["fpm"].dump() << "\n";
  EXPECT_EQ(lookup("10.50.1.1")["via"][0]["interface"], "west");
  EXPECT_EQ(lookup("10.50.1.1")["source"], "fpm");
  EXPECT_EQ(lookup("10.90.1.1")["via"][0]["interface"], "east") << "the config's route wins";
  EXPECT_EQ(lookup("10.90.1.1")["source"], "config");
  EXPECT_EQ(lookup("10.70.1.1")["ecmp"], true);
  EXPECT_TRUE(lookup("10.80.1.1").is_null());
  EXPECT_EQ(lookup("2001:db8:50::1")["via"][0]["interface"], "v6");
  {
    // IPv6 inside IPv4 to zebra's IPv6 route: all 100 at the v6 neighbour.
    Process sink =
        Process::start({binary("FERRY_GEN"), "sink", "--listen", "[2001:db8:98::2]:6003", "--decap",
                        "--json", "--quiet", "--no-gro", "--expect-from-gen", "--duration", "20"},
                       {.netns = p_->name()});
    ASSERT_TRUE(sink.waitForOutput("listening on", 5s)) << sink.err();
    Process sender = Process::start(
        {binary("FERRY_GEN"), "send", "--to", "10.99.0.1:5000", "--encap", "ipv6", "--inner-dst",
         "2001:db8:50::/64", "--count", "100", "--rate", "2000", "--json", "--quiet"},
        {.netns = p_->name()});
    EXPECT_EQ(sender.wait(30s), 0) << sender.err();
    EXPECT_EQ(sink.wait(30s), 0) << sink.err();
    const auto got = nlohmann::json::parse(sink.out(), nullptr, false);
    ASSERT_FALSE(got.is_discarded()) << sink.out() << sink.err();
    EXPECT_EQ(got["packets"], 100) << got.dump();
  }

  // Single next hops: exact counts on the right neighbour.
  Counts c = send({10, 50, 0, 1}, 100);
  EXPECT_EQ(c.west, 100);
  EXPECT_EQ(c.east, 0);
  c = send({10, 60, 0, 1}, 100);
  EXPECT_EQ(c.west, 0);
  EXPECT_EQ(c.east, 100);
  // Multipath: 64 flows spread over both, none lost.
  c = send({10, 70, 0, 1}, 640, 64);
  EXPECT_EQ(c.west + c.east, 640);
  EXPECT_GE(c.west, 640 * 25 / 100) << "west " << c.west << ", east " << c.east;
  EXPECT_GE(c.east, 640 * 25 / 100) << "west " << c.west << ", east " << c.east;

  // Withdrawal: 10.50/16's traffic gets no_route. The batch that withdrew
  // it patched both tries of the last batch's table (TableMerger).
  const int patched_before = fpm()["tries_patched"].get<int>();
  staticd("no ip route 10.50.0.0/16 10.99.0.2");
  ASSERT_TRUE(eventually([&] { return lookup("10.50.1.1").is_null(); }, 10s)) << routes().dump(2);
  EXPECT_GE(fpm()["tries_patched"].get<int>(), patched_before + 2) << fpm().dump(2);
  const uint64_t no_route_before = noRoute();
  c = send({10, 50, 0, 1}, 100);
  EXPECT_EQ(c.west + c.east, 0);
  EXPECT_EQ(noRoute(), no_route_before + 100);
  // The batch that withdrew 10.50/16 is a new table: the routes it kept
  // kept their packet counts.
  EXPECT_EQ(lookup("10.60.1.1")["packets"], 100);
  EXPECT_EQ(lookup("10.70.1.1")["packets"], 640);

  // zebra killed: forwarding goes on with the last table. Restarted without
  // 10.60/16: it stays until the resync is over, then it is swept; the rest
  // is forwarded throughout (a steady stream over both kill and restart).
  // Stopped and joined however the test body ends (a failed ASSERT returns).
  struct ZebraStream {
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0};
    std::thread thread;
    ~ZebraStream() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } stream;
  stream.thread = std::thread([&] {
    const auto to = *SockAddr::parse("10.99.0.1:5000");
    while (!stream.stop.load()) {
      const int i = stream.sent.load();
      const auto p = innerPacket(uint16_t(3000 + i % 16), uint32_t(i), {10, 70, 0, 1});
      source_->sendTo(to, p.data(), p.size());
      stream.sent.fetch_add(1);
      std::this_thread::sleep_for(1ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  killFrr();
  ASSERT_TRUE(eventually([&] { return fpm()["state"] == "disconnected"; }, 5s)) << fpm().dump(2);
  EXPECT_EQ(routes()["sources"]["fpm"], 3) << "the last table stays";
  std::this_thread::sleep_for(500ms);
  startFrr(
      "ip route 10.70.0.0/16 10.99.0.2\nip route 10.70.0.0/16 10.98.0.2\nip route 10.90.0.0/16 "
      "10.99.0.2\n"
      "ipv6 route 2001:db8:50::/48 2001:db8:98::2\n");
  ASSERT_TRUE(eventually([&] { return fpm()["connects"] == 2; }, 20s))
      << fpm().dump(2) << zebra_.err();
  ASSERT_TRUE(eventually([&] { return fpm()["sweeps"] == 1; }, 20s)) << fpm().dump(2);
  EXPECT_EQ(fpm()["last_swept"], nlohmann::json::array({"10.60.0.0/16", "10.80.0.0/16"}))
      << fpm().dump(2);
  EXPECT_EQ(fpm()["stale_swept"], 2);
  stream.stop = true;
  stream.thread.join();
  const Counts during = drain(500);
  std::cout << "zebra restart: " << stream.sent.load() << " sent, " << during.west + during.east
            << " forwarded\n";
  EXPECT_EQ(during.west + during.east, stream.sent.load())
      << "forwarding went on while zebra was away";
  EXPECT_GT(during.west, 0);
  EXPECT_GT(during.east, 0);
  EXPECT_TRUE(lookup("10.60.1.1").is_null()) << "not re-sent: swept";
  EXPECT_EQ(lookup("10.70.1.1")["ecmp"], true);
  EXPECT_EQ(lookup("10.70.1.1")["packets"], 640 + stream.sent.load())
      << "counted across zebra's restart and the resync's batches";
  const auto after = routes();
  EXPECT_EQ(after["sources"]["fpm"], 2);
  EXPECT_EQ(after["fpm"]["state"], "connected");
  EXPECT_EQ(after["fpm"]["errors"], 0);
  EXPECT_EQ(after["fpm"]["disconnects"], 1);
  EXPECT_EQ(send({10, 60, 0, 1}, 10).east, 0);

  // A reload keeps the FPM routes. It publishes its own table, so the
  // batch after it builds both tries afresh.
  const int built_before = fpm()["tries_built"].get<int>();
  std::string out;
  ASSERT_EQ(sh("ip netns exec " + r_->name() + " " + binary("FERRYCTL") + " --socket " +
                   ferryd_->socketPath() + " reload",
               &out),
            0)
      << out;
  EXPECT_EQ(routes()["sources"]["fpm"], 2);
  EXPECT_TRUE(eventually([&] { return fpm()["tries_built"].get<int>() >= built_before + 2; }, 5s))
      << fpm().dump(2);
  c = send({10, 70, 0, 1}, 64, 64);
  EXPECT_EQ(c.west + c.east, 64);
  EXPECT_EQ(lookup("10.70.1.1")["packets"], 704 + stream.sent.load()) << "and across the reload";
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// zebra's drop routes (staticd's `blackhole` and `reject`) become ferry's
// drop routes: traffic to them is dropped and counted (blackhole /
// unreachable), never sent on by a less specific route; withdrawn, the less
// specific route forwards again.
TEST_F(Fpm, ZebrasBlackholeAndRejectRoutesDrop) {
  startFrr(
      "ip route 10.50.0.0/16 10.99.0.2\n"
      "ip route 10.50.128.0/17 blackhole\n"
      "ip route 10.51.0.0/16 reject\n"
      "ipv6 route 2001:db8:51::/48 blackhole\n");
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 4; }, 20s))
      << routes().dump(2) << zebra_.err() << staticd_.err() << ferryd_->process().err();
  // Left out are only the connected (interface) routes, none of the drop routes.
  const std::string left_out = fpm()["left_out"].dump();
  for (const char* p : {"10.50.128.0/17", "10.51.0.0/16", "2001:db8:51::/48"})
    EXPECT_EQ(left_out.find(p), std::string::npos) << p << " left out: " << left_out;
  EXPECT_EQ(lookup("10.50.200.1")["drop"], "blackhole") << lookup("10.50.200.1").dump();
  EXPECT_EQ(lookup("10.50.200.1")["source"], "fpm");
  EXPECT_EQ(lookup("10.51.1.1")["drop"], "unreachable") << lookup("10.51.1.1").dump();
  EXPECT_EQ(lookup("2001:db8:51::1")["drop"], "blackhole") << lookup("2001:db8:51::1").dump();
  EXPECT_EQ(lookup("10.50.1.1")["via"][0]["interface"], "west");
  const auto drops = [&] { return ferryd_->show("stats")["interfaces"][0]["drops"]; };
  Counts c = send({10, 50, 200, 1}, 100);
  EXPECT_EQ(c.west + c.east, 0) << "the /16 must not carry the blackholed /17";
  EXPECT_EQ(drops()["blackhole"], 100);
  c = send({10, 51, 0, 1}, 50);
  EXPECT_EQ(c.west + c.east, 0);
  EXPECT_EQ(drops()["unreachable"], 50);
  c = send({10, 50, 1, 1}, 100);
  EXPECT_EQ(c.west, 100);

  staticd("no ip route 10.50.128.0/17 blackhole");
  ASSERT_TRUE(eventually([&] { return lookup("10.50.200.1")["prefix"] == "10.50.0.0/16"; }, 10s))
      << routes().dump(2);
  c = send({10, 50, 200, 1}, 100);
  EXPECT_EQ(c.west, 100);
  EXPECT_EQ(drops()["blackhole"], 100);
  EXPECT_EQ(drops()["no_route"], 0);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// Routes a BGP peer announces reach ferry through R's bgpd and zebra, and go
// when withdrawn (one prefix, then all of them when the peer goes away).
TEST_F(Fpm, RoutesFromABgpPeerComeAndGo) {
  startFrr("");
  startBgp({"10.120.0.0/16", "10.121.0.0/16"});
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 2; }, 30s))
      << routes().dump(2) << bgpd_.err() << peer_bgpd_.err();
  EXPECT_EQ(lookup("10.120.5.5")["via"][0]["interface"], "west");
  EXPECT_EQ(lookup("10.121.5.5")["source"], "fpm");
  Counts c = send({10, 121, 0, 1}, 100);
  EXPECT_EQ(c.west, 100);
  EXPECT_EQ(c.east, 0);

  peerBgp("no network 10.121.0.0/16");
  ASSERT_TRUE(eventually([&] { return lookup("10.121.5.5").is_null(); }, 15s)) << routes().dump(2);
  EXPECT_EQ(routes()["sources"]["fpm"], 1);
  const uint64_t no_route_before = noRoute();
  c = send({10, 121, 0, 1}, 100);
  EXPECT_EQ(c.west + c.east, 0);
  EXPECT_EQ(noRoute(), no_route_before + 100);
  EXPECT_EQ(send({10, 120, 0, 1}, 100).west, 100);

  // The peer goes away (hold time 3 s): its last route is withdrawn too.
  peer_bgpd_.signal(SIGKILL);
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 0; }, 15s)) << routes().dump(2);
  EXPECT_EQ(fpm()["errors"], 0);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// zebra's next-hop weights (RTA_MULTIPATH's rtnh_hops; a weighted NHA_GROUP),
// sent by a hand-made FPM client as zebra sends them (FRR's staticd has no
// weights): the route is a weighted ECMP group (show routes lists the
// weights), and every flow leaves through the interface that the weighted
// split gives its hash, exactly.
TEST_F(Fpm, WeightedNextHopsSplitTheFlowsByWeight) {
  using namespace ferry::fpm::testing;
  int fd;
  {
    const process::NetnsScope in_r(r_->name());
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  ASSERT_GE(fd, 0);
  struct Close {
    int fd;
    ~Close() { ::close(fd); }
  } close_fd{fd};
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(kFpmPort));
  ASSERT_EQ(::connect(fd, to.sa(), to.len()), 0) << std::strerror(errno);
  const Bytes stream = frame(
      {newRouteWeighted("10.75.0.0/16", {fpm::testing::ip("10.99.0.2"), fpm::testing::ip("10.98.0.2")},
                        {2, 0}),  // west 3, east 1
       newNextHop(1, fpm::testing::ip("10.99.0.2")), newNextHop(2, fpm::testing::ip("10.98.0.2")),
       newGroup(3, {1, 2}, {0, 3}),  // west 1, east 4
       newRouteById("10.76.0.0/16", 3)});
  ASSERT_EQ(::send(fd, stream.data(), stream.size(), MSG_NOSIGNAL), ssize_t(stream.size()));
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 2; }, 5s)) << routes().dump(2);
  EXPECT_EQ(fpm()["errors"], 0);

  const auto via = [&](const char* address) {
    std::string out;
    const nlohmann::json route = lookup(address);
    for (const auto& v : route["via"])
      out += v["interface"].get<std::string>() + "*" + v.value("weight", nlohmann::json(0)).dump() + " ";
    return out;
  };
  EXPECT_EQ(via("10.75.1.1"), "west*3 east*1 ");
  EXPECT_EQ(via("10.76.1.1"), "west*1 east*4 ");
  std::string text;
  ASSERT_EQ(sh("ip netns exec " + r_->name() + " " + binary("FERRYCTL") + " --socket " +
                   ferryd_->socketPath() + " show routes 10.75.1.1",
               &text),
            0);
  EXPECT_NE(text.find("west*3,east*1"), std::string::npos) << text;

  // The split each flow must get: the inner flow hash with the config's
  // ecmp_seed (3), through the same weighted group (west is interface 1,
  // east 2).
  const auto expect = [](std::array<uint8_t, 4> dst, std::vector<uint32_t> weights, int count,
                         int flows) {
    const auto group =
        route::NextHopGroup::createWeighted(std::vector<uint32_t>{1, 2}, weights);
    Counts c;
    for (int i = 0; i < count; ++i) {
      const auto p = innerPacket(uint16_t(2000 + i % flows), uint32_t(i), dst);
      const uint32_t chosen = group->select(route::flowHash(p, 3), ~uint64_t{0});
      (chosen == 1 ? c.west : c.east) += 1;
    }
    return c;
  };
  for (const auto& [dst, weights] :
       {std::pair{std::array<uint8_t, 4>{10, 75, 0, 1}, std::vector<uint32_t>{3, 1}},
        std::pair{std::array<uint8_t, 4>{10, 76, 0, 1}, std::vector<uint32_t>{1, 4}}}) {
    const Counts want = expect(dst, weights, 1024, 256);
    const Counts got = send(dst, 1024, 256);
    EXPECT_EQ(got.west, want.west) << int(dst[1]);
    EXPECT_EQ(got.east, want.east) << int(dst[1]);
    // The weights show in the split: 3:1 and 1:4 of 256 flows, within 10%.
    const double west_share = double(got.west) / 1024.0;
    EXPECT_NEAR(west_share, double(weights[0]) / double(weights[0] + weights[1]), 0.1)
        << int(dst[1]) << ": west " << got.west << ", east " << got.east;
  }
  EXPECT_EQ(lookup("10.75.1.1")["packets"], 1024);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// ferry's FPM server against streams no zebra would send: a malformed
// netlink message is skipped (counted) and the session goes on; a frame
// header that loses the frame boundaries (bad version, absurd length)
// closes the connection, ferry keeps running and forwarding on what it had,
// and a new connection starts a resync whose stale routes are swept.
TEST_F(Fpm, BadStreamsCloseTheSessionNeverFerry) {
  using namespace ferry::fpm::testing;
  const auto connectFpm = [&] {
    const process::NetnsScope in_r(r_->name());
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(kFpmPort));
    if (fd < 0 || ::connect(fd, to.sa(), to.len()) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error("cannot connect to ferry's FPM port");
    }
    return fd;
  };
  const auto sendAll = [](int fd, const Bytes& b) {
    return ::send(fd, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size());
  };
  // True when ferry closed the connection (EOF within 5 s).
  const auto closedByFerry = [](int fd) {
    pollfd p{fd, POLLIN, 0};
    char c;
    return ::poll(&p, 1, 5000) == 1 && ::recv(fd, &c, 1, 0) == 0;
  };
  Message bad(RTM_NEWROUTE);
  bad.route(AF_INET, 16);
  bad.address(RTA_DST, fpm::testing::ip("10.51.0.0"))
      .attr(RTA_GATEWAY, {10, 99, 0});  // a 3-byte gateway

  int fd = connectFpm();
  ASSERT_TRUE(
      sendAll(fd, concat({frame({newNextHop(7, fpm::testing::ip("10.99.0.2")),
                                 newRouteById("10.50.0.0/16", 7)}),
                          frame({bad.bytes()}),
                          frame({newRoute("10.60.0.0/16", {fpm::testing::ip("10.98.0.2")})})})));
  ASSERT_TRUE(eventually([&] { return routes()["sources"]["fpm"] == 2; }, 5s)) << routes().dump(2);
  EXPECT_EQ(fpm()["errors"], 1);
  EXPECT_NE(fpm()["last_error"].get<std::string>().find("RTA_GATEWAY of 3 bytes"),
            std::string::npos);
  EXPECT_EQ(fpm()["state"], "connected");
  EXPECT_EQ(send({10, 50, 0, 1}, 50).west, 50);

  // A bad FPM version: the stream cannot be resynced, the session is closed.
  ASSERT_TRUE(sendAll(fd, Bytes{2, 1, 0, 8, 0, 0, 0, 0}));
  EXPECT_TRUE(closedByFerry(fd));
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return fpm()["state"] == "disconnected"; }, 5s)) << fpm().dump(2);
  EXPECT_EQ(fpm()["stream_errors"], 1);
  EXPECT_EQ(routes()["sources"]["fpm"], 2) << "the routes stay";
  EXPECT_EQ(send({10, 60, 0, 1}, 50).east, 50);

  // A new session re-sends 10.60/16 only, then a length shorter than the
  // FPM header: closed again; 10.50/16, not re-sent, is swept after the resync.
  fd = connectFpm();
  ASSERT_TRUE(sendAll(fd, frame({newRoute("10.60.0.0/16", {fpm::testing::ip("10.98.0.2")})})));
  ASSERT_TRUE(eventually([&] { return fpm()["route_updates"] == 3; }, 5s)) << fpm().dump(2);
  ASSERT_TRUE(sendAll(fd, Bytes{1, 1, 0, 2}));
  EXPECT_TRUE(closedByFerry(fd));
  ::close(fd);
  ASSERT_TRUE(eventually([&] { return fpm()["stream_errors"] == 2; }, 5s)) << fpm().dump(2);
  fd = connectFpm();  // a resync that sends nothing new
  ASSERT_TRUE(eventually([&] { return fpm()["sweeps"] == 1; }, 15s)) << fpm().dump(2);
  EXPECT_EQ(fpm()["last_swept"], nlohmann::json::array({"10.50.0.0/16", "10.60.0.0/16"}))
      << fpm().dump(2);
  ::close(fd);
  EXPECT_TRUE(lookup("10.50.1.1").is_null());
  EXPECT_EQ(fpm()["connects"], 3);
  EXPECT_EQ(ferryd_->terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
