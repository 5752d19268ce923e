// The harness cleans up after itself: these tests check that what it creates
// is gone afterwards, since every other integration test relies on it.
#include <signal.h>

#include <filesystem>

#include "harness.h"

namespace ferry::test {
namespace {

TEST(Harness, ProcessCapturesOutputAndExitStatus) {
  auto p = Process::start({"sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(p.wait(5s), 3);
  EXPECT_EQ(p.out(), "out\n");
  EXPECT_EQ(p.err(), "err\n");
}

TEST(Harness, ProcessKilledOnDestruction) {
  pid_t pid;
  {
    auto p = Process::start({"sleep", "30"});
    pid = p.pid();
    EXPECT_TRUE(p.running());
  }
  EXPECT_NE(kill(pid, 0), 0) << "child still exists after the Process was destroyed";
}

TEST(Harness, SignalReportedAs128PlusN) {
  auto p = Process::start({"sleep", "30"});
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(5s), 128 + SIGTERM);
}

TEST(Harness, TempDirRemovedWithContents) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    dir.write("a.yaml", "x: 1\n");
    EXPECT_TRUE(std::filesystem::exists(path + "/a.yaml"));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Harness, NetNsCreatedAndRemovedWithItsProcesses) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  std::string name;
  {
    NetNs ns("harn");
    name = ns.name();
    EXPECT_EQ(sh("ip netns list | grep -qw " + name), 0);
    EXPECT_EQ(ns.execOk("ip -o link show lo | grep -c 'state UNKNOWN'"), "1\n");
    // A process left running inside must not keep the namespace alive.
    auto p = Process::start({"sleep", "30"}, {.netns = ns.name()});
    EXPECT_TRUE(p.running());
  }
  EXPECT_NE(sh("ip netns list | grep -qw " + name), 0) << name << " still exists";
}

TEST(Harness, FreeUdpPortIsBindable) {
  const uint16_t port = freeUdpPort();
  EXPECT_GT(port, 1023);
  EXPECT_EQ(sh("true"), 0);
}

}  // namespace
}  // namespace ferry::test
