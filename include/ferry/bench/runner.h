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

// Generator threads per trial: one leaves the other core to the router and
// the sink on this 2-core class of machine.
inline constexpr unsigned kGeneratorThreads = 1;
// Packets per sendmmsg (ferry-gen's default).
inline constexpr unsigned kGeneratorBatch = 64;

// Runs the whole matrix; results in report order. Throws Interrupted.
std::vector<RunResult> runMatrix(const RunnerContext& context);

}  // namespace ferry::bench
