// Scaling out behind BGP ECMP, with real FRR and no mocks (README "Scaling
// out"). Five network namespaces:
//
//   client ── upstream ──┬── host1 (ferryd + zebra + bgpd) ──┬── sink
//   ferry-gen  zebra,    └── host2 (ferryd + zebra + bgpd) ──┘   ferry-gen sink,
//   send       bgpd+bfdd                                         bfdd
//
// Both hosts announce 10.200.0.1/32 (ferryd's `announce:` device) to the
// upstream's bgpd, which spreads flows over them (maximum-paths, L4 hash).
// ferryd is the host's end of the upstream's BFD session (`neighbor X bfd`,
// rfc5881 mode) and of the sink's (its egress), and the upstream session
// depends_on the egress. Checked, with figures printed: the split of 64
// flows; kill -9 of one ferryd at 10 kpps (loss within rate × (detection +
// 2 intervals), counted as sent − received over 21 s after the kill); SIGTERM
// (no loss); the restarted host takes flows again; every egress of a host
// down (health gating; the same bound); a takeover keeps the announcement
// (no loss, both paths throughout).
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

constexpr const char* kBgpd = "/usr/lib/frr/bgpd";
constexpr const char* kVip = "10.200.0.1";
constexpr int kRate = 10'000;
constexpr int kVipFlows = 64;
// Every BFD session: 100 ms × 3.
constexpr double kDetectionS = 0.3;
constexpr double kIntervalS = 0.1;
// The bound: rate × (detection time + 2 intervals).
constexpr uint64_t kLossBound = uint64_t(kRate * (kDetectionS + 2 * kIntervalS));

// One FRR instance (its own directory for config, pid files and sockets).
struct Frr {
  std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
  Process zebra, bgpd, bfdd;

  std::string vty(const std::string& daemon, const std::string& command) const {
    std::string out;
    sh("vtysh --vty_socket " + dir->path() + " -d " + daemon + " -c '" + command + "'", &out);
    return out;
  }
  void start(const std::string& netns, const std::string& bgpd_conf, const std::string& bfdd_conf, bool zebra_too) {
    const std::string w = dir->path();
    dir->write("zebra.conf", "hostname " + netns + "\n");
    if (!bgpd_conf.empty()) dir->write("bgpd.conf", bgpd_conf);
    if (!bfdd_conf.empty()) dir->write("bfdd.conf", bfdd_conf);
    shOk("chown -R frr:frr " + w);
    if (zebra_too) {
      zebra = Process::start({kZebra, "-f", w + "/zebra.conf", "-i", w + "/zebra.pid", "-z", w + "/zserv.api",
                              "--vty_socket", w, "-A", "127.0.0.1"},
                             {.netns = netns});
      ASSERT_TRUE(eventually([&] { return std::filesystem::exists(w + "/zserv.api"); }, 10s)) << zebra.err();
    }
    if (!bfdd_conf.empty()) {
      std::vector<std::string> argv{kBfdd, "-f", w + "/bfdd.conf", "-i", w + "/bfdd.pid", "--vty_socket", w,
                                    "--bfdctl", w + "/bfdd.sock", "-A", "127.0.0.1"};
      if (zebra_too) argv.insert(argv.end(), {"-z", w + "/zserv.api"});
      bfdd = Process::start(argv, {.netns = netns});
    }
    if (!bgpd_conf.empty())
      bgpd = Process::start({kBgpd, "-f", w + "/bgpd.conf", "-i", w + "/bgpd.pid", "-z", w + "/zserv.api",
                             "--vty_socket", w, "-A", "127.0.0.1"},
                            {.netns = netns});
  }
};

// A ferry-gen run from the client to the service address, and the sink's
// report of it.
struct Traffic {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t lost() const { return sent > received ? sent - received : 0; }
};

class ScaleOut : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not a skip: this test exists to show the design works with real FRR.
    ASSERT_TRUE(canUseNetns()) << "scale-out needs root and ip netns";
    for (const char* daemon : {kZebra, kBgpd, kBfdd})
      ASSERT_TRUE(std::filesystem::exists(daemon)) << daemon << " missing: install Debian's frr package";
    client_ = std::make_unique<NetNs>("scc");
    upstream_ = std::make_unique<NetNs>("scu");
    host_[0] = std::make_unique<NetNs>("sch1");
    host_[1] = std::make_unique<NetNs>("sch2");
    sink_ = std::make_unique<NetNs>("scs");
    link(*client_, "toup", "10.71.0.1/30", *upstream_, "client", "10.71.0.2/30");
    for (int h = 0; h < 2; ++h) {
      const std::string n = std::to_string(h + 1);
      link(*upstream_, "host" + n, "10.71." + n + ".1/30", *host_[h], "toup", "10.71." + n + ".2/30");
      link(*host_[h], "sink", "10.71." + std::to_string(h + 3) + ".1/30", *sink_, "host" + n,
           "10.71." + std::to_string(h + 3) + ".2/30");
      host_[h]->execOk("ip route add default via 10.71." + n + ".1");
    }
    client_->execOk("ip route add default via 10.71.0.2");
    // What an operator sets on the upstream: forwarding, and ECMP hashed on
    // ports too (policy 1, L4), so one client's flows spread.
    upstream_->execOk("sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1");

    upstream_frr_.start(upstream_->name(),
                        "hostname upstream\nrouter bgp 65000\n bgp router-id 10.71.0.2\n"
                        " no bgp ebgp-requires-policy\n bgp bestpath as-path multipath-relax\n" +
                            neighbor("10.71.1.2", "65001") + neighbor("10.71.2.2", "65002") +
                            " address-family ipv4 unicast\n  maximum-paths 4\n exit-address-family\n!\n",
                        "bfd\n profile fast\n  receive-interval 100\n  transmit-interval 100\n"
                        "  detect-multiplier 3\n !\n!\n",
                        true);
    sink_frr_.start(sink_->name(), "",
                    "bfd\n" + bfdPeer("10.71.3.1", "10.71.3.2") + bfdPeer("10.71.4.1", "10.71.4.2") + "!\n", false);
    for (int h = 0; h < 2; ++h) {
      const std::string n = std::to_string(h + 1);
      host_frr_[h].start(host_[h]->name(),
                         "hostname host" + n + "\nrouter bgp 6500" + n + "\n bgp router-id 10.71." + n +
                             ".2\n no bgp ebgp-requires-policy\n neighbor 10.71." + n +
                             ".1 remote-as 65000\n neighbor 10.71." + n + ".1 timers 1 3\n neighbor 10.71." + n +
                             ".1 timers connect 1\n address-family ipv4 unicast\n  network " + kVip +
                             "/32\n exit-address-family\n!\n",
                         "", true);
      startFerry(h);
      ASSERT_TRUE(ferry_[h] && ferry_[h]->started()) << ferry_[h]->process().err();
    }
    sink_gen_ = std::make_unique<TempDir>();
  }

  void TearDown() override {
    // Processes first (their namespaces go next); the destructors kill what runs.
    for (auto& f : ferry_) f.reset();
    for (auto* frr : {&upstream_frr_, &sink_frr_, &host_frr_[0], &host_frr_[1]}) {
      frr->bgpd = Process();
      frr->bfdd = Process();
      frr->zebra = Process();
    }
    client_.reset();
    upstream_.reset();
    for (auto& h : host_) h.reset();
    sink_.reset();
  }

  static std::string neighbor(const std::string& address, const std::string& as) {
    return " neighbor " + address + " remote-as " + as + "\n neighbor " + address + " timers 1 3\n neighbor " +
           address + " timers connect 1\n neighbor " + address + " bfd\n neighbor " + address +
           " bfd profile fast\n";
  }
  static std::string bfdPeer(const std::string& peer, const std::string& local) {
    return " peer " + peer + " local-address " + local +
           "\n  receive-interval 100\n  transmit-interval 100\n  detect-multiplier 3\n  no shutdown\n !\n";
  }

  void link(const NetNs& a, const std::string& a_name, const std::string& a_addr, const NetNs& b,
            const std::string& b_name, const std::string& b_addr) {
    const std::string tmp_a = "sa" + std::to_string(getpid()) + "x" + std::to_string(links_);
    const std::string tmp_b = "sb" + std::to_string(getpid()) + "x" + std::to_string(links_++);
    shOk("ip link add " + tmp_a + " netns " + a.name() + " type veth peer name " + tmp_b + " netns " + b.name());
    a.execOk("ip link set " + tmp_a + " name " + a_name + " && ip addr add " + a_addr + " dev " + a_name +
             " && ip link set " + a_name + " up");
    b.execOk("ip link set " + tmp_b + " name " + b_name + " && ip addr add " + b_addr + " dev " + b_name +
             " && ip link set " + b_name + " up");
  }

  void startFerry(int h) {
    const std::string n = std::to_string(h + 1);
    const std::string s = std::to_string(h + 3);
    ferry_[h] = std::make_unique<Ferryd>(
        "dataplanes: 1\n"
        "announce: { device: ferry-svc, addresses: [\"" + std::string(kVip) + "/32\"] }\n"
        "interfaces:\n"
        "  - { name: vip, bind: \"" + std::string(kVip) + ":7000\" }\n"
        "  - name: uplink\n"
        "    bind: \"10.71." + n + ".2:7001\"\n"
        "    peer: \"10.71." + n + ".1:7001\"\n"
        "    bfd: { mode: rfc5881, interval_ms: 100, detect_mult: 3, depends_on: [sink] }\n"
        "  - name: sink\n"
        "    bind: \"10.71." + s + ".1:7002\"\n"
        "    peer: \"10.71." + s + ".2:9000\"\n"
        "    bfd: { mode: rfc5881, interval_ms: 100, detect_mult: 3 }\n"
        "relay:\n"
        "  - { from: vip, to: sink }\n",
        host_[h]->name());
  }

  // The upstream's next hops for the service address, as the kernel has them.
  int upstreamPaths() const {
    std::string out;
    upstream_->exec("ip route show " + std::string(kVip), &out);
    return int(occurrences(out, " via "));
  }
  bool upstreamVia(int h) const {
    std::string out;
    upstream_->exec("ip route show " + std::string(kVip), &out);
    return out.find("via 10.71." + std::to_string(h + 1) + ".2 ") != std::string::npos;
  }
  std::string upstreamRoute() const {
    std::string out;
    upstream_->exec("ip route show " + std::string(kVip), &out);
    return out;
  }
  uint64_t vipRx(int h) const { return ferry_[h] ? ferry_[h]->show("stats")["interfaces"][0]["rx_packets"].get<uint64_t>() : 0; }
  nlohmann::json session(int h, const std::string& interface) const {
    const nlohmann::json doc = ferry_[h]->show("bfd");  // kept: the loop reads into it
    for (const auto& s : doc["sessions"])
      if (s["interface"] == interface) return s;
    ADD_FAILURE() << "no BFD session on " << interface << ": " << doc.dump();
    return {{"state", "?"}, {"last_diagnostic", "?"}, {"gate_closed", false}};
  }

  // Starts the sink and the sender (`seconds` at kRate over kVipFlows flows).
  void startTraffic(double seconds) {
    sink_proc_ = Process::start({binary("FERRY_GEN"), "sink", "--listen", "0.0.0.0:9000", "--idle", "1.5",
                                 "--duration", std::to_string(int(seconds) + 10), "--json"},
                                {.netns = sink_->name()});
    ASSERT_TRUE(sink_proc_.waitForOutput("listening on", 5s)) << sink_proc_.err();
    sender_ = Process::start({binary("FERRY_GEN"), "send", "--to", std::string(kVip) + ":7000",
                              "--rate", std::to_string(kRate), "--flows", std::to_string(kVipFlows),
                              "--duration", std::to_string(seconds), "--json"},
                             {.netns = client_->name()});
  }
  Traffic finishTraffic(double seconds) {
    Traffic r;
    const auto sent_status = sender_.wait(std::chrono::milliseconds(int(seconds * 1000) + 10'000));
    EXPECT_EQ(sent_status, std::optional<int>(0)) << sender_.err();
    const auto sink_status = sink_proc_.wait(20s);
    EXPECT_EQ(sink_status, std::optional<int>(0)) << sink_proc_.err();
    auto sent = nlohmann::json::parse(sender_.out(), nullptr, false);
    auto got = nlohmann::json::parse(sink_proc_.out(), nullptr, false);
    EXPECT_FALSE(sent.is_discarded()) << sender_.out();
    EXPECT_FALSE(got.is_discarded()) << sink_proc_.out();
    if (!sent.is_discarded()) r.sent = sent["packets"].get<uint64_t>();
    if (!got.is_discarded()) r.received = got["packets"].get<uint64_t>();
    return r;
  }

  // Both hosts announce and are up (BFD, BGP, the kernel's multipath route).
  void waitForTwoPaths(const char* when) {
    ASSERT_TRUE(eventually([&] { return upstreamPaths() == 2; }, 30s))
        << when << ": the upstream never had both hosts: " << upstreamRoute() << "\n"
        << upstream_frr_.vty("bgpd", "show bgp summary") << upstream_frr_.vty("bfdd", "show bfd peers brief");
  }

  // 64 flows for 2 s: each host's share of what its `vip` interface received.
  void checkSpread(const char* when) {
    const uint64_t before[2] = {vipRx(0), vipRx(1)};
    startTraffic(2);
    const Traffic run = finishTraffic(2);
    const uint64_t got[2] = {vipRx(0) - before[0], vipRx(1) - before[1]};
    const double total = double(got[0] + got[1]);
    ASSERT_GT(total, 0);
    const double share = double(got[0]) / total;
    std::printf(
        "scale-out: %s: %d flows: host1 %llu, host2 %llu datagrams (host1 %.1f%%); sent %llu, "
        "received %llu\n",
        when, kVipFlows, (unsigned long long)got[0], (unsigned long long)got[1], share * 100,
        (unsigned long long)run.sent, (unsigned long long)run.received);
    EXPECT_GE(share, 0.30) << when;
    EXPECT_LE(share, 0.70) << when;
    EXPECT_EQ(run.lost(), 0u) << when;
  }

  std::unique_ptr<NetNs> client_, upstream_, host_[2], sink_;
  Frr upstream_frr_, sink_frr_, host_frr_[2];
  std::unique_ptr<Ferryd> ferry_[2];
  std::unique_ptr<TempDir> sink_gen_;
  Process sender_, sink_proc_;
  int links_ = 0;
};

TEST_F(ScaleOut, FlowsSpreadAndEveryFailureCostsAtMostTheDetectionTime) {
  const auto t0 = std::chrono::steady_clock::now();
  waitForTwoPaths("start");
  std::printf("scale-out: both hosts announced and installed after %.1f s: %s",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              upstreamRoute().c_str());
  checkSpread("start");
  if (HasFatalFailure()) return;

  // kill -9 of host1's ferryd at 10 kpps: the kernel deletes its announce
  // device, host1's bgpd withdraws, the upstream's BFD times out; loss is
  // counted over 21 s after the kill (half the flows would otherwise be cut
  // off for good once the upstream's BGP session came back).
  {
    startTraffic(23);
    std::this_thread::sleep_for(2s);
    const auto killed = std::chrono::steady_clock::now();
    ferry_[0]->process().signal(SIGKILL);
    ferry_[0]->process().wait(5s);
    EXPECT_TRUE(eventually([&] { return !upstreamVia(0); }, 5s)) << upstreamRoute();
    const double moved_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - killed).count();
    EXPECT_NE(host_[0]->exec("ip link show ferry-svc 2>/dev/null"), 0) << "the kernel keeps the announce device";
    const uint64_t host2_before = vipRx(1);
    const Traffic run = finishTraffic(23);
    const uint64_t host2_after = vipRx(1);
    std::printf("scale-out: kill -9 of host1's ferryd at %d pps: upstream route without host1 %.0f ms after the kill; "
                "sent %llu, received %llu, lost %llu (bound %llu = rate x (%.0f ms detection + 2 x %.0f ms)); "
                "host2 forwarded %llu after the kill; upstream now: %s",
                kRate, moved_ms, (unsigned long long)run.sent, (unsigned long long)run.received,
                (unsigned long long)run.lost(), (unsigned long long)kLossBound, kDetectionS * 1000,
                kIntervalS * 1000, (unsigned long long)(host2_after - host2_before), upstreamRoute().c_str());
    EXPECT_LE(run.lost(), kLossBound);
    EXPECT_GT(run.sent, uint64_t(kRate * 20));
    EXPECT_FALSE(upstreamVia(0)) << "host1 came back without its ferryd";
  }
  if (HasFatalFailure()) return;

  // host1 restarted: announced again, and flows spread over both again.
  {
    const auto restarted = std::chrono::steady_clock::now();
    startFerry(0);
    ASSERT_TRUE(ferry_[0]->started()) << ferry_[0]->process().err();
    waitForTwoPaths("host1 restarted");
    std::printf("scale-out: host1 restarted: back in the upstream's route after %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted).count());
    checkSpread("host1 restarted");
  }
  if (HasFatalFailure()) return;

  // SIGTERM of host2's ferryd under traffic: BFD Down with diag 4 at once,
  // forwarding through the drain: no loss.
  {
    startTraffic(4);
    std::this_thread::sleep_for(1s);
    const auto stopped = std::chrono::steady_clock::now();
    ferry_[1]->process().signal(SIGTERM);
    EXPECT_TRUE(eventually([&] { return !upstreamVia(1); }, 5s)) << upstreamRoute();
    const double moved_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stopped).count();
    const std::string peer = upstream_frr_.vty("bfdd", "show bfd peer 10.71.2.2");
    const auto status = ferry_[1]->process().wait(10s);
    const double exited_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - stopped).count();
    EXPECT_EQ(status, std::optional<int>(0)) << ferry_[1]->process().err();
    const std::string log = ferry_[1]->process().err();
    EXPECT_NE(log.find("forwarding_plane_reset"), std::string::npos) << log;
    const Traffic run = finishTraffic(4);
    std::printf("scale-out: SIGTERM of host2's ferryd at %d pps: upstream route without host2 %.0f ms after the "
                "signal, ferryd exited after %.0f ms; sent %llu, received %llu, lost %llu\n",
                kRate, moved_ms, exited_ms, (unsigned long long)run.sent, (unsigned long long)run.received,
                (unsigned long long)run.lost());
    EXPECT_NE(peer.find("forwarding plane reset"), std::string::npos)
        << "the upstream's bfdd should have heard diag 4:\n" << peer;
    EXPECT_EQ(run.lost(), 0u) << "a graceful stop loses nothing";
    EXPECT_GT(run.sent, uint64_t(kRate * 3));
    startFerry(1);
    ASSERT_TRUE(ferry_[1]->started()) << ferry_[1]->process().err();
    waitForTwoPaths("host2 restarted");
  }
  if (HasFatalFailure()) return;

  // Every egress of host1 down (its link to the sink): its BFD toward the
  // sink times out, the gate holds its upstream session Down with diag 6
  // and withdraws the announcement; the upstream stops sending to it.
  {
    startTraffic(6);
    std::this_thread::sleep_for(1s);
    const auto cut = std::chrono::steady_clock::now();
    sink_->execOk("ip link set host1 down");
    EXPECT_TRUE(eventually([&] { return !upstreamVia(0); }, 5s)) << upstreamRoute();
    const double moved_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - cut).count();
    const nlohmann::json uplink = session(0, "uplink");
    const Traffic run = finishTraffic(6);
    std::printf("scale-out: host1's only egress down at %d pps: upstream route without host1 %.0f ms later; "
                "host1's uplink session %s (diag %s); sent %llu, received %llu, lost %llu (bound %llu)\n",
                kRate, moved_ms, uplink["state"].get<std::string>().c_str(),
                uplink["last_diagnostic"].get<std::string>().c_str(), (unsigned long long)run.sent,
                (unsigned long long)run.received, (unsigned long long)run.lost(), (unsigned long long)kLossBound);
    EXPECT_EQ(uplink["state"], "down");
    EXPECT_EQ(uplink["last_diagnostic"], "concatenated_path_down");
    EXPECT_TRUE(uplink["gate_closed"].get<bool>());
    EXPECT_LE(run.lost(), kLossBound);
    EXPECT_FALSE(upstreamVia(0)) << "a host that cannot forward must not attract traffic";
    // The egress back: the gate opens and host1 is announced again.
    sink_->execOk("ip link set host1 up");
    const auto back = std::chrono::steady_clock::now();
    waitForTwoPaths("egress back");
    std::printf("scale-out: host1's egress back: announced and installed again after %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count());
  }
  if (HasFatalFailure()) return;

  // A takeover (SIGUSR2: the same binary re-executed with --takeover) keeps
  // the announcement: the new process takes the device's descriptor before
  // the old one exits, so the upstream never loses host2.
  {
    startTraffic(4);
    std::this_thread::sleep_for(1s);
    ferry_[1]->process().signal(SIGUSR2);
    bool both = true;
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < until) both = both && upstreamPaths() == 2;
    const auto status = ferry_[1]->process().wait(10s);
    EXPECT_EQ(status, std::optional<int>(0)) << ferry_[1]->process().err();
    EXPECT_EQ(host_[1]->exec("ip link show ferry-svc >/dev/null"), 0) << "the announce device went with the old process";
    const Traffic run = finishTraffic(4);
    std::printf("scale-out: takeover of host2's ferryd (SIGUSR2) at %d pps: upstream kept both hosts: %s; "
                "sent %llu, received %llu, lost %llu\n",
                kRate, both ? "yes" : "no", (unsigned long long)run.sent, (unsigned long long)run.received,
                (unsigned long long)run.lost());
    EXPECT_TRUE(both) << "the upstream lost host2 during the takeover";
    EXPECT_EQ(run.lost(), 0u);
    EXPECT_EQ(ferry_[1]->show("bfd")["sessions"].size(), 2u) << "the new process serves the control socket";
  }
  std::printf("scale-out: whole test %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace
}  // namespace ferry::test
