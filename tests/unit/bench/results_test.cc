// Results: the JSON shape the README documents, CSV, the table with ratios to
// mmsg, and the verdicts on the throughput targets.
#include "ferry/bench/results.h"

#include <gtest/gtest.h>

#include <sstream>

namespace ferry::bench {
namespace {

RunResult run(std::string impl, unsigned dp, uint32_t size, double pps, bool found = true) {
  RunResult r;
  r.impl = std::move(impl);
  r.dataplanes = dp;
  r.size = size;
  r.flows = 64;
  r.found = found;
  r.at.offered_pps = pps;
  r.at.sent_pps = pps;
  r.at.received_pps = pps;
  r.at.loss = 0.0004;
  r.at.p50_us = 35;
  r.at.p99_us = 120.5;
  r.at.cpu_ns_per_packet = 2500;
  r.at.passed = found;
  r.trials = {r.at, r.at};
  return r;
}

TEST(Results, RatesFromTheBestTrial) {
  const RunResult r = run("ferry", 1, 1400, 250'000);
  EXPECT_DOUBLE_EQ(r.mpps(), 0.25);
  EXPECT_DOUBLE_EQ(r.gbps(), 250e3 * 1400 * 8 / 1e9);             // 2.8
  EXPECT_DOUBLE_EQ(r.gbpsWire(), 250e3 * (1400 + 66) * 8 / 1e9);  // 2.932
  const RunResult none = run("ferry", 1, 1400, 250'000, /*found=*/false);
  EXPECT_EQ(none.mpps(), 0);
  EXPECT_EQ(none.gbps(), 0);
}

TEST(Results, RatioToMmsgAtTheSamePoint) {
  const std::vector<RunResult> runs = {run("ferry", 1, 64, 150e3), run("mmsg", 1, 64, 100e3),
                                       run("ferry", 2, 64, 200e3), run("mmsg", 2, 512, 100e3)};
  EXPECT_DOUBLE_EQ(*ratioToReference(runs, runs[0]), 1.5);
  EXPECT_DOUBLE_EQ(*ratioToReference(runs, runs[1]), 1.0);
  EXPECT_FALSE(ratioToReference(runs, runs[2]).has_value()) << "no mmsg at 2 dp, 64 B";
}

TEST(Results, JsonHasTheDocumentedShape) {
  BenchReport report;
  report.machine = {2, "Test CPU", "6.1.0", "host", 1 << 30};
  report.settings = {{"topology", "netns"}, {"trial_s", 2.0}};
  report.runs = {run("ferry", 1, 64, 150e3), run("mmsg", 1, 64, 100e3),
                 run("kernel", 1, 64, 0, false)};
  report.runs[2].error = "boom";
  const nlohmann::json j = toJson(report);
  EXPECT_EQ(j["machine"]["cpus"], 2);
  EXPECT_EQ(j["machine"]["kernel"], "6.1.0");
  EXPECT_EQ(j["settings"]["topology"], "netns");
  ASSERT_EQ(j["runs"].size(), 3u);
  const auto& f = j["runs"][0];
  for (const char* key :
       {"impl", "dataplanes", "size", "flows", "gbps", "gbps_wire", "mpps", "loss", "p50_us",
        "p99_us", "cpu_ns_per_packet", "router_cpus_ns_per_packet", "trials"})
    EXPECT_TRUE(f.contains(key)) << key;
  EXPECT_TRUE(f["router_cpus_ns_per_packet"].is_null()) << "not measured";
  EXPECT_EQ(f["impl"], "ferry");
  EXPECT_EQ(f["dataplanes"], 1);
  EXPECT_EQ(f["size"], 64);
  EXPECT_EQ(f["flows"], 64);
  EXPECT_DOUBLE_EQ(f["mpps"].get<double>(), 0.15);
  EXPECT_DOUBLE_EQ(f["gbps"].get<double>(), 150e3 * 64 * 8 / 1e9);
  EXPECT_DOUBLE_EQ(f["loss"].get<double>(), 0.0004);
  EXPECT_DOUBLE_EQ(f["p99_us"].get<double>(), 120.5);
  EXPECT_DOUBLE_EQ(f["cpu_ns_per_packet"].get<double>(), 2500);
  EXPECT_DOUBLE_EQ(f["ratio_to_mmsg"].get<double>(), 1.5);
  EXPECT_EQ(f["trials"].size(), 2u);
  EXPECT_TRUE(f["trials"][0].contains("offered_pps"));
  const auto& k = j["runs"][2];
  EXPECT_EQ(k["found"], false);
  EXPECT_TRUE(k["loss"].is_null());
  EXPECT_EQ(k["error"], "boom");
  EXPECT_FALSE(f.contains("error"));
  ASSERT_EQ(j["targets"].size(), 1u);
  EXPECT_EQ(j["targets"][0]["met"], true);
}

TEST(Results, JsonRoundTrip) {
  BenchReport report;
  report.machine = {2, "Test CPU", "6.1.0", "host", 1 << 30};
  report.settings = {{"topology", "netns"}};
  RunResult f = run("ferry", 2, 1400, 150e3);
  f.trials[0].offered_pps = 0;  // the unbounded first trial
  f.trials[0].sent_pps = 400e3;
  f.trials[0].passed = false;
  f.trials[1].cpu_ns_per_packet.reset();
  f.at = f.trials[1];
  report.runs = {f, run("mmsg", 2, 1400, 100e3, false)};
  report.runs[1].error = "gone";
  const BenchReport back = reportFromJson(toJson(report));
  EXPECT_EQ(toJson(back), toJson(report));
  EXPECT_DOUBLE_EQ(back.runs[0].mpps(), 0.15);
  EXPECT_EQ(back.runs[1].error, "gone");
}

TEST(Results, CsvOneLinePerRunWithAHeader) {
  std::vector<RunResult> runs = {run("ferry", 1, 64, 150e3), run("mmsg", 1, 64, 100e3)};
  runs[1].error = "said \"no\", twice";
  const std::string csv = toCsv(runs);
  std::istringstream in(csv);
  std::string header, l1, l2, extra;
  std::getline(in, header);
  std::getline(in, l1);
  std::getline(in, l2);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(header.rfind("impl,dataplanes,size,flows,found,gbps,", 0), 0u);
  EXPECT_EQ(l1.rfind("ferry,1,64,64,true,0.076800,", 0), 0u) << l1;
  EXPECT_NE(l1.find(",1.5000,"), std::string::npos) << "ratio to mmsg: " << l1;
  EXPECT_NE(l2.find("\"said \"\"no\"\", twice\""), std::string::npos) << l2;
  const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
  EXPECT_EQ(commas(header), commas(l1));
}

TEST(Results, TableRowsByImplementationAndDataplanesColumnsBySize) {
  const std::vector<RunResult> runs = {run("mmsg", 1, 1400, 100e3), run("ferry", 2, 64, 220e3),
                                       run("ferry", 1, 64, 150e3),  run("mmsg", 1, 64, 100e3),
                                       run("ferry", 1, 1400, 90e3), run("nginx", 2, 64, 40e3)};
  std::ostringstream out;
  printTable(out, runs);
  const std::string t = out.str();
  const auto ferry1 = t.find("ferry      1");
  const auto ferry2 = t.find("ferry      2");
  const auto mmsg1 = t.find("mmsg       1");
  const auto nginx2 = t.find("nginx      2");
  ASSERT_NE(ferry1, std::string::npos) << t;
  ASSERT_NE(ferry2, std::string::npos) << t;
  ASSERT_NE(mmsg1, std::string::npos) << t;
  ASSERT_NE(nginx2, std::string::npos) << t;
  EXPECT_LT(ferry1, ferry2);
  EXPECT_LT(ferry2, mmsg1);
  EXPECT_LT(mmsg1, nginx2);
  EXPECT_LT(t.find("64 B"), t.find("1400 B"));
  EXPECT_NE(t.find("1.50x"), std::string::npos) << t;  // ferry 1 dp, 64 B
  EXPECT_NE(t.find("0.90x"), std::string::npos) << t;  // ferry 1 dp, 1400 B
  EXPECT_NE(t.find("NOT met ferry >= 1.0x mmsg"), std::string::npos) << t;
  EXPECT_NE(t.find("met     ferry with 2 dataplanes >= 4x nginx"), std::string::npos) << t;
}

TEST(Results, Targets) {
  std::vector<RunResult> runs = {run("ferry", 1, 64, 100e3), run("mmsg", 1, 64, 100e3),
                                 run("ferry", 2, 64, 150e3), run("mmsg", 2, 64, 140e3),
                                 run("nginx", 2, 64, 40e3)};
  auto targets = checkTargets(runs);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_TRUE(targets[0].met) << targets[0].detail;  // 1.00x and 1.07x
  EXPECT_EQ(targets[0].detail, "lowest 1.00x at 1 dp, 64 B, 2 points");
  EXPECT_FALSE(targets[1].met) << targets[1].detail;  // 3.75x
  EXPECT_EQ(targets[1].detail, "64 B: 3.75x");
  runs[0].found = false;  // ferry found no rate where mmsg did: 0x
  EXPECT_FALSE(checkTargets(runs)[0].met);
  EXPECT_TRUE(checkTargets({run("ferry", 1, 64, 1)}).empty()) << "nothing to compare";
}

RunResult tunnel(std::string impl, unsigned dp, uint32_t size, double pps) {
  RunResult r = run(std::move(impl), dp, size, pps);
  r.traffic = "tunnel";
  r.flows = 4;
  r.generator_threads = 1;
  return r;
}

TEST(Results, TrafficProfileInJsonCsvAndTable) {
  BenchReport report;
  report.machine = {2, "Test CPU", "6.1.0", "host", 1 << 30};
  report.settings = {{"traffic", "tunnel"}};
  report.runs = {tunnel("ferry", 1, 1400, 300e3), tunnel("ferry-nogro", 1, 1400, 100e3),
                 tunnel("kernel", 1, 1400, 250e3)};
  report.runs[0].wire = WireCheck{412, 412};
  report.runs[0].trials[0].ingress_pushback = 7;
  // The kernel's cost is measured on the router's CPUs only.
  report.runs[2].at.router_cpus_ns_per_packet = 1500;
  report.runs[2].trials[1].router_cpus_ns_per_packet = 1500;
  report.runs[2].at.cpu_ns_per_packet.reset();
  report.runs[2].trials[1].cpu_ns_per_packet.reset();
  const nlohmann::json j = toJson(report);
  ASSERT_EQ(j["runs"].size(), 3u);
  EXPECT_EQ(j["runs"][0]["impl"], "ferry");
  EXPECT_EQ(j["runs"][1]["impl"], "ferry-nogro");
  EXPECT_EQ(j["runs"][2]["impl"], "kernel");
  for (const auto& r : j["runs"]) {
    EXPECT_EQ(r["traffic"], "tunnel");
    EXPECT_EQ(r["flows"], 4);
    EXPECT_EQ(r["generator_threads"], 1);
  }
  EXPECT_EQ(j["runs"][0]["wire_check"]["sent"], 412);
  EXPECT_EQ(j["runs"][0]["wire_check"]["gen_veth_tx_packets"], 412);
  EXPECT_TRUE(j["runs"][1]["wire_check"].is_null());
  EXPECT_EQ(j["runs"][0]["trials"][0]["ingress_pushback"], 7);
  EXPECT_EQ(j["runs"][2]["router_cpus_ns_per_packet"], 1500.0);
  EXPECT_EQ(j["runs"][2]["trials"][1]["router_cpus_ns_per_packet"], 1500.0);
  EXPECT_TRUE(j["runs"][2]["trials"][0]["router_cpus_ns_per_packet"].is_null());
  EXPECT_TRUE(j["runs"][0]["router_cpus_ns_per_packet"].is_null());
  const BenchReport back = reportFromJson(j);
  EXPECT_EQ(toJson(back), j);
  EXPECT_EQ(back.runs[0].traffic, "tunnel");
  EXPECT_EQ(back.runs[2].at.router_cpus_ns_per_packet, 1500.0);

  // A run saved before there were profiles reads back as spread traffic.
  nlohmann::json old = toJson(BenchReport{report.machine, {}, {run("ferry", 1, 64, 1e5)}});
  old["runs"][0].erase("traffic");
  old["runs"][0].erase("generator_threads");
  old["runs"][0].erase("wire_check");
  old["runs"][0]["trials"][0].erase("ingress_pushback");
  for (auto& t : old["runs"][0]["trials"]) t.erase("router_cpus_ns_per_packet");
  const BenchReport older = reportFromJson(old);
  EXPECT_EQ(older.runs[0].traffic, "spread");
  EXPECT_FALSE(older.runs[0].at.router_cpus_ns_per_packet.has_value());
  EXPECT_FALSE(older.runs[0].wire.has_value());

  const std::string csv = toCsv(report.runs);
  EXPECT_NE(csv.find(",error,traffic,generator_threads,router_cpus_ns_per_packet\n"),
            std::string::npos)
      << csv;
  EXPECT_NE(csv.find("ferry-nogro,1,1400,4,true,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",tunnel,1,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",tunnel,1,1500.0000\n"), std::string::npos) << csv;

  std::ostringstream out;
  printTable(out, report.runs);
  const std::string t = out.str();
  EXPECT_EQ(t.rfind("traffic: tunnel (4 flows)\n", 0), 0u) << t;
  EXPECT_NE(t.find("ferry          1"), std::string::npos) << t;
  EXPECT_NE(t.find("ferry-nogro    1"), std::string::npos) << t;
  const auto kernel = t.find("kernel         1");
  ASSERT_NE(kernel, std::string::npos) << t;
  // kernel row: Gbit/s, Mpps, no ratio, no process CPU, 1500 ns on the router's CPUs.
  EXPECT_NE(t.find("        -      1500", kernel), std::string::npos) << t;
  EXPECT_NE(t.find("rtr ns/p"), std::string::npos) << t;
}

TEST(Results, RatiosOnlyWithinOneTrafficProfile) {
  const std::vector<RunResult> runs = {tunnel("ferry", 1, 64, 200e3), run("mmsg", 1, 64, 100e3)};
  EXPECT_FALSE(ratioToReference(runs, runs[0]).has_value()) << "mmsg ran spread traffic only";
}

TEST(Results, TunnelTargets) {
  std::vector<RunResult> runs = {tunnel("ferry", 1, 1400, 300e3),
                                 tunnel("ferry-nogro", 1, 1400, 140e3),
                                 tunnel("kernel", 1, 1400, 250e3)};
  runs[0].at.cpu_ns_per_packet = 450;
  auto targets = checkTargets(runs);
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].name, "tunnel traffic: ferry >= 1.0x kernel at every point");
  EXPECT_TRUE(targets[0].met);
  EXPECT_EQ(targets[0].detail, "lowest 1.20x at 1 dp, 1400 B, 1 point");
  EXPECT_EQ(targets[1].name, "tunnel traffic: ferry >= 2.0x ferry-nogro at every point");
  EXPECT_TRUE(targets[1].met);
  EXPECT_EQ(targets[1].detail, "lowest 2.14x at 1 dp, 1400 B, 1 point");
  EXPECT_EQ(targets[2].name, "tunnel traffic: ferry's CPU <= 0.5 us per packet at 1400 B");
  EXPECT_TRUE(targets[2].met);
  EXPECT_EQ(targets[2].detail, "1 dp: 0.450 us");
  // With today's dataplane: ferry and ferry-nogro about equal.
  runs[1].at.received_pps = 290e3;
  runs[0].at.cpu_ns_per_packet = 1900;
  targets = checkTargets(runs);
  EXPECT_FALSE(targets[1].met);
  EXPECT_EQ(targets[1].detail, "lowest 1.03x at 1 dp, 1400 B, 1 point");
  EXPECT_FALSE(targets[2].met);
  EXPECT_EQ(targets[2].detail, "1 dp: 1.900 us");
  // The router CPUs' busy time is shown beside ferry's own, which decides.
  runs[0].at.cpu_ns_per_packet = 450;
  runs[0].at.router_cpus_ns_per_packet = 1250;
  targets = checkTargets(runs);
  EXPECT_TRUE(targets[2].met);
  EXPECT_EQ(targets[2].detail, "1 dp: 0.450 us (router CPUs 1.250 us)");
  // Spread traffic does not count for these.
  for (auto& r : runs) r.traffic = "spread";
  EXPECT_TRUE(checkTargets(runs).empty());
}

TEST(Results, SortOrder) {
  std::vector<RunResult> runs = {run("kernel", 1, 64, 1), run("zeta", 1, 64, 1),
                                 run("mmsg", 2, 64, 1),   run("mmsg", 1, 1400, 1),
                                 run("mmsg", 1, 64, 1),   run("ferry", 4, 64, 1),
                                 run("ferry-nogro", 1, 64, 1)};
  sortRuns(runs);
  std::vector<std::string> order;
  for (const auto& r : runs)
    order.push_back(r.impl + std::to_string(r.dataplanes) + "/" + std::to_string(r.size));
  EXPECT_EQ(order, (std::vector<std::string>{"ferry4/64", "ferry-nogro1/64", "mmsg1/64",
                                             "mmsg1/1400", "mmsg2/64", "kernel1/64", "zeta1/64"}));
}

}  // namespace
}  // namespace ferry::bench
