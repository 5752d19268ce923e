// The config files the bench writes: ferry's passes ferry's own validation
// with the settings asked for; nginx's has the proxy, workers and pinning.
#include "ferry/bench/peer_configs.h"

#include <gtest/gtest.h>

#include "ferry/config/config.h"

namespace ferry::bench {
namespace {

RelayPath path() {
  return {*SockAddr::parse("10.201.1.2:5000"), *SockAddr::parse("10.201.2.1:5001"),
          *SockAddr::parse("10.201.2.2:6000")};
}

TEST(PeerConfigs, FerryRelayConfigIsValid) {
  const std::string yaml = ferryConfig(path(), Mode::kRelay, 2, 4096, "/tmp/x/ferry.sock");
  const ConfigResult r = parseConfig(yaml, "bench.yaml");
  ASSERT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].format()) << yaml;
  const Config& c = *r.config;
  EXPECT_EQ(c.dataplaneCount(16), 2u);
  EXPECT_EQ(c.tuning.max_datagram, 4096u);
  EXPECT_EQ(c.control_socket, "/tmp/x/ferry.sock");
  ASSERT_EQ(c.interfaces.size(), 2u);
  EXPECT_EQ(c.interfaces[0].bind.toString(), "10.201.1.2:5000");
  EXPECT_FALSE(c.interfaces[0].peer.has_value()) << "the generator's many source ports";
  EXPECT_EQ(c.interfaces[1].peer->toString(), "10.201.2.2:6000");
  ASSERT_EQ(c.relay.size(), 1u);
  EXPECT_TRUE(c.tuning.gro) << "ferry is measured with GRO on (the default)";
}

TEST(PeerConfigs, FerryNogroTurnsGroOff) {
  const std::string yaml =
      ferryConfig(path(), Mode::kRelay, 1, 2048, "/tmp/x/ferry-nogro.sock", /*gro=*/false);
  const ConfigResult r = parseConfig(yaml, "bench.yaml");
  ASSERT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].format()) << yaml;
  EXPECT_FALSE(r.config->tuning.gro);
  EXPECT_NE(yaml.find("  gro: false\n"), std::string::npos) << yaml;
  EXPECT_NE(ferryConfig(path(), Mode::kRelay, 1, 2048, "/s").find("  gro: true\n"),
            std::string::npos);
}

TEST(PeerConfigs, FerryRouteConfigIsValid) {
  const std::string yaml = ferryConfig(path(), Mode::kRoute, 1, 2048, "/tmp/x/ferry.sock");
  const ConfigResult r = parseConfig(yaml, "bench.yaml");
  ASSERT_TRUE(r.config.has_value()) << (r.errors.empty() ? "" : r.errors[0].format()) << yaml;
  EXPECT_EQ(r.config->routes.size(), 1u);
}

TEST(PeerConfigs, MaxDatagramCoversTheLargestSize) {
  EXPECT_EQ(ferryMaxDatagram({64, 512, 1400}), 2048u);
  EXPECT_EQ(ferryMaxDatagram({64, 512, 1400, 3000}), 3072u);
  EXPECT_EQ(ferryMaxDatagram({9000}), 9216u);
  EXPECT_EQ(ferryMaxDatagram({65507}), 65535u);
}

TEST(PeerConfigs, NginxStreamUdpProxy) {
  const std::string c = nginxConfig(path(), 2, {0, 1}, "/tmp/w/nginx", "/m/stream.so");
  for (const char* line : {"load_module /m/stream.so;", "daemon off;", "worker_processes 2;",
                           "worker_cpu_affinity 01 10;", "pid /tmp/w/nginx/nginx.pid;",
                           "error_log /tmp/w/nginx/error.log warn;",
                           "listen 10.201.1.2:5000 udp reuseport rcvbuf=16777216 sndbuf=16777216;",
                           "proxy_pass 10.201.2.2:6000;"})
    EXPECT_NE(c.find(line), std::string::npos) << line << "\n" << c;
  // More workers than CPUs wrap around, like ferry's dataplanes.
  EXPECT_NE(nginxConfig(path(), 4, {0, 1}, "/p", "/m").find("worker_cpu_affinity 01 10 01 10;"),
            std::string::npos);
  EXPECT_NE(nginxConfig(path(), 1, {2, 3}, "/p", "/m").find("worker_cpu_affinity 0100;"),
            std::string::npos);
}

}  // namespace
}  // namespace ferry::bench
