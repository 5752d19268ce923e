// Least privilege: ferryd started as root with `user: nobody` switches every
// thread to nobody once its sockets are open and keeps only the documented
// capabilities (privileges.h: cap_net_admin, cap_net_bind_service,
// cap_sys_nice); started unprivileged with those as ambient capabilities (as
// a systemd unit with AmbientCapabilities= does), it runs the same. Relay
// traffic, in-band BFD, ferryctl and a reload work either way. Needs root.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

constexpr const char* kKeptMask = "0000000000801400";  // bits 10, 12, 23
constexpr const char* kCaps = "+net_admin,+net_bind_service,+sys_nice";

// Uid, Gid and CapEff lines of every thread of `pid`: "comm: uids / gids / capeff".
std::vector<std::string> threadCredentials(pid_t pid) {
  std::vector<std::string> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream comm(task.path() / "comm"), status(task.path() / "status");
    std::string name, line, uid, gid, cap;
    std::getline(comm, name);
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) uid = line.substr(5);
      if (line.rfind("Gid:", 0) == 0) gid = line.substr(5);
      if (line.rfind("CapEff:", 0) == 0) cap = line.substr(8);
    }
    out.push_back(name + ": " + uid + " / " + gid + " / " + cap);
  }
  return out;
}

std::string nobodyLine(const std::string& comm) {
  return comm + ": 65534\t65534\t65534\t65534 / 65534\t65534\t65534\t65534 / " + kKeptMask;
}

// Relay traffic through `ferryd` (interface a → b) and a BFD session with a
// root peer, then a reload: all work unprivileged.
void checkWorks(const std::string& socket, const std::string& config, pid_t pid, uint16_t a_port,
                const UdpSocket& sink, const Ferryd& peer) {
  const auto creds = threadCredentials(pid);
  ASSERT_GE(creds.size(), 4u);  // main, 2 dataplanes, control, BFD, watch
  for (const auto& line : creds) {
    const std::string comm = line.substr(0, line.find(':'));
    EXPECT_EQ(line, nobodyLine(comm));
  }
  std::string out;
  const std::string ctl = binary("FERRYCTL") + " --socket " + socket;
  ASSERT_TRUE(eventually([&] {
    sh(ctl + " show bfd --json", &out);
    const auto bfd = nlohmann::json::parse(out, nullptr, false);
    return !bfd.is_discarded() && bfd["sessions"][0]["state"] == "up";
  }, 5s)) << out;
  UdpSocket source("127.0.0.1:0");
  const auto r = pacedTransfer({&source}, *SockAddr::parse("127.0.0.1:" + std::to_string(a_port)), sink, 200);
  EXPECT_EQ(r.received, 200u);
  EXPECT_EQ(r.corrupt, 0u);
  // The config file stays readable by nobody (README): a reload works.
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(std::filesystem::path(config).parent_path().c_str(), 0755), 0);
  ASSERT_EQ(sh(ctl + " reload", &out), 0) << out;
  EXPECT_NE(out.find("reloaded"), std::string::npos) << out;
  EXPECT_EQ(peer.show("bfd")["sessions"][0]["state"], "up");
}

// a → x; the peer (peerYaml) relays what it gets on x to the sink.
std::string relayWithBfdYaml(uint16_t a, uint16_t x, uint16_t x_peer) {
  return "dataplanes: 2\ninterfaces:\n"
         "  - { name: a, bind: \"127.0.0.1:" + std::to_string(a) + "\" }\n"
         "  - { name: x, bind: \"127.0.0.1:" + std::to_string(x) + "\", peer: \"127.0.0.1:" +
         std::to_string(x_peer) + "\", bfd: { interval_ms: 100 } }\n"
         "relay: [ { from: a, to: x } ]\n";
}

std::string peerYaml(uint16_t x, uint16_t x_peer, uint16_t out, const SockAddr& sink) {
  return "dataplanes: 1\ninterfaces:\n"
         "  - { name: x, bind: \"127.0.0.1:" + std::to_string(x) + "\", peer: \"127.0.0.1:" +
         std::to_string(x_peer) + "\", bfd: { interval_ms: 100 } }\n"
         "  - { name: out, bind: \"127.0.0.1:" + std::to_string(out) + "\", peer: \"" + sink.toString() +
         "\" }\n"
         "relay: [ { from: x, to: out } ]\n";
}

class Privileges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  }
  const uint16_t a_ = freeUdpPort(), x_ = freeUdpPort(), peer_x_ = freeUdpPort(), peer_out_ = freeUdpPort();
  UdpSocket sink_{"127.0.0.1:0"};
};

TEST_F(Privileges, StartedAsRootItSwitchesToTheUserAndKeepsOnlyThreeCapabilities) {
  Ferryd peer(peerYaml(peer_x_, x_, peer_out_, sink_.local()));
  ASSERT_TRUE(peer.started()) << peer.process().err();
  Ferryd f("user: nobody\n" + relayWithBfdYaml(a_, x_, peer_x_));
  ASSERT_TRUE(f.started()) << f.process().err();
  EXPECT_NE(f.process().err().find("running as uid 65534 gid 65534 with at most cap_net_admin, "
                                   "cap_net_bind_service, cap_sys_nice"),
            std::string::npos)
      << f.process().err();
  struct stat st {};
  ASSERT_EQ(::stat(f.socketPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u) << "the control socket is the user's";
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  checkWorks(f.socketPath(), f.configPath(), f.process().pid(), a_, sink_, peer);
  EXPECT_EQ(f.terminate(), 0);
}

TEST_F(Privileges, StartedUnprivilegedWithAmbientCapabilitiesItRunsTheSame) {
  Ferryd peer(peerYaml(peer_x_, x_, peer_out_, sink_.local()));
  ASSERT_TRUE(peer.started()) << peer.process().err();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);  // nobody makes its control socket here
  const std::string socket = dir.path() + "/ferry.sock";
  const std::string config = dir.write(
      "ferry.yaml", "control_socket: " + socket + "\n" + relayWithBfdYaml(a_, x_, peer_x_));
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  Process p = Process::start({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              std::string("--inh-caps=") + kCaps, std::string("--ambient-caps=") + kCaps,
                              binary("FERRYD"), "run", "--config", config});
  ASSERT_TRUE(p.waitForOutput("dataplanes started", 60s)) << p.err();
  checkWorks(socket, config, p.pid(), a_, sink_, peer);
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(15s), std::optional<int>(0));
}

// Without CAP_NET_ADMIN the kernel caps socket buffers at net.core.rmem_max
// and wmem_max without a word; ferryd says so once at start and runs on.
// Started as root it uses the FORCE variants and gets all it asks for.
TEST(SocketBufferCap, WithoutCapNetAdminFerrydWarnsAndRuns) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root";
  uint32_t rmem_max = 0, wmem_max = 0;
  std::ifstream("/proc/sys/net/core/rmem_max") >> rmem_max;
  std::ifstream("/proc/sys/net/core/wmem_max") >> wmem_max;
  ASSERT_GT(rmem_max, 0u);
  ASSERT_GT(wmem_max, 0u);
  const uint32_t asked = std::max(rmem_max, wmem_max) * 2;
  if (asked > (1u << 30)) GTEST_SKIP() << "rmem_max/wmem_max above 512 MiB";
  const std::string yaml =
      "dataplanes: 1\ninterfaces:\n"
      "  - { name: a, bind: " +
      ep(freeUdpPort()) +
      " }\n"
      "  - { name: b, bind: " +
      ep(freeUdpPort()) + ", peer: " + ep(freeUdpPort()) +
      " }\n"
      "relay: [ { from: a, to: b } ]\n"
      "tuning: { socket_buffer: " +
      std::to_string(asked) + " }\n";
  const std::string warning = "tuning.socket_buffer is " + std::to_string(asked) +
                              " bytes, but the kernel granted " + std::to_string(rmem_max) +
                              " to receive and " + std::to_string(wmem_max) + " to send";

  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);  // nobody makes its control socket here
  const std::string config =
      dir.write("ferry.yaml", "control_socket: " + dir.path() + "/ferry.sock\n" + yaml);
  ASSERT_EQ(::chmod(config.c_str(), 0644), 0);
  const std::string caps = "+net_bind_service,+sys_nice";  // not net_admin
  Process p = Process::start({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                              "--inh-caps=" + caps, "--ambient-caps=" + caps, binary("FERRYD"),
                              "run", "--config", config});
  ASSERT_TRUE(p.waitForOutput("dataplanes started", 60s)) << p.err();
  EXPECT_NE(p.err().find(warning), std::string::npos) << p.err();
  EXPECT_EQ(occurrences(p.err(), "tuning.socket_buffer is"), 1u) << "once, not per socket";
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(15s), std::optional<int>(0));

  Ferryd root(yaml);
  ASSERT_TRUE(root.started()) << root.process().err();
  EXPECT_EQ(root.process().err().find("tuning.socket_buffer is"), std::string::npos)
      << root.process().err();
  EXPECT_EQ(root.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
