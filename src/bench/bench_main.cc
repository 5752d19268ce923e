// `ferryd bench`: options → topology → the matrix of searches → outputs,
// with SIGINT/SIGTERM handled on a thread of its own so that every
// namespace and process is removed however the run ends.
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "ferry/bench.h"
#include "ferry/bench/chart.h"
#include "ferry/bench/options.h"
#include "ferry/bench/peer_configs.h"
#include "ferry/bench/peers.h"
#include "ferry/bench/results.h"
#include "ferry/bench/runner.h"
#include "ferry/bench/topology.h"
#include "ferry/config/config.h"

namespace ferry {
namespace {

using bench::Options;

// Takes SIGINT, SIGTERM and SIGHUP for the whole process (blocked in every
// thread, which inherit the mask, and waited for here) and raises a flag the
// measuring loop checks; the loop then unwinds and the destructors clean up.
class SignalWatcher {
 public:
  SignalWatcher() {
    sigemptyset(&set_);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR2}) sigaddset(&set_, sig);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this] {
      for (;;) {
        int sig = 0;
        if (sigwait(&set_, &sig) != 0) continue;
        if (sig == SIGUSR2) return;  // the destructor's wake-up
        if (!interrupted_.exchange(true)) {
          signal_ = sig;
          static const char kMsg[] = "\nferryd bench: interrupted, cleaning up\n";
          [[maybe_unused]] auto n = write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
        }
      }
    });
  }
  ~SignalWatcher() {
    pthread_kill(thread_.native_handle(), SIGUSR2);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  const std::atomic<bool>& interrupted() const { return interrupted_; }
  int signal() const { return signal_; }

 private:
  sigset_t set_{}, old_{};
  std::atomic<bool> interrupted_{false};
  std::atomic<int> signal_{0};
  std::thread thread_;
};

// A private directory, removed with its contents.
class WorkDir {
 public:
  WorkDir() {
    char tmpl[] = "/tmp/ferrybench.XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string selfExe() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "ferryd";
}

bench::MachineInfo probeMachine() {
  bench::MachineInfo m;
  m.cpus = static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN));
  utsname u{};
  if (uname(&u) == 0) {
    m.kernel = u.release;
    m.hostname = u.nodename;
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) m.cpu_model = line.substr(colon + 2);
      break;
    }
  }
  struct sysinfo si {};
  if (sysinfo(&si) == 0) m.memory_bytes = static_cast<uint64_t>(si.totalram) * si.mem_unit;
  return m;
}

nlohmann::json settingsJson(const Options& o, bench::Topology topology,
                            const std::vector<std::string>& args) {
  std::string command = "ferryd bench";
  for (const auto& a : args) command += " " + a;
  const char* extra_tuning = std::getenv("FERRY_BENCH_TUNING");
  return {
      {"command", command},
      {"topology", bench::name(topology)},
      {"mode", bench::name(o.mode)},
      {"cpu_layout", bench::name(o.layout)},
      {"traffic", bench::name(o.traffic)},
      {"egress_uso", o.egress_uso},
      {"implementations", o.impls},
      {"dataplanes", o.dataplanes},
      {"sizes", o.sizes},
      {"flows", o.flows},
      {"loss_tolerance", o.loss},
      {"trial_s", o.trial_s},
      {"max_trials", o.max_trials},
      {"resolution", o.resolution},
      {"quick", o.quick},
      {"generator",
       {{"tool", "ferry-gen library (sendmmsg, token bucket), in the bench process"},
        {"threads",
         "one per CPU left to it (all CPUs when the dataplanes take every one), "
         "at most flows and " +
             std::to_string(bench::kMaxGeneratorThreads) + "; runs[].generator_threads"},
        {"gso", o.traffic == bench::Traffic::kTunnel},
        {"batch", bench::kGeneratorBatch}}},
      {"sink", "ferry-gen library (one recvmmsg thread), in the bench process"},
      {"ferry_max_datagram", bench::ferryMaxDatagram(o.sizes)},
      // ferry's socket buffers (its default; the mmsg relay asks for the same)
      // and any tuning keys added for an experiment (FERRY_BENCH_TUNING).
      {"ferry_socket_buffer", Tuning{}.socket_buffer},
      {"ferry_extra_tuning",
       extra_tuning != nullptr ? nlohmann::json(extra_tuning) : nlohmann::json(nullptr)},
      {"wire_overhead_bytes", bench::kWireOverheadIpv4},
  };
}

bool writeText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.close();
  if (!out) std::cerr << "ferryd bench: cannot write " << path << "\n";
  return static_cast<bool>(out);
}

// The outputs of a report: the table on stdout, and the files asked for.
bool writeOutputs(const Options& options, const bench::BenchReport& report) {
  std::cout << "\n";
  bench::printTable(std::cout, report.runs);
  std::cout << std::flush;
  bool ok = true;
  if (!options.json_path.empty())
    ok &= writeText(options.json_path, bench::toJson(report).dump(2) + "\n");
  if (!options.csv_path.empty()) ok &= writeText(options.csv_path, bench::toCsv(report.runs));
  if (!options.svg_path.empty()) {
    const auto& s = report.settings;
    char subtitle[240];
    std::snprintf(subtitle, sizeof subtitle,
                  "%s topology (%s CPU layout), %u CPUs, kernel %s; %s traffic, %u flows; "
                  "loss <= %g%%; %g s trials",
                  s.value("topology", std::string("?")).c_str(),
                  s.value("cpu_layout", std::string("?")).c_str(), report.machine.cpus,
                  report.machine.kernel.c_str(), s.value("traffic", std::string("spread")).c_str(),
                  s.value("flows", 0u),
                  s.value("loss_tolerance", 0.0) * 100, s.value("trial_s", 0.0));
    ok &= writeText(options.svg_path,
                    bench::renderSvg(bench::throughputChart(report.runs, subtitle)));
  }
  return ok;
}

int replot(const Options& options) {
  std::ifstream in(options.from_json);
  if (!in) {
    std::cerr << "ferryd bench: cannot read " << options.from_json << "\n";
    return 1;
  }
  try {
    return writeOutputs(options, bench::reportFromJson(nlohmann::json::parse(in))) ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ferryd bench: " << options.from_json << ": " << e.what() << "\n";
    return 1;
  }
}

int runBench(const Options& options, const std::vector<std::string>& args) {
  // ip, sysctl and nginx live in /usr/sbin, which a user's PATH may lack.
  const char* path = std::getenv("PATH");
  setenv("PATH", (std::string(path ? path : "/usr/bin:/bin") + ":/usr/sbin:/sbin").c_str(), 1);

  SignalWatcher signals;  // before any thread starts
  bench::Topology kind = options.topology.value_or(bench::BenchTopology::netnsAvailable()
                                                       ? bench::Topology::kNetns
                                                       : bench::Topology::kLoopback);
  if (kind == bench::Topology::kNetns) {
    if (!bench::BenchTopology::netnsAvailable()) {
      std::cerr << "ferryd bench: the netns topology needs root and `ip netns`; try "
                   "--topology loopback\n";
      return 1;
    }
    bench::BenchTopology::removeStale();
  }
  WorkDir work;
  if (work.path().empty()) {
    std::cerr << "ferryd bench: cannot create a directory under /tmp\n";
    return 1;
  }
  if (!options.perf_dir.empty()) std::filesystem::create_directories(options.perf_dir);

  bench::BenchReport report;
  report.machine = probeMachine();
  report.settings = settingsJson(options, kind, args);

  std::string impls;
  for (const auto& i : options.impls) impls += (impls.empty() ? "" : ",") + i;
  std::cerr << "ferryd bench: " << bench::name(kind) << " topology (" << bench::name(options.layout)
            << " CPU layout), " << report.machine.cpus << " CPUs, kernel " << report.machine.kernel
            << "; " << impls << "; " << options.dataplanes.size() << " dataplane counts x "
            << options.sizes.size() << " sizes, " << bench::name(options.traffic) << " traffic, "
            << options.flows << " flows" << (options.egress_uso ? ", egress with USO" : "")
            << ", trials of " << options.trial_s << " s, loss <= " << options.loss * 100 << "%\n";

  std::string error;
  auto topology = bench::BenchTopology::create(kind, options.traffic, options.egress_uso, &error);
  if (!topology) {
    std::cerr << "ferryd bench: " << error << "\n";
    return 1;
  }
  report.settings["links"] = topology->linkSettings();
  bench::RunnerContext ctx;
  ctx.options = &options;
  ctx.topology = topology.get();
  ctx.router_setup.topology = topology.get();
  ctx.router_setup.work_dir = work.path();
  ctx.router_setup.self_exe = selfExe();
  ctx.router_setup.mode = options.mode;
  ctx.router_setup.max_datagram = bench::ferryMaxDatagram(options.sizes);
  ctx.router_setup.cpus = [] {
    std::vector<int> cpus;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    if (cpus.empty()) cpus.push_back(0);
    return cpus;
  }();
  ctx.interrupted = &signals.interrupted();
  ctx.progress = (options.verbose || isatty(STDERR_FILENO)) ? &std::cerr : nullptr;

  try {
    report.runs = bench::runMatrix(ctx);
  } catch (const bench::Interrupted&) {
    topology->remove();
    std::cerr << "ferryd bench: stopped by signal " << signals.signal()
              << "; namespaces and processes removed\n";
    return 128 + signals.signal();
  }
  topology->remove();

  bool ok = writeOutputs(options, report);
  for (const auto& r : report.runs) ok &= r.error.empty();
  return ok ? 0 : 1;
}

}  // namespace

int benchMain(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "peer-mmsg")
    return bench::mmsgRelayMain({args.begin() + 1, args.end()});
  const auto parsed = bench::parseOptions(args);
  if (parsed.help) {
    std::cout << bench::usage();
    return 0;
  }
  if (!parsed.options) {
    std::cerr << "ferryd bench: " << parsed.error << "\n(ferryd bench --help for usage)\n";
    return 2;
  }
  if (!parsed.options->from_json.empty()) return replot(*parsed.options);
  return runBench(*parsed.options, args);
}

}  // namespace ferry
