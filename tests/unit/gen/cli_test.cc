// ferry-gen's argument parsing: defaults, and an error that names the argument
// for each kind of mistake.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli.h"

namespace ferry::gen::cli {
namespace {

Result run(std::vector<std::string_view> args) { return parse(args); }

TEST(GenCli, SendDefaults) {
  const auto r = run({"send", "--to", "127.0.0.1:9000"});
  ASSERT_TRUE(r.parsed) << r.error;
  const SendConfig& c = r.parsed->send;
  EXPECT_EQ(r.parsed->command, Command::kSend);
  EXPECT_EQ(c.to.toString(), "127.0.0.1:9000");
  EXPECT_EQ(c.sizes, std::vector<uint32_t>{64});
  EXPECT_EQ(c.flows, 1u);
  EXPECT_EQ(c.threads, 1u);
  EXPECT_EQ(c.rate_pps, 0);
  EXPECT_EQ(c.duration_s, 10);  // neither --count nor --duration
  EXPECT_EQ(c.count, 0u);
  EXPECT_FALSE(r.parsed->run_given);
}

TEST(GenCli, SendEverything) {
  const auto r = run({"send",    "--to",     "[::1]:9000",  "--from",        "::1",
                      "--rate",  "1.5M",     "--sizes",     "100,200",       "--flows",
                      "16",      "--count",  "100k",        "--threads",     "2",
                      "--encap", "ipv6",     "--inner-dst", "2001:db8::/32", "--batch",
                      "32",      "--run-id", "7",           "--json",        "-q"});
  ASSERT_TRUE(r.parsed) << r.error;
  const SendConfig& c = r.parsed->send;
  EXPECT_EQ(c.rate_pps, 1.5e6);
  EXPECT_EQ(c.sizes, (std::vector<uint32_t>{100, 200}));
  EXPECT_EQ(c.count, 100000u);
  EXPECT_EQ(c.duration_s, 0);
  EXPECT_EQ(c.encap, Encap::kIpv6);
  ASSERT_TRUE(c.inner);
  EXPECT_EQ(c.inner->dst.toString(), "2001:db8::/32");
  EXPECT_EQ(c.inner->src.toString(), "2001:2:0:1::/64");
  ASSERT_TRUE(c.from);
  EXPECT_EQ(c.from->port(), 0);
  EXPECT_EQ(c.run, 7);
  EXPECT_TRUE(r.parsed->run_given);
  EXPECT_TRUE(r.parsed->json);
  EXPECT_TRUE(r.parsed->quiet);
}

TEST(GenCli, BitrateBecomesPacketsPerSecond) {
  const auto r = run({"send", "--to", "127.0.0.1:9", "--bitrate", "1G", "--size", "1250"});
  ASSERT_TRUE(r.parsed) << r.error;
  EXPECT_DOUBLE_EQ(r.parsed->send.rate_pps, 100000);
}

TEST(GenCli, SinkOptions) {
  const auto r = run({"sink", "--listen", "0.0.0.0:0", "--idle", "500ms", "--expect-from-gen",
                      "--decap", "--no-gro", "--count", "10"});
  ASSERT_TRUE(r.parsed) << r.error;
  const SinkConfig& c = r.parsed->sink;
  EXPECT_EQ(c.listen.port(), 0);
  EXPECT_DOUBLE_EQ(c.idle_s, 0.5);
  EXPECT_TRUE(c.until_end);
  EXPECT_TRUE(c.decap);
  EXPECT_FALSE(c.gro);
  EXPECT_EQ(c.count, 10u);
}

TEST(GenCli, HelpIsNotAnError) {
  for (auto args :
       std::vector<std::vector<std::string_view>>{{"--help"}, {"help"}, {"send", "--help"}}) {
    const auto r = run(args);
    ASSERT_TRUE(r.parsed);
    EXPECT_EQ(r.parsed->command, Command::kHelp);
  }
  EXPECT_NE(usage().find("--expect-from-gen"), std::string::npos);
}

// Each mistake -> the message starts with the argument it is about.
TEST(GenCli, ErrorsNameTheArgument) {
  struct Case {
    std::vector<std::string_view> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{}, "missing command"},
      {{"blast"}, "unknown command 'blast'"},
      {{"send"}, "--to: missing"},
      {{"send", "--to", "localhost:1"}, "--to: expected ADDRESS:PORT, got 'localhost:1'"},
      {{"send", "--to", "127.0.0.1:9", "--rate", "abc"},
       "--rate: expected a positive number of packets per second, got 'abc'"},
      {{"send", "--to", "127.0.0.1:9", "--rate", "-5"}, "--rate: expected a positive"},
      {{"send", "--to", "127.0.0.1:9", "--rate"}, "--rate: missing value"},
      {{"send", "--to", "127.0.0.1:9", "--bitrate", "fast"}, "--bitrate: expected"},
      {{"send", "--to", "127.0.0.1:9", "--rate", "1k", "--bitrate", "1M"},
       "--bitrate: give --rate or --bitrate"},
      {{"send", "--to", "127.0.0.1:9", "--size", "10"}, "--size: 10 is below 16"},
      {{"send", "--to", "127.0.0.1:9", "--size", "40", "--encap", "ipv4"},
       "--size: 40 is below 44, the minimum with --encap ipv4"},
      {{"send", "--to", "127.0.0.1:9", "--sizes", "64,10"}, "--sizes: 10 is below 16"},
      {{"send", "--to", "127.0.0.1:9", "--sizes", "64,,2"}, "--sizes: expected"},
      {{"send", "--to", "127.0.0.1:9", "--size", "70000"}, "--size: expected a packet size"},
      {{"send", "--to", "127.0.0.1:9", "--size", "64", "--imix"}, "--size: give one of"},
      {{"send", "--to", "127.0.0.1:9", "--imix", "--gso"}, "--gso: needs a single packet size"},
      {{"send", "--to", "127.0.0.1:9", "--flows", "0"}, "--flows: expected a number of flows"},
      {{"send", "--to", "127.0.0.1:9", "--flows", "2", "--threads", "3"},
       "--threads: expected 1..--flows"},
      {{"send", "--to", "127.0.0.1:9", "--count", "1.5"},
       "--count: expected a positive number of packets"},
      {{"send", "--to", "127.0.0.1:9", "--duration", "0"},
       "--duration: expected a positive number of seconds"},
      {{"send", "--to", "127.0.0.1:9", "--encap", "gre"},
       "--encap: expected none, ipv4 or ipv6, got 'gre'"},
      {{"send", "--to", "127.0.0.1:9", "--inner-src", "10.0.0.0/8"}, "--inner-src: needs --encap"},
      {{"send", "--to", "127.0.0.1:9", "--encap", "ipv4", "--inner-dst", "10.2.0.1/16"},
       "--inner-dst: '10.2.0.1/16' has host bits set beyond /16 (did you mean 10.2.0.0/16?)"},
      {{"send", "--to", "127.0.0.1:9", "--encap", "ipv6", "--inner-src", "10.0.0.0/8"},
       "--inner-src: 10.0.0.0/8 is IPv4 but --encap is ipv6"},
      {{"send", "--to", "127.0.0.1:9", "--from", "::1"}, "--from: ::1 is IPv6 but --to is IPv4"},
      {{"send", "--to", "127.0.0.1:9", "--from", "127.0.0.1:65530", "--flows", "10"},
       "--from: port 65530 + 10 flows goes past 65535"},
      {{"send", "--to", "127.0.0.1:9", "--bogus"}, "send: unknown option '--bogus'"},
      {{"sink"}, "--listen: missing"},
      {{"sink", "--listen", "127.0.0.1:9", "--idle", "soon"},
       "--idle: expected a positive number of seconds, got 'soon'"},
      {{"sink", "--listen", "127.0.0.1:9", "--batch", "0"}, "--batch: expected a batch size"},
  };
  for (const auto& c : cases) {
    const auto r = run(c.args);
    std::string joined;
    for (auto a : c.args) joined += std::string(a) + " ";
    EXPECT_FALSE(r.parsed) << joined;
    EXPECT_EQ(r.error.rfind(c.want, 0), 0u)
        << joined << "\n  got:  " << r.error << "\n  want: " << c.want;
  }
}

TEST(GenCli, NumberSyntax) {
  EXPECT_EQ(parseScaled("2.5G"), 2.5e9);
  EXPECT_EQ(parseScaled("100k"), 1e5);
  EXPECT_EQ(parseScaled("7"), 7);
  EXPECT_FALSE(parseScaled(""));
  EXPECT_FALSE(parseScaled("k"));
  EXPECT_FALSE(parseScaled("1x"));
  EXPECT_FALSE(parseScaled("inf"));
  EXPECT_EQ(parseSeconds("2"), 2);
  EXPECT_EQ(parseSeconds("1.5s"), 1.5);
  EXPECT_EQ(parseSeconds("250ms"), 0.25);
  EXPECT_FALSE(parseSeconds("ms"));
}

}  // namespace
}  // namespace ferry::gen::cli
