#include "ferry/bench/cpu.h"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace ferry::bench {
namespace {

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

template <typename T>
bool toNumber(std::string_view s, T& out) {
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// The space- (or newline-) separated fields of `text`, empty ones skipped.
std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  while (!text.empty()) {
    const size_t start = text.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    const size_t end = text.find_first_of(" \n");
    fields.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end);
  }
  return fields;
}

std::optional<ProcStat> readStat(pid_t pid) {
  auto text = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return std::nullopt;
  return parseProcStat(*text);
}

}  // namespace

std::optional<ProcStat> parseProcStat(std::string_view line) {
  // "PID (COMM) S PPID … " with utime and stime as fields 14 and 15 (1-based).
  const size_t open = line.find('(');
  const size_t close = line.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  ProcStat st;
  std::string_view pid_text = line.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  if (!toNumber(pid_text, st.pid)) return std::nullopt;
  st.comm = std::string(line.substr(open + 1, close - open - 1));
  // Fields from 3 (state) on, space separated.
  const std::vector<std::string_view> fields = splitFields(line.substr(close + 1));
  // fields[0] = field 3 (state); field N is fields[N - 3].
  if (fields.size() < 13 || fields[0].size() != 1) return std::nullopt;
  st.state = fields[0][0];
  if (!toNumber(fields[1], st.ppid)) return std::nullopt;
  if (!toNumber(fields[11], st.utime_ticks) || !toNumber(fields[12], st.stime_ticks))
    return std::nullopt;
  return st;
}

uint64_t ticksToNs(uint64_t ticks, long ticks_per_second) noexcept {
  if (ticks_per_second <= 0) return 0;
  const auto tps = static_cast<uint64_t>(ticks_per_second);
  return ticks / tps * 1'000'000'000ull + ticks % tps * 1'000'000'000ull / tps;
}

std::vector<pid_t> processTree(pid_t root) {
  std::multimap<pid_t, pid_t> children;  // ppid → pid
  if (DIR* dir = opendir("/proc")) {
    while (const dirent* e = readdir(dir)) {
      pid_t pid = 0;
      if (!toNumber(std::string_view(e->d_name), pid)) continue;
      if (auto st = readStat(pid)) children.emplace(st->ppid, pid);
    }
    closedir(dir);
  }
  std::vector<pid_t> tree = {root};
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [begin, end] = children.equal_range(tree[i]);
    for (auto it = begin; it != end; ++it) tree.push_back(it->second);
  }
  return tree;
}

std::optional<uint64_t> treeCpuNs(pid_t root) {
  if (!readStat(root)) return std::nullopt;
  uint64_t ticks = 0;
  for (pid_t pid : processTree(root))
    if (auto st = readStat(pid)) ticks += st->utime_ticks + st->stime_ticks;
  return ticksToNs(ticks, sysconf(_SC_CLK_TCK));
}

std::optional<std::map<int, uint64_t>> parseCpuBusyTicks(std::string_view stat) {
  std::map<int, uint64_t> busy;
  while (!stat.empty()) {
    const size_t end = stat.find('\n');
    const std::string_view line = stat.substr(0, end);
    stat = end == std::string_view::npos ? std::string_view() : stat.substr(end + 1);
    // "cpuN user nice system idle iowait irq softirq steal guest guest_nice"
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    const std::vector<std::string_view> fields = splitFields(line);
    int cpu = 0;
    if (fields.size() < 8 || !toNumber(fields[0].substr(3), cpu)) return std::nullopt;
    uint64_t t[7] = {};
    for (size_t i = 0; i < 7; ++i)
      if (!toNumber(fields[i + 1], t[i])) return std::nullopt;
    busy[cpu] = t[0] + t[1] + t[2] + t[5] + t[6];  // user nice system irq softirq
  }
  return busy;
}

std::optional<uint64_t> cpusBusyNs(const std::vector<int>& cpus) {
  const auto text = readFile("/proc/stat");
  if (!text) return std::nullopt;
  const auto busy = parseCpuBusyTicks(*text);
  if (!busy) return std::nullopt;
  uint64_t ticks = 0;
  for (int c : cpus) {
    const auto it = busy->find(c);
    if (it == busy->end()) return std::nullopt;
    ticks += it->second;
  }
  return ticksToNs(ticks, sysconf(_SC_CLK_TCK));
}

}  // namespace ferry::bench
