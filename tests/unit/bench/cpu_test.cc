// /proc/PID/stat parsing and the process-tree CPU sampler.
#include "ferry/bench/cpu.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

namespace ferry::bench {
namespace {

TEST(ProcStat, ParsesTheFieldsWeUse) {
  // A real line (nginx worker), fields 14/15 = utime 1234, stime 567.
  const auto st = parseProcStat(
      "4242 (nginx) S 4241 4241 4241 0 -1 4194624 100 0 0 0 1234 567 0 0 20 0 1 0 "
      "123456 10000000 500 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pid, 4242);
  EXPECT_EQ(st->comm, "nginx");
  EXPECT_EQ(st->state, 'S');
  EXPECT_EQ(st->ppid, 4241);
  EXPECT_EQ(st->utime_ticks, 1234u);
  EXPECT_EQ(st->stime_ticks, 567u);
}

TEST(ProcStat, CommMayHoldSpacesAndParentheses) {
  const auto st = parseProcStat("77 (a) b (c)) R 1 0 0 0 0 0 0 0 0 0 11 22 0 0 20 0 1 0 5");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->comm, "a) b (c)");
  EXPECT_EQ(st->state, 'R');
  EXPECT_EQ(st->ppid, 1);
  EXPECT_EQ(st->utime_ticks, 11u);
  EXPECT_EQ(st->stime_ticks, 22u);
}

TEST(ProcStat, RejectsMalformedLines) {
  EXPECT_FALSE(parseProcStat("").has_value());
  EXPECT_FALSE(parseProcStat("12 nginx S 1 2 3").has_value());
  EXPECT_FALSE(parseProcStat("12 (x) S 1 0 0 0 0 0 0 0 0 0 11").has_value()) << "too short";
  EXPECT_FALSE(parseProcStat("x (y) S 1 0 0 0 0 0 0 0 0 0 11 22 0").has_value());
  EXPECT_FALSE(parseProcStat("12 (y) S 1 0 0 0 0 0 0 0 0 0 -1 22 0").has_value());
}

TEST(ProcStat, TicksToNs) {
  EXPECT_EQ(ticksToNs(0, 100), 0u);
  EXPECT_EQ(ticksToNs(1, 100), 10'000'000u);
  EXPECT_EQ(ticksToNs(250, 100), 2'500'000'000u);
  EXPECT_EQ(ticksToNs(1, 1000), 1'000'000u);
  EXPECT_EQ(ticksToNs(1'000'000'000'000ull, 100), 10'000'000'000'000'000'000ull) << "no overflow";
  EXPECT_EQ(ticksToNs(5, 0), 0u);
}

TEST(CpuSampler, CountsABusyChildInTheTree) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Spin for ~300 ms of CPU, then exit.
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    volatile uint64_t x = 0;
    while (std::chrono::steady_clock::now() < end) x = x + 1;
    _exit(0);
  }
  const pid_t self = getpid();
  const auto tree = processTree(self);
  EXPECT_EQ(tree.front(), self);
  EXPECT_NE(std::find(tree.begin(), tree.end(), child), tree.end());
  usleep(250'000);
  const auto child_ns = treeCpuNs(child);
  ASSERT_TRUE(child_ns.has_value());
  EXPECT_GE(*child_ns, 100'000'000u) << "the spinning child used CPU";
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(treeCpuNs(child).has_value()) << "gone";
}

}  // namespace
}  // namespace ferry::bench
