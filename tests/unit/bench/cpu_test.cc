// /proc/PID/stat parsing and the process-tree CPU sampler.
#include "ferry/bench/cpu.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <time.h>
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
  // The child spins until it has used 150 ms of CPU (its own CPU clock, so
  // a loaded machine only makes it take longer), says so, and then waits
  // for the parent to let it exit.
  int done[2], release[2];
  ASSERT_EQ(pipe(done), 0);
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(done[0]);
    ::close(release[1]);  // or the read below never sees EOF
    timespec t{};
    volatile uint64_t x = 0;
    do {
      for (int i = 0; i < 100000; ++i) x = x + 1;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    } while (t.tv_sec == 0 && t.tv_nsec < 150'000'000);
    char c = 1;
    if (write(done[1], &c, 1) != 1) _exit(1);
    (void)!read(release[0], &c, 1);  // EOF when the parent closes its end
    _exit(0);
  }
  ::close(done[1]);
  ::close(release[0]);
  const pid_t self = getpid();
  const auto tree = processTree(self);
  EXPECT_EQ(tree.front(), self);
  EXPECT_NE(std::find(tree.begin(), tree.end(), child), tree.end());
  char c = 0;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  const auto child_ns = treeCpuNs(child);
  ASSERT_TRUE(child_ns.has_value());
  // /proc counts in clock ticks (10 ms at USER_HZ 100): allow one tick.
  EXPECT_GE(*child_ns, 140'000'000u) << "the spinning child used CPU";
  const auto tree_ns = treeCpuNs(self);
  ASSERT_TRUE(tree_ns.has_value());
  EXPECT_GE(*tree_ns, *child_ns) << "the tree includes the child";
  ::close(release[1]);
  ::close(done[0]);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(treeCpuNs(child).has_value()) << "gone";
}

}  // namespace
}  // namespace ferry::bench
