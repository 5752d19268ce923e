// /proc/PID/stat parsing and the process-tree CPU sampler; /proc/stat parsing
// and the per-CPU busy time.
#include "ferry/bench/cpu.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
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

TEST(CpuBusy, SumsUserNiceSystemIrqSoftirqPerCpu) {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const auto busy = parseCpuBusyTicks(
      "cpu  300 20 100 9000 50 7 90 400 0 0\n"
      "cpu0 100 10 60 4000 20 3 80 200 0 0\n"
      "cpu1 200 10 40 5000 30 4 10 200 0 0\n"
      "intr 123456 0 0\n"
      "ctxt 987\n"
      "softirq 55 1 2 3\n");
  ASSERT_TRUE(busy.has_value());
  ASSERT_EQ(busy->size(), 2u) << "the all-CPU line and the others are skipped";
  EXPECT_EQ(busy->at(0), 100u + 10 + 60 + 3 + 80) << "idle, iowait and steal are not busy";
  EXPECT_EQ(busy->at(1), 200u + 10 + 40 + 4 + 10);
}

TEST(CpuBusy, KeepsCpuNumbersWithGaps) {
  // An offline CPU has no line: CPU 1 must not read as an idle one.
  const auto busy = parseCpuBusyTicks(
      "cpu0 1 0 0 0 0 0 0\n"
      "cpu2 2 0 0 0 0 0 1\n");
  ASSERT_TRUE(busy.has_value());
  EXPECT_EQ(busy->count(1), 0u);
  EXPECT_EQ(busy->at(2), 3u);
  EXPECT_EQ(busy->at(0), 1u);
}

TEST(CpuBusy, RejectsMalformedCpuLines) {
  EXPECT_FALSE(parseCpuBusyTicks("cpu0 1 2 3 4 5 6\n").has_value()) << "too few fields";
  EXPECT_FALSE(parseCpuBusyTicks("cpu0 1 2 x 4 5 6 7\n").has_value());
  EXPECT_FALSE(parseCpuBusyTicks("cpu0 1 2 -3 4 5 6 7\n").has_value());
  EXPECT_FALSE(parseCpuBusyTicks("cpu0x 1 2 3 4 5 6 7\n").has_value());
  const auto none = parseCpuBusyTicks("");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST(CpuBusy, ReadsThisMachinesCpus) {
  // The calling thread spins on CPU 0 for 100 ms of its own CPU time: CPU 0's
  // busy time grows by at least that (less one clock tick).
  cpu_set_t saved, only0;
  ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof saved, &saved), 0);
  if (!CPU_ISSET(0, &saved)) GTEST_SKIP() << "CPU 0 is not ours";
  CPU_ZERO(&only0);
  CPU_SET(0, &only0);
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof only0, &only0), 0);
  const auto before = cpusBusyNs({0});
  timespec start{}, now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  volatile uint64_t x = 0;
  do {
    for (int i = 0; i < 100000; ++i) x = x + 1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1'000'000'000 + (now.tv_nsec - start.tv_nsec) <
           100'000'000);
  const auto after = cpusBusyNs({0});
  ASSERT_EQ(pthread_setaffinity_np(pthread_self(), sizeof saved, &saved), 0);
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(*after - *before, 90'000'000u);
  EXPECT_FALSE(cpusBusyNs({CPU_SETSIZE + 1}).has_value()) << "no such CPU";
  EXPECT_FALSE(cpusBusyNs({-1}).has_value());
}

}  // namespace
}  // namespace ferry::bench
