#include "ferry/bench/runner.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <ostream>
#include <thread>

#include "ferry/bench/cpu.h"
#include "ferry/bench/search.h"
#include "ferry/gen.h"
#include "ferry/process/child.h"
#include "ferry/process/netns.h"

namespace ferry::bench {

using process::Child;
using process::NetnsScope;
using process::runCommand;

namespace {

using namespace std::chrono_literals;

// What every trial of one run shares.
struct TrialSpec {
  SockAddr target;
  std::optional<SockAddr> from;
  SockAddr sink;
  std::string gen_ns, sink_ns;
  uint32_t size = 64;
  uint32_t flows = 64;
  double duration_s = 2;
  Mode mode = Mode::kRelay;
  bool gso = false;  // tunnel traffic: UDP GSO sends
  unsigned threads = 1;
  pid_t router_pid = -1;
  std::vector<int> helper_cpus;  // where generator and sink run; empty = anywhere
  std::vector<int> router_cpus;  // the router's own CPUs (split layout); empty = shared
  const BenchTopology* topology = nullptr;  // for gen0's qdisc requeues (tunnel)
};

// Sets the calling thread's CPU affinity for the life of the object (threads
// it creates meanwhile inherit it); an empty set changes nothing.
class AffinityScope {
 public:
  explicit AffinityScope(const std::vector<int>& cpus) {
    if (cpus.empty() || pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) != 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) CPU_SET(c, &set);
    active_ = pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
  }
  ~AffinityScope() {
    if (active_) pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
  }
  AffinityScope(const AffinityScope&) = delete;
  AffinityScope& operator=(const AffinityScope&) = delete;

 private:
  cpu_set_t saved_{};
  bool active_ = false;
};

// The CPUs dataplanes 0..n-1 are pinned to (ferry's rule: the i-th allowed
// CPU, wrapping), and the allowed CPUs left over for generator and sink.
std::vector<int> routerCpus(const std::vector<int>& allowed, unsigned n) {
  std::vector<int> out;
  for (unsigned i = 0; i < n && i < allowed.size(); ++i) out.push_back(allowed[i]);
  return out;
}
std::vector<int> helperCpus(const std::vector<int>& allowed, unsigned n) {
  std::vector<int> out;
  for (size_t i = n; i < allowed.size(); ++i) out.push_back(allowed[i]);
  return out;
}

// Run ids: a new one per trial (ferry-gen's sink counts only its own run).
uint16_t nextRunId() {
  static uint16_t id = static_cast<uint16_t>(getpid() * 7919);
  return ++id;
}

void checkInterrupted(const std::atomic<bool>& interrupted) {
  if (interrupted.load()) throw Interrupted{};
}

// `wire_sent`, when given, receives the datagrams the generator sent in all
// (data and end markers).
TrialResult runTrial(const TrialSpec& spec, double rate_pps, const std::atomic<bool>& interrupted,
                     uint64_t* wire_sent = nullptr) {
  const uint16_t run = nextRunId();
  gen::SinkConfig sc;
  sc.listen = spec.sink;
  sc.until_end = true;                  // ends 50 ms after the last end marker …
  sc.idle_s = 0.3;                      // … or once traffic stopped (end markers lost) …
  sc.duration_s = spec.duration_s + 3;  // … and in any case
  sc.decap = spec.mode == Mode::kRoute;
  // Plain datagrams for every router: without UDP_GRO a GSO super-packet
  // that reaches the sink (loopback) is split by the kernel at its socket.
  // With --egress-uso the egress sends trains on purpose, and the sink takes
  // them whole (and counts each datagram), as a receiver behind a NIC with
  // GRO would.
  sc.gro = spec.topology != nullptr && spec.topology->egressUso();
  sc.run = run;
  std::unique_ptr<gen::Sink> sink;
  {
    NetnsScope in_sink(spec.sink_ns);
    sink = std::make_unique<gen::Sink>(sc);
  }
  gen::SendConfig c;
  c.to = spec.target;
  c.from = spec.from;
  c.rate_pps = rate_pps;
  c.sizes = {spec.size};
  c.flows = spec.flows;
  c.duration_s = spec.duration_s;
  c.threads = spec.threads;
  c.batch = kGeneratorBatch;
  c.gso = spec.gso;
  c.run = run;
  c.encap = spec.mode == Mode::kRoute ? gen::Encap::kIpv4 : gen::Encap::kNone;
  std::unique_ptr<gen::Sender> sender;
  {
    NetnsScope in_gen(spec.gen_ns);
    sender = std::make_unique<gen::Sender>(c);
  }

  // gen0's qdisc requeues (tunnel traffic), -1 when there is no count.
  const auto requeues = [&]() -> int64_t {
    const auto v = spec.topology ? spec.topology->generatorRequeues() : std::nullopt;
    return v ? static_cast<int64_t>(*v) : -1;
  };
  const int64_t requeues_before = requeues();
  const auto cpu_before = spec.router_pid > 0 ? treeCpuNs(spec.router_pid) : std::nullopt;
  // The busy time of the router's own CPUs (split layout), for every router.
  bool cpus_measured = !spec.router_cpus.empty();
  uint64_t cpus_before = 0, cpus_after = 0;
  const auto sampleCpus = [&](uint64_t& into) {
    if (!cpus_measured) return;
    if (const auto ns = cpusBusyNs(spec.router_cpus))
      into = *ns;
    else
      cpus_measured = false;
  };
  sampleCpus(cpus_before);
  {
    AffinityScope on_helpers(spec.helper_cpus);
    sink->start();
    sender->start();
  }
  while (!sender->done()) {
    std::this_thread::sleep_for(10ms);
    if (interrupted.load()) {
      sender->stop();
      sink->stop();
    }
  }
  const gen::SendReport sent = sender->wait();
  const gen::SinkReport got = sink->wait();
  if (wire_sent != nullptr) *wire_sent = sent.packets + sent.end_markers;
  const auto cpu_after = spec.router_pid > 0 ? treeCpuNs(spec.router_pid) : std::nullopt;
  sampleCpus(cpus_after);
  const int64_t requeues_after = requeues();
  checkInterrupted(interrupted);

  TrialResult t;
  t.offered_pps = rate_pps;
  t.sent = sent.packets;
  t.sent_pps = sent.pps;
  t.received = got.packets;
  t.lost = t.sent > t.received ? t.sent - t.received : 0;
  t.loss = t.sent ? static_cast<double>(t.lost) / static_cast<double>(t.sent) : 0;
  t.received_pps = sent.duration_s > 0 ? static_cast<double>(t.received) / sent.duration_s : 0;
  t.p50_us = static_cast<double>(got.latency.p50) / 1e3;
  t.p99_us = static_cast<double>(got.latency.p99) / 1e3;
  if (requeues_before >= 0 && requeues_after > requeues_before)
    t.ingress_pushback = static_cast<uint64_t>(requeues_after - requeues_before);
  if (cpu_before && cpu_after && t.received > 0)
    t.cpu_ns_per_packet =
        static_cast<double>(*cpu_after - *cpu_before) / static_cast<double>(t.received);
  if (cpus_measured && cpus_after >= cpus_before && t.received > 0)
    t.router_cpus_ns_per_packet =
        static_cast<double>(cpus_after - cpus_before) / static_cast<double>(t.received);
  return t;
}

std::string rateText(double pps) {
  char buf[32];
  if (pps >= 1e6)
    std::snprintf(buf, sizeof buf, "%.3f Mpps", pps / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f kpps", pps / 1e3);
  return buf;
}

std::string runLabel(const RunResult& r) {
  return r.impl + " " + std::to_string(r.dataplanes) + " dp " + std::to_string(r.size) + " B";
}

void printTrial(std::ostream* out, const RunResult& r, size_t index, const TrialResult& t) {
  if (out == nullptr) return;
  const auto ns = [](std::optional<double> v) { return std::to_string(static_cast<int>(*v)); };
  const std::string cpu = t.cpu_ns_per_packet ? ns(t.cpu_ns_per_packet) + " ns/pkt" : "-";
  const std::string rtr =
      t.router_cpus_ns_per_packet ? " (router CPUs " + ns(t.router_cpus_ns_per_packet) + ")" : "";
  const std::string pushback =
      t.ingress_pushback ? "  ring full " + std::to_string(t.ingress_pushback) + "x" : "";
  char line[360];
  std::snprintf(line, sizeof line,
                "  %-22s trial %2zu: offered %-13s sent %-13s received %-13s loss %7.3f%%  "
                "p99 %7.0f us  cpu %s%s%s  %s\n",
                runLabel(r).c_str(), index,
                t.offered_pps > 0 ? rateText(t.offered_pps).c_str() : "max",
                rateText(t.sent_pps).c_str(), rateText(t.received_pps).c_str(), t.loss * 100,
                t.p99_us, cpu.c_str(), rtr.c_str(), pushback.c_str(),
                t.passed            ? "pass"
                : t.generator_short ? "FAIL (generator short)"
                                    : "FAIL");
  *out << line << std::flush;
}

// A little traffic until some comes through: the router is up and the
// path works (for nginx this also opens the sessions). Meanwhile the
// generator's veth counts what it carried (`wire`, netns): one datagram per
// packet sent, or the generator's GSO sends crossed the link whole.
std::string checkPath(const TrialSpec& spec, RouterUnderTest& router, const BenchTopology& topo,
                      const std::atomic<bool>& interrupted, std::optional<WireCheck>* wire) {
  TrialSpec probe = spec;
  probe.duration_s = 0.2;
  for (int attempt = 0; attempt < 15; ++attempt) {
    const auto before = topo.generatorTxPackets();
    uint64_t sent = 0;
    const TrialResult t = runTrial(probe, 2000, interrupted, &sent);
    const auto after = topo.generatorTxPackets();
    if (t.received > 0) {
      if (!before || !after) return "";
      *wire = WireCheck{sent, *after - *before};
      // At this rate a GSO send crossing whole would count once for about 5
      // datagrams; segmented, the count is one per datagram (veth's
      // NAPI-mode counter was seen to lag under load: 207 for 409 once).
      if ((*wire)->on_wire * 4 < sent)
        return "the generator's veth carried " + std::to_string((*wire)->on_wire) +
               " packets for " + std::to_string(sent) +
               " datagrams sent: its GSO sends crossed the link unsegmented";
      return "";
    }
    if (auto why = router.health(); !why.empty()) return why;
  }
  return "no datagram came through the router in 15 tries";
}

// perf record -e cpu-clock of the router's process tree during one extra
// trial at the run's best rate; writes DIR/IMPL-DPdp-SIZE.data and a
// perf report summary next to it (.txt).
void profileRun(const RunnerContext& ctx, const TrialSpec& spec, const RunResult& r) {
  const Options& o = *ctx.options;
  std::string pids;
  for (pid_t p : processTree(spec.router_pid))
    pids += (pids.empty() ? "" : ",") + std::to_string(p);
  const std::string base = o.perf_dir + "/" + r.impl + "-" + std::to_string(r.dataplanes) + "dp-" +
                           std::to_string(r.size);
  auto perf =
      Child::spawn({"perf", "record", "-e", "cpu-clock", "-g", "-p", pids, "-o", base + ".data"},
                   {.stdout_path = base + ".record.log", .stderr_path = base + ".record.log"});
  if (!perf) {
    if (ctx.progress) *ctx.progress << "  perf: " << perf.error() << "\n";
    return;
  }
  std::this_thread::sleep_for(500ms);  // perf attaches
  TrialSpec longer = spec;
  longer.duration_s = std::max(spec.duration_s, 5.0);
  const TrialResult t = runTrial(longer, r.at.offered_pps, *ctx.interrupted);
  perf->signal(SIGINT);
  perf->wait(20s);
  std::string report;
  runCommand({"perf", "report", "-i", base + ".data", "--stdio", "--no-children", "--sort",
              "dso,sym", "--percent-limit", "0.3", "-g", "none"},
             &report);
  std::ofstream(base + ".txt") << report;
  if (ctx.progress)
    *ctx.progress << "  perf: " << runLabel(r) << " at " << rateText(t.offered_pps) << " (loss "
                  << t.loss * 100 << "%): " << base << ".data, summary " << base << ".txt\n";
}

}  // namespace

unsigned generatorThreads(size_t generator_cpus, uint32_t flows) {
  const size_t most = std::min<size_t>(kMaxGeneratorThreads, std::max<uint32_t>(flows, 1));
  return static_cast<unsigned>(std::clamp<size_t>(generator_cpus, 1, most));
}

std::vector<RunResult> runMatrix(const RunnerContext& ctx) {
  const Options& o = *ctx.options;
  const std::atomic<bool>& interrupted = *ctx.interrupted;
  BenchTopology& topo = *ctx.topology;
  std::vector<RunResult> results;

  for (const auto& impl : o.impls) {
    for (unsigned dp : o.dataplanes) {
      checkInterrupted(interrupted);
      std::string error;
      const std::vector<int>& allowed = ctx.router_setup.cpus;
      const bool split = o.layout == CpuLayout::kSplit;
      // The sink's receive processing stays inline in the router's send (no
      // RPS on snk0): with RPS there, each send would raise an IPI to the
      // sink's CPU, which on a VM costs the router more than the delivery.
      error =
          split ? topo.setReceiveCpus(routerCpus(allowed, dp), {}) : topo.setReceiveCpus({}, {});
      auto router = error.empty() ? startRouter(impl, dp, ctx.router_setup, &error) : nullptr;
      checkInterrupted(interrupted);
      if (!router && ctx.progress)
        *ctx.progress << impl << " with " << dp << " dataplanes: " << error << "\n";
      for (uint32_t size : o.sizes) {
        RunResult r;
        r.impl = impl;
        r.dataplanes = dp;
        r.size = size;
        r.flows = o.flows;
        r.traffic = name(o.traffic);
        if (router) error = router->health();
        if (!router || !error.empty()) {
          r.error = error;
          results.push_back(r);
          continue;
        }
        TrialSpec spec;
        spec.target = router->target();
        spec.from = topo.generatorSource();
        spec.sink = topo.sink();
        spec.gen_ns = topo.genNs();
        spec.sink_ns = topo.sinkNs();
        spec.size = size;
        spec.flows = o.flows;
        spec.duration_s = o.trial_s;
        spec.mode = o.mode;
        spec.router_pid = router->pid();
        spec.gso = o.traffic == Traffic::kTunnel;
        spec.topology = &topo;
        if (split) spec.helper_cpus = helperCpus(allowed, dp);
        // The router's CPUs are its own only when generator and sink have others.
        if (!spec.helper_cpus.empty()) spec.router_cpus = routerCpus(allowed, dp);
        spec.threads = generatorThreads(
            spec.helper_cpus.empty() ? allowed.size() : spec.helper_cpus.size(), o.flows);
        r.generator_threads = spec.threads;
        try {
          if (auto why = checkPath(spec, *router, topo, interrupted, &r.wire); !why.empty()) {
            r.error = why;
            results.push_back(r);
            continue;
          }
          RateSearch search(o.searchSettings());
          while (auto rate = search.next()) {
            std::this_thread::sleep_for(50ms);  // the last trial's queues drain
            TrialResult t = runTrial(spec, *rate, interrupted);
            if (auto why = router->health(); !why.empty()) {
              checkInterrupted(interrupted);
              r.error = why;
              break;
            }
            search.record(t);
            printTrial(ctx.progress, r, search.trials().size(), search.trials().back());
          }
          r.trials = search.trials();
          if (const TrialResult* best = search.best()) {
            r.found = true;
            r.at = *best;
            // A generator held back by the router's full ingress ring
            // (tunnel traffic) ran at the router's pace, not its own.
            bool pushed = best->ingress_pushback > 0;
            for (const auto& t : search.trials())
              pushed |= t.generator_short && t.ingress_pushback > 0;
            r.generator_limited = search.generatorLimited() && !pushed;
          }
        } catch (const std::exception& e) {
          r.error = e.what();
        }
        if (ctx.progress) {
          if (!r.error.empty())
            *ctx.progress << runLabel(r) << ": " << r.error << "\n";
          else if (r.found)
            *ctx.progress << runLabel(r) << ": " << rateText(r.at.received_pps) << ", " << r.gbps()
                          << " Gbit/s (" << r.trials.size() << " trials"
                          << (r.generator_limited ? ", generator limit" : "") << ")\n";
          else
            *ctx.progress << runLabel(r) << ": no rate passed\n";
        }
        if (r.found && r.error.empty() && !o.perf_dir.empty() && spec.router_pid > 0)
          profileRun(ctx, spec, r);
        results.push_back(std::move(r));
      }
      if (router) router->stop();
    }
  }
  sortRuns(results);
  return results;
}

}  // namespace ferry::bench
