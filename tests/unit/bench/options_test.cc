// `ferryd bench` arguments: defaults, --quick, every option, and errors that
// name the argument.
#include "ferry/bench/options.h"

#include <gtest/gtest.h>

namespace ferry::bench {
namespace {

Options parseOk(const std::vector<std::string>& args) {
  const auto r = parseOptions(args);
  EXPECT_TRUE(r.options.has_value()) << r.error;
  return r.options.value_or(Options{});
}

std::string parseError(const std::vector<std::string>& args) {
  const auto r = parseOptions(args);
  EXPECT_FALSE(r.options.has_value());
  return r.error;
}

TEST(BenchOptions, DefaultsAreTheDocumentedMatrix) {
  const Options o = parseOk({});
  EXPECT_EQ(o.dataplanes, (std::vector<unsigned>{1, 2, 4}));
  EXPECT_EQ(o.sizes, (std::vector<uint32_t>{64, 512, 1400, 3000}));
  EXPECT_EQ(o.flows, 64u);
  EXPECT_EQ(o.traffic, Traffic::kSpread);
  EXPECT_EQ(o.mode, Mode::kRelay);
  EXPECT_FALSE(o.topology.has_value());
  EXPECT_EQ(o.layout, CpuLayout::kSplit);
  EXPECT_DOUBLE_EQ(o.loss, 0.001);
  EXPECT_DOUBLE_EQ(o.trial_s, 2);
  EXPECT_EQ(o.impls, (std::vector<std::string>{"ferry", "mmsg", "nginx", "kernel"}));
  EXPECT_FALSE(o.quick);
  EXPECT_FALSE(o.egress_uso);
  EXPECT_EQ(o.searchSettings().max_trials, 12u);
  EXPECT_DOUBLE_EQ(o.searchSettings().loss_tolerance, 0.001);
}

TEST(BenchOptions, EveryOption) {
  const Options o =
      parseOk({"--dataplanes", "2,1",   "--sizes",    "1400,64",     "--flows",      "16",
               "--mode",       "route", "--topology", "loopback",    "--loss",       "0.5%",
               "--trial",      "250ms", "--compare",  "kernel,mmsg", "--json",       "r.json",
               "--csv",        "r.csv", "--svg",      "r.svg",       "--max-trials", "9",
               "--resolution", "0.01",  "--perf-dir", "p",           "--verbose",    "--cpu-layout",
               "shared"});
  EXPECT_EQ(o.dataplanes, (std::vector<unsigned>{2, 1}));
  EXPECT_EQ(o.sizes, (std::vector<uint32_t>{1400, 64}));
  EXPECT_EQ(o.flows, 16u);
  EXPECT_EQ(o.mode, Mode::kRoute);
  EXPECT_EQ(o.topology, Topology::kLoopback);
  EXPECT_DOUBLE_EQ(o.loss, 0.005);
  EXPECT_DOUBLE_EQ(o.trial_s, 0.25);
  EXPECT_EQ(o.impls, (std::vector<std::string>{"ferry", "kernel", "mmsg"}));
  EXPECT_EQ(o.json_path, "r.json");
  EXPECT_EQ(o.csv_path, "r.csv");
  EXPECT_EQ(o.svg_path, "r.svg");
  EXPECT_EQ(o.max_trials, 9u);
  EXPECT_DOUBLE_EQ(o.resolution, 0.01);
  EXPECT_EQ(o.perf_dir, "p");
  EXPECT_EQ(o.layout, CpuLayout::kShared);
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(parseOk({"--compare", "none"}).impls, std::vector<std::string>{"ferry"});
  EXPECT_EQ(parseOk({"--from-json", "r.json", "--svg", "r.svg"}).from_json, "r.json");
}

TEST(BenchOptions, TunnelTrafficHasFourFlowsUnlessGiven) {
  const Options t = parseOk({"--traffic", "tunnel"});
  EXPECT_EQ(t.traffic, Traffic::kTunnel);
  EXPECT_EQ(t.flows, 4u);
  EXPECT_STREQ(name(t.traffic), "tunnel");
  EXPECT_EQ(parseOk({"--flows", "16", "--traffic", "tunnel"}).flows, 16u);
  EXPECT_EQ(parseOk({"--traffic", "tunnel", "--flows", "1"}).flows, 1u);
  const Options s = parseOk({"--traffic", "spread"});
  EXPECT_EQ(s.traffic, Traffic::kSpread);
  EXPECT_EQ(s.flows, 64u);
  EXPECT_STREQ(name(s.traffic), "spread");
  // The command that judges UDP GRO on tunnel traffic.
  const Options g = parseOk({"--traffic", "tunnel", "--dataplanes", "1", "--sizes", "1400",
                             "--compare", "ferry-nogro,kernel"});
  EXPECT_EQ(g.impls, (std::vector<std::string>{"ferry", "ferry-nogro", "kernel"}));
  EXPECT_EQ(g.dataplanes, std::vector<unsigned>{1});
  EXPECT_EQ(g.sizes, std::vector<uint32_t>{1400});
  EXPECT_EQ(g.flows, 4u);
}

TEST(BenchOptions, EgressUsoIsAFlagForTheNetnsTopology) {
  EXPECT_TRUE(parseOk({"--traffic", "tunnel", "--egress-uso"}).egress_uso);
  EXPECT_TRUE(parseOk({"--egress-uso", "--topology", "netns"}).egress_uso);
  EXPECT_EQ(parseError({"--egress-uso", "--topology", "loopback"}),
            "--egress-uso: needs the netns topology (the router's egress veth), not loopback");
  EXPECT_NE(usage().find("--egress-uso"), std::string::npos);
}

TEST(BenchOptions, CompareAcceptsFerryNogro) {
  EXPECT_EQ(parseOk({"--compare", "ferry-nogro"}).impls,
            (std::vector<std::string>{"ferry", "ferry-nogro"}));
  EXPECT_EQ(parseOk({"--compare", "kernel,ferry-nogro,mmsg,nginx"}).impls,
            (std::vector<std::string>{"ferry", "kernel", "ferry-nogro", "mmsg", "nginx"}));
}

TEST(BenchOptions, QuickReducesWhatIsNotGiven) {
  const Options q = parseOk({"--quick", "--json", "r.json"});
  EXPECT_TRUE(q.quick);
  EXPECT_EQ(q.dataplanes, (std::vector<unsigned>{1, 2}));
  EXPECT_EQ(q.sizes, (std::vector<uint32_t>{64, 1400}));
  EXPECT_EQ(q.impls, (std::vector<std::string>{"ferry", "mmsg"}));
  EXPECT_DOUBLE_EQ(q.trial_s, 0.5);
  EXPECT_EQ(q.max_trials, 8u);
  const Options q2 = parseOk({"--sizes", "1400", "--quick", "--compare", "mmsg,nginx"});
  EXPECT_EQ(q2.sizes, std::vector<uint32_t>{1400});
  EXPECT_EQ(q2.impls, (std::vector<std::string>{"ferry", "mmsg", "nginx"}));
  EXPECT_EQ(q2.dataplanes, (std::vector<unsigned>{1, 2}));
}

TEST(BenchOptions, Seconds) {
  EXPECT_DOUBLE_EQ(*parseSeconds("2s"), 2);
  EXPECT_DOUBLE_EQ(*parseSeconds("2"), 2);
  EXPECT_DOUBLE_EQ(*parseSeconds("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parseSeconds("500ms"), 0.5);
  EXPECT_FALSE(parseSeconds("").has_value());
  EXPECT_FALSE(parseSeconds("s").has_value());
  EXPECT_FALSE(parseSeconds("0").has_value());
  EXPECT_FALSE(parseSeconds("-1s").has_value());
  EXPECT_FALSE(parseSeconds("2 s").has_value());
  EXPECT_FALSE(parseSeconds("fast").has_value());
}

TEST(BenchOptions, ErrorsNameTheArgument) {
  EXPECT_EQ(parseError({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(parseError({"--dataplanes"}), "--dataplanes: missing value");
  EXPECT_EQ(parseError({"--dataplanes", "1,x"}),
            "--dataplanes: expected a comma-separated list of numbers from 1 to 1024, got '1,x'");
  EXPECT_EQ(parseError({"--dataplanes", "0"}).rfind("--dataplanes:", 0), 0u);
  EXPECT_EQ(parseError({"--dataplanes", "2,2"}), "--dataplanes: 2 is listed twice");
  EXPECT_EQ(parseError({"--sizes", "8"}).rfind("--sizes:", 0), 0u);
  EXPECT_EQ(parseError({"--sizes", "70000"}).rfind("--sizes:", 0), 0u);
  EXPECT_EQ(parseError({"--flows", "0"}), "--flows: expected a number from 1 to 4096, got '0'");
  EXPECT_EQ(parseError({"--mode", "bridge"}), "--mode: expected relay or route, got 'bridge'");
  EXPECT_EQ(parseError({"--topology", "vm"}), "--topology: expected netns or loopback, got 'vm'");
  EXPECT_EQ(parseError({"--cpu-layout", "mixed"}),
            "--cpu-layout: expected split or shared, got 'mixed'");
  EXPECT_EQ(parseError({"--loss", "1"}).rfind("--loss:", 0), 0u);
  EXPECT_EQ(parseError({"--loss", "-0.1"}).rfind("--loss:", 0), 0u);
  EXPECT_EQ(parseError({"--trial", "10ms"}).rfind("--trial:", 0), 0u);
  EXPECT_EQ(parseError({"--compare", "dpdk"}),
            "--compare: expected a list of ferry-nogro, mmsg, nginx, kernel (or none), got 'dpdk'");
  EXPECT_EQ(parseError({"--compare", "ferry"}),
            "--compare: expected a list of ferry-nogro, mmsg, nginx, kernel (or none), got "
            "'ferry'");
  EXPECT_EQ(parseError({"--compare", "ferry-gro"}),
            "--compare: expected a list of ferry-nogro, mmsg, nginx, kernel (or none), got "
            "'ferry-gro'");
  EXPECT_EQ(parseError({"--compare", "ferry-nogro,mmsg,ferry-nogro"}),
            "--compare: ferry-nogro is listed twice");
  EXPECT_EQ(parseError({"--traffic", "bulk"}), "--traffic: expected spread or tunnel, got 'bulk'");
  EXPECT_EQ(parseError({"--traffic", ""}), "--traffic: expected spread or tunnel, got ''");
  EXPECT_EQ(parseError({"--traffic"}), "--traffic: missing value");
  EXPECT_EQ(parseError({"--traffic", "tunnel", "--traffic", "spread"}), "--traffic: given twice");
  EXPECT_EQ(parseError({"--traffic", "tunnel", "--topology", "loopback"}),
            "--traffic tunnel: needs the netns topology (GRO on the router's ingress veth), not "
            "loopback");
  EXPECT_EQ(parseError({"--compare", "mmsg,mmsg"}), "--compare: mmsg is listed twice");
  EXPECT_EQ(parseError({"--json", ""}), "--json: expected a file name");
  EXPECT_EQ(parseError({"--flows", "2", "--flows", "3"}), "--flows: given twice");
  EXPECT_EQ(parseError({"--max-trials", "0"}).rfind("--max-trials:", 0), 0u);
  EXPECT_EQ(parseError({"--resolution", "2"}).rfind("--resolution:", 0), 0u);
}

TEST(BenchOptions, Help) {
  EXPECT_TRUE(parseOptions({"--help"}).help);
  EXPECT_TRUE(parseOptions({"--quick", "-h"}).help);
  EXPECT_NE(usage().find("--compare"), std::string::npos);
  EXPECT_NE(usage().find("--traffic spread|tunnel"), std::string::npos);
  EXPECT_NE(usage().find("ferry-nogro"), std::string::npos);
}

}  // namespace
}  // namespace ferry::bench
