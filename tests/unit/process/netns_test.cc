// Children and threads in a network namespace: what they see of the network
// and of /sys, as with `ip netns exec`. Needs root and `ip netns`; skips
// without them.
#include "ferry/process/netns.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "ferry/process/child.h"

namespace ferry::process {
namespace {

// The inode of /proc/thread-self/ns/net: which network namespace the
// calling thread is in.
ino_t ownNetns() {
  struct stat st {};
  if (stat("/proc/thread-self/ns/net", &st) != 0) return 0;
  return st.st_ino;
}

// Whether process `pid` is in the network namespace whose file is `path`.
bool inNetns(pid_t pid, const std::string& path) {
  struct stat ns {}, theirs {};
  return stat(path.c_str(), &ns) == 0 &&
         stat(("/proc/" + std::to_string(pid) + "/ns/net").c_str(), &theirs) == 0 &&
         ns.st_ino == theirs.st_ino && ns.st_dev == theirs.st_dev;
}

// A fresh namespace from `ip netns add`, deleted at the end.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    name_ = "ferry-unit-" + std::to_string(getpid());
    std::string output;
    if (runCommand({"ip", "netns", "add", name_}, &output) != 0)
      GTEST_SKIP() << "ip netns add: " << output;
    created_ = true;
  }
  void TearDown() override {
    if (created_) runCommand({"ip", "netns", "del", name_});
  }

  std::string name_;
  bool created_ = false;
};

TEST_F(NetnsTest, ANewNamespaceHoldsOnlyLoopbackAndSysSaysSo) {
  std::string output;
  ASSERT_EQ(runCommand({"ls", "/sys/class/net"}, &output, name_), 0) << output;
  EXPECT_EQ(output, "lo\n");
  ASSERT_EQ(runCommand({"/bin/sh", "-c", "ip -o link show | cut -d: -f2"}, &output, name_), 0);
  EXPECT_EQ(output, " lo\n");
}

TEST_F(NetnsTest, SysOutsideIsLeftAsItWas) {
  std::string before, after;
  ASSERT_EQ(runCommand({"ls", "/sys/class/net"}, &before), 0);
  ASSERT_EQ(runCommand({"ls", "/sys/class/net"}, nullptr, name_), 0);
  ASSERT_EQ(runCommand({"ls", "/sys/class/net"}, &after), 0);
  EXPECT_EQ(after, before);
  EXPECT_NE(before.find("lo\n"), std::string::npos);
}

TEST_F(NetnsTest, TheChildIsInTheNamespaceAndWeAreNot) {
  const ino_t ours = ownNetns();
  std::string in_child;
  ASSERT_EQ(runCommand({"stat", "-L", "-c", "%i", "/proc/self/ns/net"}, &in_child, name_), 0);
  std::string named;
  ASSERT_EQ(runCommand({"stat", "-L", "-c", "%i", netnsPath(name_)}, &named), 0);
  EXPECT_EQ(in_child, named);
  EXPECT_NE(in_child, std::to_string(ours) + "\n");
  EXPECT_EQ(ownNetns(), ours);
}

TEST_F(NetnsTest, NetnsScopeMovesTheThreadForItsLife) {
  const ino_t ours = ownNetns();
  struct stat named {};
  ASSERT_EQ(stat(netnsPath(name_).c_str(), &named), 0);
  {
    NetnsScope scope(name_);
    EXPECT_EQ(ownNetns(), named.st_ino);
  }
  EXPECT_EQ(ownNetns(), ours);
  {
    NetnsScope stay("");
    EXPECT_EQ(ownNetns(), ours);
  }
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

TEST_F(NetnsTest, AnOwnedNamespaceIsDeletedWithWhatRunsInIt) {
  const std::string name = name_ + "-owned";
  auto owned = Netns::create(name);
  ASSERT_TRUE(owned) << owned.error();
  EXPECT_EQ(owned->name(), name);
  EXPECT_TRUE(exists(netnsPath(name)));
  auto child = Child::spawn({"sleep", "30"}, {.netns = name});
  ASSERT_TRUE(child) << child.error();
  // spawn() returns once the child is in its namespace, so the deletion
  // below (which kills what is in there) cannot miss it.
  ASSERT_TRUE(inNetns(child->pid(), netnsPath(name)));
  Netns moved = std::move(*owned);
  EXPECT_EQ(owned->name(), "");  // NOLINT(bugprone-use-after-move): a moved-from Netns is empty
  *owned = Netns();              // owned nothing: deleted nothing
  EXPECT_TRUE(exists(netnsPath(name)));
  moved = Netns();
  EXPECT_FALSE(exists(netnsPath(name)));
  EXPECT_EQ(child->wait(std::chrono::seconds(5)), 128 + SIGKILL);
}

TEST_F(NetnsTest, MakingANamespaceThatExistsIsAnError) {
  auto again = Netns::create(name_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), "ip netns add " + name_ + ": exit 1: Cannot create namespace file \"" +
                               netnsPath(name_) + "\": File exists");
  EXPECT_TRUE(exists(netnsPath(name_)));  // still there: not ours to delete
}

TEST_F(NetnsTest, DeletingANamespaceThatIsGoneReturns) {
  deleteNetns(name_);
  EXPECT_FALSE(exists(netnsPath(name_)));
  deleteNetns(name_);
  created_ = false;
}

TEST_F(NetnsTest, UsableProbesAndLeavesNothingBehind) {
  const std::string probe = name_ + "-probe";
  EXPECT_TRUE(netnsUsable(probe));
  EXPECT_FALSE(exists(netnsPath(probe)));
}

TEST(Netns, PathIsWhereIpNetnsPutsIt) { EXPECT_EQ(netnsPath("blue"), "/run/netns/blue"); }

TEST(Netns, ScopeForAMissingNamespaceThrows) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  EXPECT_THROW(NetnsScope("ferry-no-such-namespace"), std::system_error);
}

}  // namespace
}  // namespace ferry::process
