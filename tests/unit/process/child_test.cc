// process::Child and runCommand against /bin/sh children: exit statuses,
// signals, where output goes, the environment, timeouts and stopping.
#include "ferry/process/child.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace ferry::process {
namespace {

using namespace std::chrono_literals;

// A private directory for capture files, removed with what is in it.
class ChildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ferry-child-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Starts `/bin/sh -c script` with stdout and stderr in files of dir_.
  Child shell(const std::string& script, Child::Options options = {}) {
    if (options.stdout_path.empty()) options.stdout_path = dir_ + "/out";
    if (options.stderr_path.empty()) options.stderr_path = dir_ + "/err";
    auto child = Child::spawn({"/bin/sh", "-c", script}, options);
    EXPECT_TRUE(child) << child.error();
    return child ? std::move(child).take() : Child();
  }

  std::string dir_;
};

// A process that has exited and been reaped, or a zombie nobody reaped yet.
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  if (!(stat >> pid_field >> comm >> state)) return true;
  return state == "Z";
}

bool eventually(const auto& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

TEST_F(ChildTest, ExitStatusesComeBackAsTheyAre) {
  for (int status : {0, 1, 3, 126, 255}) {
    Child c = shell("exit " + std::to_string(status));
    EXPECT_EQ(c.wait(5s), status);
    EXPECT_FALSE(c.running());
  }
}

TEST_F(ChildTest, DeathBySignalNIs128PlusN) {
  struct Case {
    const char* signal_name;
    int status;
  };
  for (const Case& c : {Case{"KILL", 128 + SIGKILL}, Case{"TERM", 128 + SIGTERM},
                        Case{"INT", 128 + SIGINT}, Case{"USR1", 128 + SIGUSR1}}) {
    Child child = shell(std::string("kill -") + c.signal_name + " $$");
    EXPECT_EQ(child.wait(5s), c.status) << c.signal_name;
  }
}

TEST_F(ChildTest, StdoutAndStderrGoToTheirOwnFiles) {
  Child c = shell("echo to-out; echo to-err >&2; echo more-out");
  ASSERT_EQ(c.wait(5s), 0);
  EXPECT_EQ(c.stdoutPath(), dir_ + "/out");
  EXPECT_EQ(c.stderrPath(), dir_ + "/err");
  EXPECT_EQ(c.stdoutText(), "to-out\nmore-out\n");
  EXPECT_EQ(c.stderrText(), "to-err\n");
}

TEST_F(ChildTest, TheSamePathForBothHoldsBothStreamsInOrder) {
  const std::string path = dir_ + "/both";
  Child c =
      shell("echo 1; echo 2 >&2; echo 3; echo 4 >&2", {.stdout_path = path, .stderr_path = path});
  ASSERT_EQ(c.wait(5s), 0);
  EXPECT_EQ(c.stdoutText(), "1\n2\n3\n4\n");
  EXPECT_EQ(c.stderrText(), "1\n2\n3\n4\n");
}

TEST_F(ChildTest, NoPathMeansDevNull) {
  auto c = Child::spawn({"/bin/sh", "-c", "echo lost; echo lost >&2"}, {});
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(c->wait(5s), 0);
  EXPECT_EQ(c->stdoutText(), "");
  EXPECT_EQ(c->stderrText(), "");
}

TEST_F(ChildTest, AnExistingFileIsTruncated) {
  std::ofstream(dir_ + "/out") << "old content that is longer\n";
  Child c = shell("echo new");
  ASSERT_EQ(c.wait(5s), 0);
  EXPECT_EQ(c.stdoutText(), "new\n");
}

TEST_F(ChildTest, TextCanBeCutToItsEnd) {
  Child c = shell("printf abcdefgh");
  ASSERT_EQ(c.wait(5s), 0);
  EXPECT_EQ(c.stdoutText(4), "…efgh");
  EXPECT_EQ(c.stdoutText(8), "abcdefgh");
}

TEST_F(ChildTest, StdinIsDevNull) {
  Child c = shell("cat; echo end");
  ASSERT_EQ(c.wait(5s), 0);  // cat saw end of file at once
  EXPECT_EQ(c.stdoutText(), "end\n");
}

TEST_F(ChildTest, ExtraEnvironmentIsAddedOrReplacesAnEntry) {
  ASSERT_EQ(setenv("FERRY_CHILD_TEST_KEPT", "ours", 1), 0);
  ASSERT_EQ(setenv("FERRY_CHILD_TEST_REPLACED", "ours", 1), 0);
  Child c = shell(
      "echo $FERRY_CHILD_TEST_KEPT $FERRY_CHILD_TEST_REPLACED $FERRY_CHILD_TEST_ADDED;"
      "env | grep -c ^FERRY_CHILD_TEST_REPLACED=",
      {.env = {"FERRY_CHILD_TEST_REPLACED=theirs", "FERRY_CHILD_TEST_ADDED=new"}});
  ASSERT_EQ(c.wait(5s), 0);
  EXPECT_EQ(c.stdoutText(), "ours theirs new\n1\n");
  unsetenv("FERRY_CHILD_TEST_KEPT");
  unsetenv("FERRY_CHILD_TEST_REPLACED");
}

TEST_F(ChildTest, ACommandThatCannotBeExecutedExits127AndSaysWhy) {
  auto c = Child::spawn({"/nonexistent/ferry-command"},
                        {.stdout_path = dir_ + "/out", .stderr_path = dir_ + "/err"});
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->wait(5s), 127);
  EXPECT_EQ(c->stderrText(),
            "ferry child: exec /nonexistent/ferry-command: No such file or directory\n");
}

TEST_F(ChildTest, CommandsAreSearchedInPath) {
  auto c = Child::spawn({"sh", "-c", "exit 7"}, {});
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->wait(5s), 7);
}

TEST_F(ChildTest, WhatCannotStartHereIsAnError) {
  auto failure = [](const Result<Child>& r) { return r ? std::string("(started)") : r.error(); };
  EXPECT_EQ(failure(Child::spawn({}, {})), "spawn: empty command");
  EXPECT_EQ(failure(Child::spawn({"true"}, {.stdout_path = dir_ + "/no/such/dir/out"})),
            "open " + dir_ + "/no/such/dir/out: No such file or directory");
  EXPECT_EQ(failure(Child::spawn({"true"}, {.stderr_path = dir_ + "/no/such/dir/err"})),
            "open " + dir_ + "/no/such/dir/err: No such file or directory");
  EXPECT_EQ(failure(Child::spawn({"true"}, {.netns = "ferry-no-such-namespace"})),
            "open /run/netns/ferry-no-such-namespace: No such file or directory");
}

TEST_F(ChildTest, WaitGivesUpAfterItsTimeoutAndTheChildRunsOn) {
  Child c = shell("sleep 30");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.wait(100ms), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_TRUE(c.running());
  EXPECT_EQ(c.kill(), 128 + SIGKILL);
  EXPECT_FALSE(c.running());
}

TEST_F(ChildTest, SignalReachesTheChild) {
  Child c = shell("trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.01; done");
  ASSERT_TRUE(eventually([&] { return c.stdoutText() == "ready\n"; }, 5s));
  c.signal(SIGUSR1);
  EXPECT_EQ(c.wait(5s), 5);
  EXPECT_EQ(c.stdoutText(), "ready\ngot-usr1\n");
}

TEST_F(ChildTest, StopSendsSigtermFirst) {
  Child c = shell("sleep 30");
  EXPECT_EQ(c.stop(5s), 128 + SIGTERM);
  EXPECT_EQ(c.stop(), 128 + SIGTERM);  // again: the same status, nothing sent
}

TEST_F(ChildTest, StopKillsWhatIgnoresSigtermAfterTheGrace) {
  Child c = shell("trap '' TERM; echo ready; while :; do sleep 0.01; done");
  ASSERT_TRUE(eventually([&] { return c.stdoutText() == "ready\n"; }, 5s));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(c.stop(200ms), 128 + SIGKILL);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
}

TEST_F(ChildTest, KillIsSigkillAtOnce) {
  Child c = shell("trap 'exit 0' TERM; echo ready; while :; do sleep 0.01; done");
  ASSERT_TRUE(eventually([&] { return c.stdoutText() == "ready\n"; }, 5s));
  EXPECT_EQ(c.kill(), 128 + SIGKILL);
}

TEST_F(ChildTest, KillReachesTheProcessGroupWhenTheChildHasItsOwn) {
  // The grandchild prints its pid; sh waits for it.
  Child c = shell("sleep 30 & echo $!; wait", {.own_process_group = true});
  ASSERT_TRUE(eventually([&] { return c.stdoutText().ends_with("\n"); }, 5s));
  const pid_t grandchild = std::stoi(c.stdoutText());
  EXPECT_EQ(getpgid(c.pid()), c.pid());
  EXPECT_EQ(getpgid(grandchild), c.pid());
  EXPECT_EQ(c.kill(), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] { return gone(grandchild); }, 5s));
}

TEST_F(ChildTest, WithoutItsOwnGroupTheChildStaysInOurs) {
  Child c = shell("sleep 30");
  EXPECT_EQ(getpgid(c.pid()), getpgid(0));
}

TEST_F(ChildTest, TheDestructorStopsARunningChild) {
  pid_t pid = -1;
  {
    Child c = shell("sleep 30");
    pid = c.pid();
    ASSERT_TRUE(c.running());
  }
  EXPECT_TRUE(gone(pid));
}

TEST_F(ChildTest, AMovedChildIsOwnedByItsNewHolder) {
  Child a = shell("sleep 30");
  const pid_t pid = a.pid();
  Child b = std::move(a);
  EXPECT_EQ(a.pid(), -1);  // NOLINT(bugprone-use-after-move): a moved-from Child is empty
  EXPECT_FALSE(a.running());
  EXPECT_EQ(b.pid(), pid);
  EXPECT_TRUE(b.running());
  Child c;
  c = std::move(b);
  EXPECT_EQ(c.pid(), pid);
  EXPECT_TRUE(c.running());
  c = shell("exit 4");  // stops the sleep
  EXPECT_TRUE(gone(pid));
  EXPECT_EQ(c.wait(5s), 4);
}

TEST_F(ChildTest, AnEmptyChildHasNothingToSay) {
  Child c;
  EXPECT_EQ(c.pid(), -1);
  EXPECT_FALSE(c.running());
  EXPECT_EQ(c.wait(0ms), std::nullopt);
  EXPECT_EQ(c.stop(), std::nullopt);
  EXPECT_EQ(c.kill(), std::nullopt);
  EXPECT_EQ(c.stdoutText(), "");
}

TEST(RunCommand, ReturnsTheStatusAndBothStreamsInOrder) {
  std::string output;
  EXPECT_EQ(runCommand({"/bin/sh", "-c", "echo a; echo b >&2; echo c; exit 9"}, &output), 9);
  EXPECT_EQ(output, "a\nb\nc\n");
  EXPECT_EQ(runCommand({"/bin/sh", "-c", "kill -TERM $$"}, &output), 128 + SIGTERM);
  EXPECT_EQ(output, "");
}

TEST(RunCommand, KeepsAllOfALongOutput) {
  std::string output;
  EXPECT_EQ(runCommand({"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}, &output), 0);
  EXPECT_EQ(output, std::string(100000, 'x'));
}

TEST(RunCommand, ACommandPastItsTimeoutIsStoppedAndGivesMinusOne) {
  std::string output;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(runCommand({"/bin/sh", "-c", "echo started; exec sleep 30"}, &output, "", 200ms), -1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(output, "started\n");
}

TEST(RunCommand, WhatCannotStartGivesMinusOneAndTheReason) {
  std::string output;
  EXPECT_EQ(runCommand({}, &output), -1);
  EXPECT_EQ(output, "spawn: empty command");
  EXPECT_EQ(runCommand({"true"}, &output, "ferry-no-such-namespace"), -1);
  EXPECT_EQ(output, "open /run/netns/ferry-no-such-namespace: No such file or directory");
}

TEST(RunChecked, IsEmptyOnSuccess) { EXPECT_EQ(runChecked({"true"}), ""); }

TEST(RunChecked, NamesTheCommandItsStatusAndItsOutput) {
  EXPECT_EQ(runChecked({"/bin/sh", "-c", "echo one; echo two >&2; exit 2"}),
            "/bin/sh -c echo one; echo two >&2; exit 2: exit 2: one\ntwo");
  EXPECT_EQ(runChecked({"false"}), "false: exit 1");
}

TEST(RunChecked, ShowsOnlyTheEndOfALongOutput) {
  const std::string message =
      runChecked({"/bin/sh", "-c", "head -c 20000 /dev/zero | tr '\\0' x; exit 1"});
  EXPECT_EQ(message, "/bin/sh -c head -c 20000 /dev/zero | tr '\\0' x; exit 1: exit 1: …" +
                         std::string(16384, 'x'));
}

}  // namespace
}  // namespace ferry::process
