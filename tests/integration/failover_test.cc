// Route mode with BFD-driven next-hop groups, end to end: ferry-gen sends
// IP-in-UDP into router R (ferryd, route mode); R's two next hops p1 and p2
// lead to E (a second ferryd, the BFD peer of both, relaying what arrives to
// ferry-gen sinks). Failover: an nft rule cuts p1 under a steady 10,000 pps
// stream; the loss (R's sends on p1 that E never received) is bounded by
// BFD's detection time (plus E's measured lateness in detecting) and is all
// the sink misses, and traffic returns to p1 when the cut is lifted. ECMP:
// 64 inner flows split over p1 and p2, each flow on one path. Everything runs in one network namespace made for
// the test (the nft rule must not touch the host).
#include <signal.h>

#include <iostream>
#include <map>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

struct Ports {
  uint16_t in = 40100, r1 = 40101, r2 = 40102, e1 = 40201, e2 = 40202, eo1 = 40203, eo2 = 40204,
           sink1 = 40301, sink2 = 40302;
};

class NextHops : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
    ns_ = std::make_unique<NetNs>("nh");
  }

  // On failure, both daemons' logs: with the test's own marks (mark(), on
  // stderr, stamped alike) they are the timeline of a failover.
  void TearDown() override {
    if (!HasFailure()) return;
    if (r_) std::cerr << "R (router) log:\n" << r_->process().err();
    if (e_) std::cerr << "E (relay to the sinks) log:\n" << e_->process().err();
    // Expiries deferred for a busy dataplane (expiries_deferred) lengthen a
    // detection beyond detection_time_us.
    if (r_ && r_->process().running()) std::cerr << "R show bfd: " << r_->show("bfd").dump() << "\n";
    if (e_ && e_->process().running()) std::cerr << "E show bfd: " << e_->show("bfd").dump() << "\n";
  }

  // R routes 10.2.0.0/16 over [p1, p2]; E relays p1 → sink1 and p2 → sink2
  // (`split`) or both to sink1.
  void start(bool ecmp, bool split) {
    const std::string bfd = "bfd: { interval_ms: 50, detect_mult: 3 }";
    r_ = std::make_unique<Ferryd>(
        "dataplanes: 2\nmode: route\nsteering: inner-flow\n"
        "tuning: { ecmp_seed: 1 }\n"
        "interfaces:\n"
        "  - { name: in, bind: " + ep(p_.in) + " }\n"
        "  - { name: p1, bind: " + ep(p_.r1) + ", peer: " + ep(p_.e1) + ", " + bfd + " }\n"
        "  - { name: p2, bind: " + ep(p_.r2) + ", peer: " + ep(p_.e2) + ", " + bfd + " }\n"
        "routes: [ { prefix: \"10.2.0.0/16\", via: [p1, p2]" + (ecmp ? ", ecmp: true" : "") + " } ]\n",
        ns_->name());
    ASSERT_TRUE(r_->started()) << r_->process().err();
    e_ = std::make_unique<Ferryd>(
        "dataplanes: 1\n"
        "interfaces:\n"
        "  - { name: p1, bind: " + ep(p_.e1) + ", peer: " + ep(p_.r1) + ", " + bfd + " }\n"
        "  - { name: p2, bind: " + ep(p_.e2) + ", peer: " + ep(p_.r2) + ", " + bfd + " }\n"
        "  - { name: o1, bind: " + ep(p_.eo1) + ", peer: " + ep(p_.sink1) + " }\n"
        "  - { name: o2, bind: " + ep(p_.eo2) + ", peer: " + ep(split ? p_.sink2 : p_.sink1) + " }\n"
        "relay: [ { from: p1, to: o1 }, { from: p2, to: o2 } ]\n",
        ns_->name());
    ASSERT_TRUE(e_->started()) << e_->process().err();
    ASSERT_TRUE(eventually([&] {
      const auto bfd_state = r_->show("bfd");
      return bfd_state["sessions"][0]["state"] == "up" && bfd_state["sessions"][1]["state"] == "up";
    }, 5s)) << r_->show("bfd").dump(2);
  }

  Process sink(uint16_t port, const std::string& extra = "") {
    std::vector<std::string> argv = {binary("FERRY_GEN"), "sink", "--listen", "127.0.0.1:" + std::to_string(port),
                                     "--decap", "--json", "--quiet", "--no-gro"};
    if (!extra.empty()) argv.push_back(extra);
    argv.push_back("--idle");
    argv.push_back("1.5");
    Process p = Process::start(argv, {.netns = ns_->name()});
    EXPECT_TRUE(p.waitForOutput("listening on", 5s)) << p.err();
    return p;
  }

  Process send(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {binary("FERRY_GEN"), "send", "--to", "127.0.0.1:" + std::to_string(p_.in),
                                     "--encap", "ipv4", "--inner-dst", "10.2.0.0/16", "--json", "--quiet"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process::start(argv, {.netns = ns_->name()});
  }

  // Interface `iface` in `f`'s `show stats` (one snapshot: BFD packets keep
  // arriving between two).
  static nlohmann::json interfaceStats(const Ferryd& f, const std::string& iface) {
    const auto stats = f.show("stats");
    for (const auto& i : stats["interfaces"])
      if (i["name"] == iface) return i;
    return nlohmann::json::object();
  }

  static nlohmann::json report(Process& p) {
    EXPECT_EQ(p.wait(30s), 0) << p.err();
    auto doc = nlohmann::json::parse(p.out(), nullptr, false);
    EXPECT_FALSE(doc.is_discarded()) << p.out() << p.err();
    return doc;
  }

  uint64_t txOn(const std::string& iface) {
    return interfaceStats(*r_, iface).value("tx_packets", uint64_t{0});
  }

  Ports p_;
  std::unique_ptr<NetNs> ns_;
  std::unique_ptr<Ferryd> r_, e_;
};

TEST_F(NextHops, FailoverLossBoundedByDetectionTimeAndTrafficReturns) {
  start(/*ecmp=*/false, /*split=*/false);
  auto sink1 = sink(p_.sink1, "--expect-from-gen");
  constexpr int kRate = 10000;
  // Stopped (SIGTERM: it still ends its flows with end markers) once the
  // traffic is back on p1; the duration only bounds it.
  auto sender = send({"--rate", std::to_string(kRate), "--duration", "30", "--flows", "8"});

  // Steady state on the primary.
  ASSERT_TRUE(eventually([&] { return txOn("p1") > 5000; }, 5s));
  EXPECT_EQ(txOn("p2"), 0u);
  const auto up = r_->show("bfd")["sessions"][0];
  const uint64_t detection_us = up["detection_time_us"];
  const uint64_t interval_us = up["tx_interval_us"];

  // Cut p1 (data and BFD towards E's p1) and wait for the failover.
  mark("cutting p1");
  ns_->execOk("nft add table inet ferrytest && "
              "nft add chain inet ferrytest in '{ type filter hook input priority 0; }' && "
              "nft add rule inet ferrytest in udp dport " + std::to_string(p_.e1) + " drop");
  mark("p1 cut");
  ASSERT_TRUE(eventually([&] { return txOn("p2") > 3000; }, 10s));
  EXPECT_EQ(r_->show("routes")["routes"][0]["active"], nlohmann::json::array({"p2"}));

  // E declared p1 down: its detection's lateness past detection_us (the BFD
  // thread's wake-up, or an expiry that waited for E's busy dataplane) adds
  // to the loss, within the bounds Bfd.UpDetectsStoppedPeer… holds it to.
  const auto e_down = e_->show("bfd")["sessions"][0];
  ASSERT_EQ(e_down["interface"], "p1") << e_down.dump();
  ASSERT_EQ(e_down["state"], "down") << e_down.dump();
  const uint64_t e_down_at = e_down["last_change_monotonic_us"], e_last_rx = e_down["last_rx_monotonic_us"];
  const uint64_t e_detected_after_us = e_down_at > e_last_rx ? e_down_at - e_last_rx : 0;
  const uint64_t e_late_us = e_detected_after_us > detection_us ? e_detected_after_us - detection_us : 0;
  const bool e_deferred = e_down["expiries_deferred"].get<uint64_t>() > 0;
  EXPECT_LE(e_late_us, e_deferred ? 1'005'000u : 20'000u) << e_down.dump();

  // Lift the cut: BFD comes back up (slow 1 s packets while down) and the
  // route returns to the primary.
  mark("failed over to p2 (E detected " + std::to_string(e_detected_after_us) + " µs after its last packet from R" +
       (e_deferred ? ", an expiry deferred" : "") + "); lifting the cut");
  ns_->execOk("nft delete table inet ferrytest");
  ASSERT_TRUE(eventually(
      [&] { return r_->show("routes")["routes"][0]["active"] == nlohmann::json::array({"p1"}); },
      10s))
      << r_->show("bfd").dump(2);
  const uint64_t p1_back = txOn("p1");
  mark("route back on p1");
  ASSERT_TRUE(eventually([&] { return txOn("p1") > p1_back + 2000; }, 10s))
      << "traffic did not return to p1";
  mark("traffic back on p1; stopping the sender");
  sender.signal(SIGTERM);

  const auto sent = report(sender);
  const auto got = report(sink1);
  const uint64_t lost = got["lost"];
  // What the cut dropped: data R sent on p1 that E's p1 never received (E's
  // socket queue did not overflow: checked below). With nothing else lost,
  // it is all the sink misses.
  const auto r_p1 = interfaceStats(*r_, "p1"), e_p1 = interfaceStats(*e_, "p1");
  const uint64_t cut = r_p1["tx_packets"].get<uint64_t>() -
                       (e_p1["rx_packets"].get<uint64_t>() - e_p1["bfd_rx"].get<uint64_t>());
  const uint64_t bound = uint64_t(kRate) * (detection_us + 2 * interval_us + e_late_us) / 1'000'000;
  std::cout << "failover: the cut dropped " << cut << " packets at " << kRate << " pps (bound " << bound
            << ", detection " << detection_us << " µs, E's " << e_late_us << " µs late); the sink missed "
            << lost << "\n";
  EXPECT_GT(cut, 0u) << "the cut dropped nothing: was p1 really cut?";
  EXPECT_LE(cut, bound) << "the cut dropped " << cut
                        << " > rate × (detection + 2 × interval + E's lateness) = " << bound;
  EXPECT_EQ(e_p1["rx_queue_overflow"], 0);
  EXPECT_EQ(r_->show("stats")["totals"]["dropped"], 0);
  EXPECT_EQ(e_->show("stats")["totals"]["dropped"], 0);
  EXPECT_EQ(lost, cut) << "packets were lost outside the cut";
  EXPECT_EQ(got["packets"].get<uint64_t>() + lost, sent["packets"].get<uint64_t>());
  EXPECT_EQ(got["duplicates"], 0);
  EXPECT_EQ(r_->terminate(), 0);
  EXPECT_EQ(e_->terminate(), 0);
}

TEST_F(NextHops, EcmpSplitsFlowsAndKeepsEachFlowOnOnePath) {
  start(/*ecmp=*/true, /*split=*/true);
  auto sink1 = sink(p_.sink1), sink2 = sink(p_.sink2);
  constexpr int kFlows = 64, kPerFlow = 100;
  auto sender = send({"--rate", "5000", "--count", std::to_string(kFlows * kPerFlow), "--flows",
                      std::to_string(kFlows)});
  const auto sent = report(sender);
  const auto a = report(sink1), b = report(sink2);
  EXPECT_EQ(sent["packets"], kFlows * kPerFlow);
  EXPECT_EQ(a["packets"].get<uint64_t>() + b["packets"].get<uint64_t>(), uint64_t(kFlows * kPerFlow));
  // Each flow arrived whole at exactly one sink.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> per_flow;
  for (const auto& f : a["flows"]) per_flow[f["flow"]].first += f["packets"].get<uint64_t>();
  for (const auto& f : b["flows"]) per_flow[f["flow"]].second += f["packets"].get<uint64_t>();
  ASSERT_EQ(per_flow.size(), size_t(kFlows));
  std::map<uint64_t, uint64_t> sent_per_flow;
  for (const auto& f : sent["flows"]) sent_per_flow[f["flow"]] = f["packets"];
  size_t on_a = 0;
  for (const auto& [flow, counts] : per_flow) {
    EXPECT_TRUE(counts.first == 0 || counts.second == 0) << "flow " << flow << " took both paths";
    EXPECT_EQ(counts.first + counts.second, sent_per_flow[flow]) << "flow " << flow << " lost packets";
    on_a += counts.first > 0;
  }
  EXPECT_GE(on_a * 100, size_t(kFlows) * 35) << on_a << " of " << kFlows << " flows on p1";
  EXPECT_LE(on_a * 100, size_t(kFlows) * 65) << on_a << " of " << kFlows << " flows on p1";
  const auto routes = r_->show("routes")["routes"];
  EXPECT_EQ(routes[0]["active"], nlohmann::json::array({"p1", "p2"}));
  EXPECT_EQ(r_->terminate(), 0);
  EXPECT_EQ(e_->terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
