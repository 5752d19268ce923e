// The measuring loop of `ferryd bench`: for each implementation, dataplane
// count and size, start the router, check the path with a little traffic,
// then run the RFC 2544 search (search.h) with one trial per offered rate.
//
// A trial: a fresh ferry-gen Sink (in the sink namespace) and Sender (in the
// generator namespace), both in this process on their own threads, with a
// new run id so stragglers of the previous trial do not count; the router's
// CPU time (its process tree, /proc) is sampled around it.
#pragma once

#include <atomic>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "ferry/bench/options.h"
#include "ferry/bench/results.h"
#include "ferry/bench/routers.h"
#include "ferry/bench/topology.h"

namespace ferry::bench {

// Thrown out of the loop when SIGINT/SIGTERM arrived; everything started is
// stopped on the way out (RAII).
struct Interrupted {};

struct RunnerContext {
  const Options* options = nullptr;
  BenchTopology* topology = nullptr;
  RouterSetup router_setup;
  const std::atomic<bool>* interrupted = nullptr;
  std::ostream* progress = nullptr;  // one line per trial; null = quiet
};

// Generator threads per trial: one per CPU the generator may use (the CPUs
// the dataplanes leave free in the split layout, else all), at most the
// flows and kMaxGeneratorThreads. On a 2-CPU machine in the split layout:
// 1 with 1 dataplane (the other CPU is the router's), 2 with 2.
inline constexpr unsigned kMaxGeneratorThreads = 4;
unsigned generatorThreads(size_t generator_cpus, uint32_t flows);
// Packets per sendmmsg without GSO (ferry-gen's default). With GSO (tunnel
// traffic) a sendmmsg carries up to 8 super-packets of up to 64 segments
// (65000 bytes) each, segmented by the generator's veth.
inline constexpr unsigned kGeneratorBatch = 64;

// Runs the whole matrix; results in report order. Throws Interrupted.
std::vector<RunResult> runMatrix(const RunnerContext& context);

}  // namespace ferry::bench
