// What ships besides the binaries: `meson install` puts the binaries, the man
// pages (each renders with man -l), the example configs and the Grafana
// dashboard in place; and the dashboard queries only metrics that a running
// ferryd serves.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

namespace fs = std::filesystem;

// GET /metrics over HTTP/1.0: the whole reply (the server closes), or "" on failure.
std::string fetchMetrics(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  std::string reply;
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) reply.append(buf, size_t(n));
  }
  ::close(fd);
  return reply;
}

std::string slurpFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Dist, MesonInstallPutsEverythingInPlace) {
  TempDir dest;
  std::string out;
  ASSERT_EQ(sh("meson install -C " + std::string(FERRY_BUILD_ROOT) + " --no-rebuild --quiet --destdir " +
                   dest.path() + " 2>&1",
               &out),
            0)
      << out;
  const fs::path prefix = fs::path(dest.path()) / fs::path(FERRY_PREFIX).relative_path();
  for (const char* file : {"bin/ferryd", "bin/ferryctl", "bin/ferry-gen", "share/ferry/grafana/ferry.json",
                           "share/doc/ferry/examples/route-failover.yaml",
                           "share/doc/ferry/examples/route-table-file.routes"}) {
    EXPECT_TRUE(fs::is_regular_file(prefix / file)) << file;
  }
  const std::pair<const char*, const char*> pages[] = {{"man8/ferryd.8", "ferryd - multi-core UDP router"},
                                                       {"man8/ferryctl.8", "ferryctl - query and control"},
                                                       {"man1/ferry-gen.1", "ferry-gen - UDP traffic generator"},
                                                       {"man5/ferry.yaml.5", "ferry.yaml - configuration of ferryd"}};
  for (const auto& [page, name_line] : pages) {
    const fs::path path = prefix / "share/man" / page;
    ASSERT_TRUE(fs::is_regular_file(path)) << page;
    std::string rendered;
    // --warnings: groff reports what it could not format; any of it fails the page.
    EXPECT_EQ(sh("MANWIDTH=80 man --warnings -l " + path.string() + " 2>&1 >/dev/null", &rendered), 0);
    EXPECT_EQ(rendered, "") << page << ": groff warnings";
    sh("MANWIDTH=80 man -l " + path.string() + " 2>/dev/null", &rendered);
    EXPECT_NE(rendered.find("NAME"), std::string::npos) << page;
    EXPECT_NE(rendered.find(name_line), std::string::npos) << page << ":\n" << rendered.substr(0, 400);
  }
}

TEST(Dist, TheDashboardQueriesOnlyMetricsFerrydServes) {
  const auto dashboard = nlohmann::json::parse(slurpFile(fs::path(FERRY_SOURCE_ROOT) / "dist/grafana/ferry.json"));
  std::set<std::string> queried;
  const std::regex metric("ferry_[a-z_]+");
  size_t panels = 0;
  for (const auto& panel : dashboard["panels"]) {
    ++panels;
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"];
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric); it != std::sregex_iterator(); ++it)
        queried.insert(it->str());
    }
  }
  ASSERT_GE(panels, 8u);
  ASSERT_GE(queried.size(), 15u);
  // Route mode with a BFD interface: every family ferryd has is served.
  const uint16_t metrics_port = freeUdpPort();
  UdpSocket peer("127.0.0.1:0");
  Ferryd f("dataplanes: 1\nmode: route\n"
           "metrics: { listen: \"127.0.0.1:" + std::to_string(metrics_port) + "\" }\n"
           "icmp: { source_v4: 10.255.0.1 }\n"
           "interfaces:\n"
           "  - { name: in, bind: \"127.0.0.1:" + std::to_string(freeUdpPort()) + "\" }\n"
           "  - { name: out, bind: \"127.0.0.1:" + std::to_string(freeUdpPort()) + "\", peer: \"" +
           peer.local().toString() + "\", bfd: { interval_ms: 100 } }\n"
           "routes: [ { prefix: 10.1.0.0/16, via: [out] } ]\n");
  ASSERT_TRUE(f.started()) << f.process().err();
  const std::string metrics = fetchMetrics(metrics_port);
  ASSERT_NE(metrics.find("200 OK"), std::string::npos) << metrics.substr(0, 200);
  for (const auto& name : queried)
    EXPECT_NE(metrics.find("# TYPE " + name + " "), std::string::npos) << name << " is not served";
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
