// Reload: SIGHUP or `ferryctl reload` re-reads the config file and applies
// relay, routes and icmp under traffic with a new forwarding snapshot; a
// broken file or one that changes what needs a restart leaves the running
// config in force, and says why.
#include <fstream>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

void rewrite(const Ferryd& f, const std::string& yaml) {
  std::ofstream(f.configPath()) << "control_socket: " << f.socketPath() << "\n" << yaml;
}

std::string relayTo(uint16_t a, uint16_t b, uint16_t c, const SockAddr& sb, const SockAddr& sc,
                    const std::string& to) {
  return "dataplanes: 2\n"
         "interfaces:\n"
         "  - { name: a, bind: \"127.0.0.1:" + std::to_string(a) + "\" }\n"
         "  - { name: b, bind: \"127.0.0.1:" + std::to_string(b) + "\", peer: \"" + sb.toString() + "\" }\n"
         "  - { name: c, bind: \"127.0.0.1:" + std::to_string(c) + "\", peer: \"" + sc.toString() + "\" }\n"
         "relay: [ { from: a, to: " + to + " } ]\n";
}

TEST(Reload, SighupAndCtlApplyRelayChangesAndBadFilesChangeNothing) {
  const uint16_t a = freeUdpPort(), b = freeUdpPort(), c = freeUdpPort();
  UdpSocket source("127.0.0.1:0"), sink_b("127.0.0.1:0"), sink_c("127.0.0.1:0");
  Ferryd f(relayTo(a, b, c, sink_b.local(), sink_c.local(), "b"));
  ASSERT_TRUE(f.started()) << f.process().err();
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(a));
  std::vector<UdpSocket*> sources{&source};
  EXPECT_EQ(pacedTransfer(sources, to, sink_b, 100, 256, 300).received, 100u);

  // SIGHUP: a → c from now on.
  rewrite(f, relayTo(a, b, c, sink_b.local(), sink_c.local(), "c"));
  f.process().signal(SIGHUP);
  ASSERT_TRUE(f.process().waitForOutput("reloaded " + f.configPath(), 5s)) << f.process().err();
  EXPECT_EQ(pacedTransfer(sources, to, sink_c, 100, 256, 300).received, 100u);
  EXPECT_EQ(f.show("interfaces")[0]["relay_to"], "c");

  // A broken file: refused with its position; traffic keeps going to c.
  rewrite(f, "relay: [ { from: a, to: nowhere } ]\ninterfaces: []\n");
  int status = 0;
  std::string out = ctl(f, "reload", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("reload refused, the running config stays: " + f.configPath() + ":"),
            std::string::npos) << out;
  EXPECT_EQ(pacedTransfer(sources, to, sink_c, 50, 256, 300).received, 50u);

  // A change that needs a restart (another bind address): refused, named.
  std::string moved = relayTo(a, b, freeUdpPort(), sink_b.local(), sink_c.local(), "b");
  rewrite(f, moved);
  out = ctl(f, "reload", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(
      out.find("interface 'c' changed; a reload applies only relay, routes, icmp and BFD keys"),
      std::string::npos)
      << out;
  EXPECT_EQ(f.show("interfaces")[0]["relay_to"], "c");

  // And back to b through ferryctl.
  rewrite(f, relayTo(a, b, c, sink_b.local(), sink_c.local(), "b"));
  out = ctl(f, "reload", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("reloaded: 3 interfaces, relay mode, 1 relay rule"), std::string::npos) << out;
  EXPECT_EQ(pacedTransfer(sources, to, sink_b, 100, 256, 300).received, 100u);
  const auto stats = f.show("stats");
  EXPECT_EQ(stats["interfaces"][0]["rx_packets"], 350);
  EXPECT_EQ(stats["interfaces"][0]["dropped"], 0) << "nothing lost across three reloads";
  EXPECT_EQ(stats["interfaces"][1]["tx_packets"], 200);
  EXPECT_EQ(stats["interfaces"][2]["tx_packets"], 150);
  EXPECT_EQ(f.terminate(), 0);
}

// Sends 10 inner packets to each of 10.1.0.1 and 10.2.0.1 into ferryd's
// interface on port `in`; returns how many reached `sink` (route mode's egress peer).
int sendToBothNets(uint16_t in, const UdpSocket& sink) {
  UdpSocket source("127.0.0.1:0");
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(in));
  for (uint32_t i = 0; i < 10; ++i) {
    for (uint8_t net : {1, 2}) {
      const auto p = innerPacket(uint16_t(1000 + i), i, {10, net, 0, 1});
      source.sendTo(to, p.data(), p.size());
    }
  }
  std::vector<uint8_t> buf(2048);
  int got = 0;
  while (sink.recv(buf.data(), buf.size(), 300) > 0) ++got;
  return got;
}

// Per-route packet counts carry over for every prefix a reload keeps (also
// at another position in the table); a new prefix starts from zero, and
// so does one that a reload removed and a later one brought back.
TEST(Reload, RoutesChangeAndKeptPrefixesKeepTheirCounts) {
  const uint16_t in = freeUdpPort(), out_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  const auto cfg = [&](const std::string& routes) {
    return "dataplanes: 1\nmode: route\ntuning: { ecmp_seed: 7 }\ninterfaces:\n"
           "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
           "  - { name: out, bind: \"127.0.0.1:" + std::to_string(out_port) + "\", peer: \"" +
           sink.local().toString() + "\" }\n"
           "routes:\n" + routes;
  };
  Ferryd f(cfg("  - { prefix: \"10.1.0.0/16\", via: [out] }\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  // 10 packets to each of 10.1.0.1 and 10.2.0.1; only the first has a route.
  const auto sendBoth = [&] { return sendToBothNets(in, sink); };
  EXPECT_EQ(sendBoth(), 10);
  EXPECT_EQ(f.show("routes")["routes"].size(), 1u);
  EXPECT_EQ(f.show("routes")["routes"][0]["packets"], 10);
  EXPECT_EQ(f.show("stats")["interfaces"][0]["drops"]["no_route"], 10);
  const auto reload = [&](const std::string& routes) {
    rewrite(f, cfg(routes));
    int status = 0;
    const std::string out = ctl(f, "reload", &status);
    EXPECT_EQ(status, 0) << out;
    return f.show("routes")["routes"];
  };
  auto routes = reload(
      "  - { prefix: \"2001:db8::/32\", via: [out] }\n"
      "  - { prefix: \"10.2.0.0/16\", via: [out] }\n"
      "  - { prefix: \"10.1.0.0/16\", via: [out] }\n");
  ASSERT_EQ(routes.size(), 3u);
  EXPECT_EQ(routes[0]["prefix"], "2001:db8::/32");
  EXPECT_EQ(routes[1]["prefix"], "10.2.0.0/16");
  EXPECT_EQ(routes[2]["prefix"], "10.1.0.0/16");
  EXPECT_EQ(routes[2]["packets"], 10) << "a kept prefix keeps its count";
  EXPECT_EQ(routes[0]["packets"], 0) << "a new prefix starts from zero";
  EXPECT_EQ(routes[1]["packets"], 0);
  EXPECT_EQ(sendBoth(), 20);
  routes = f.show("routes")["routes"];
  EXPECT_EQ(routes[2]["packets"], 20);
  EXPECT_EQ(routes[1]["packets"], 10);
  EXPECT_EQ(f.show("stats")["interfaces"][0]["drops"]["no_route"], 10) << "no drop after the reload";
  // 10.1.0.0/16 removed, then back: it starts again from zero.
  routes = reload("  - { prefix: \"10.2.0.0/16\", via: [out] }\n");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["packets"], 10);
  routes = reload(
      "  - { prefix: \"10.1.0.0/16\", via: [out] }\n"
      "  - { prefix: \"10.2.0.0/16\", via: [out] }\n");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0]["packets"], 0);
  EXPECT_EQ(routes[1]["packets"], 10);
  EXPECT_EQ(sendBoth(), 20);
  routes = f.show("routes")["routes"];
  EXPECT_EQ(routes[0]["packets"], 10);
  EXPECT_EQ(routes[1]["packets"], 20);
  EXPECT_EQ(f.terminate(), 0);
}

// A routes_file is read at start and again at every reload: the new routes
// apply under traffic, and a file with an error (named by file and line) is
// refused while the running table stays.
TEST(Reload, ARoutesFileIsReadAtStartAndAtEveryReload) {
  const uint16_t in = freeUdpPort(), out_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  TempDir tables;
  const std::string file = tables.write("routes.txt", "# one route\n10.1.0.0/16 out\n");
  Ferryd f("dataplanes: 2\nmode: route\ninterfaces:\n"
           "  - { name: in, bind: \"127.0.0.1:" + std::to_string(in) + "\" }\n"
           "  - { name: out, bind: \"127.0.0.1:" + std::to_string(out_port) + "\", peer: \"" +
           sink.local().toString() + "\" }\n"
           "routes_file: " + file + "\n");
  ASSERT_TRUE(f.started()) << f.process().err();
  const auto sendBoth = [&] { return sendToBothNets(in, sink); };
  EXPECT_EQ(sendBoth(), 10);
  EXPECT_EQ(f.show("routes")["count"], 1);
  EXPECT_EQ(f.show("routes")["routes"][0]["packets"], 10);
  EXPECT_EQ(f.show("stats")["interfaces"][0]["drops"]["no_route"], 10);

  tables.write("routes.txt", "10.1.0.0/16 out\n10.2.0.0/16 out\n2001:db8::/32 out\n");
  int status = 0;
  std::string out = ctl(f, "reload", &status);
  ASSERT_EQ(status, 0) << out;
  const auto routes = f.show("routes");
  ASSERT_EQ(routes["count"], 3);
  ASSERT_EQ(routes["routes"].size(), 3u);
  EXPECT_EQ(routes["routes"][1]["prefix"], "10.2.0.0/16");
  EXPECT_EQ(routes["routes"][2]["prefix"], "2001:db8::/32");
  EXPECT_EQ(sendBoth(), 20);
  EXPECT_EQ(f.show("stats")["interfaces"][0]["drops"]["no_route"], 10) << "no drop after the reload";

  tables.write("routes.txt", "10.1.0.0/16 out\n10.3.0.0/16 nowhere\n");
  out = ctl(f, "reload", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find(file + ":2: unknown interface 'nowhere' (interfaces: in, out)"), std::string::npos)
      << out;
  EXPECT_EQ(f.show("routes")["count"], 3) << "the running table stays";
  EXPECT_EQ(sendBoth(), 20);
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
