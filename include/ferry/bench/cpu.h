// CPU time of a process tree from /proc: user + system time (utime + stime
// of /proc/PID/stat, all threads included) summed over a process and its
// descendants (nginx's workers are children of its master). Sampled before
// and after a trial, the difference is the router's CPU cost over it. The
// kernel's clock-tick resolution (1/CLK_TCK s, usually 10 ms) makes short
// trials coarse; a 2 s trial at full load is resolved to about 0.5%.
//
// The busy time of whole CPUs from /proc/stat counts what no process owns:
// softirq work run on a kernel thread (a NAPI thread doing GRO, the kernel's
// own forwarding) or in interrupt context. With the router alone on its CPUs
// (the split layout), it is the router's whole cost, the kernel's included.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::bench {

struct ProcStat {
  pid_t pid = 0;
  std::string comm;  // between the first '(' and the last ')': may hold spaces and ')'
  char state = '?';
  pid_t ppid = 0;
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
};

// Parses one /proc/PID/stat line (proc(5)); nullopt when malformed.
std::optional<ProcStat> parseProcStat(std::string_view line);

// Clock ticks to nanoseconds at `ticks_per_second` (sysconf(_SC_CLK_TCK)).
uint64_t ticksToNs(uint64_t ticks, long ticks_per_second) noexcept;

// `root` and every living descendant, by reading /proc/*/stat.
std::vector<pid_t> processTree(pid_t root);

// user + system CPU time of `root`'s process tree, in ns (processes that
// have exited are not counted). nullopt when root is gone.
std::optional<uint64_t> treeCpuNs(pid_t root);

// Busy ticks of each CPU from the text of /proc/stat (proc(5)): user + nice
// + system + irq + softirq of every "cpuN" line, by N (guest time is
// inside user already; idle, iowait and steal are not busy). The all-CPU
// "cpu" line is skipped. nullopt when a cpuN line is malformed.
std::optional<std::map<int, uint64_t>> parseCpuBusyTicks(std::string_view stat);

// The busy time of `cpus` together, in ns, read from /proc/stat. nullopt when
// it cannot be read or a CPU is not in it.
std::optional<uint64_t> cpusBusyNs(const std::vector<int>& cpus);

}  // namespace ferry::bench
