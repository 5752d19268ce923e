// The harness cleans up after itself: these tests check that what it creates
// is gone afterwards, since every other integration test relies on it.
#include "harness.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

namespace ferry::test {
namespace {
namespace fs = std::filesystem;

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

// Run by the test below as a child of its own: holds a namespace and a
// process inside it until a signal kills this binary.
TEST(HarnessChild, DISABLED_HoldsNamespaceUntilSignalled) {
  if (std::getenv("FERRY_HARNESS_CHILD") == nullptr) GTEST_SKIP() << "run by Harness.KilledBy*";
  NetNs ns("sig");
  const TempDir dir;
  auto p = Process::start({"sleep", "30"}, {.netns = ns.name()});
  std::printf("dirs %s %s\n", dir.path().c_str(), p.captureDir().c_str());
  std::printf("namespace %s\n", ns.name().c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(20s);
  ADD_FAILURE() << "no signal came";
}

// A test binary killed by `sig` removes its namespaces (and the processes in
// them) and its temporary directories on the way out, so the next run finds
// none of them.
void killedBinaryLeavesNoNamespace(int sig) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  auto child = Process::start({"/proc/self/exe", "--gtest_also_run_disabled_tests",
                               "--gtest_filter=HarnessChild.DISABLED_HoldsNamespaceUntilSignalled"},
                              {.env = {"FERRY_HARNESS_CHILD=1"}});
  // However this ends (an assertion returns early), the child gets a signal
  // it cleans up on before the Process's SIGKILL, which it could not.
  struct Stop {
    Process& p;
    ~Stop() {
      if (p.running()) {
        p.signal(SIGTERM);
        (void)p.wait(10s);
      }
    }
  } stop{child};
  const std::string label = "namespace ";
  ASSERT_TRUE(child.waitForOutput(label, 10s)) << child.out() << child.err();
  const std::string out = child.out();
  const auto at = out.find(label) + label.size();
  const std::string name = out.substr(at, out.find('\n', at) - at);
  std::string temp_dir;
  std::string capture_dir;
  {
    const auto dirs = out.find("dirs ");
    ASSERT_NE(dirs, std::string::npos) << out;
    std::istringstream line(out.substr(dirs, out.find('\n', dirs) - dirs));
    std::string word;
    line >> word >> temp_dir >> capture_dir;
    ASSERT_EQ(word, "dirs") << out;
  }
  ASSERT_EQ(sh("ip netns list | grep -qw " + name), 0) << name << " does not exist";
  ASSERT_TRUE(fs::is_directory(temp_dir)) << temp_dir;
  ASSERT_TRUE(fs::is_regular_file(capture_dir + "/stdout")) << capture_dir;
  child.signal(sig);
  EXPECT_EQ(child.wait(10s), 128 + sig) << child.err();
  EXPECT_NE(sh("ip netns list | grep -qw " + name), 0)
      << name << " still exists after " << sigabbrev_np(sig);
  EXPECT_FALSE(fs::exists(temp_dir)) << temp_dir << " still exists after " << sigabbrev_np(sig);
  EXPECT_FALSE(fs::exists(capture_dir))
      << capture_dir << " still exists after " << sigabbrev_np(sig);
  // If the test failed: its namespace and the sleep in it, and the directories.
  process::deleteNetns(name);
  std::error_code ec;
  fs::remove_all(temp_dir, ec);
  fs::remove_all(capture_dir, ec);
}

TEST(Harness, KilledBySigtermLeavesNoNamespace) { killedBinaryLeavesNoNamespace(SIGTERM); }

TEST(Harness, KilledBySigintLeavesNoNamespace) { killedBinaryLeavesNoNamespace(SIGINT); }

TEST(Harness, KilledBySighupLeavesNoNamespace) { killedBinaryLeavesNoNamespace(SIGHUP); }

TEST(Harness, KilledBySigpipeLeavesNoNamespace) { killedBinaryLeavesNoNamespace(SIGPIPE); }

TEST(Harness, FreeUdpPortIsBindable) {
  const uint16_t port = freeUdpPort();
  EXPECT_GT(port, 1023);
  EXPECT_EQ(sh("true"), 0);
}

}  // namespace
}  // namespace ferry::test
