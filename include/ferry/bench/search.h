// RFC 2544 §26.1 throughput search: the highest offered rate whose loss stays
// within a tolerance, found by trials at chosen rates. Pure logic: the caller
// runs each trial (with sockets, or against a fake link in tests) and reports
// what it measured; the search only decides the next rate.
//
//   RateSearch search(settings);
//   while (auto rate = search.next()) search.record(runTrial(*rate));
//   const TrialResult* ndr = search.best();   // null: no rate passed
//
// Rates are packets per second. A rate of 0 asks the generator for "as fast
// as it can"; the first trial is at settings.max_pps, so with max_pps = 0 it
// finds the generator's own ceiling and takes its sent rate as the upper bound.
//
// Steps: after the first trial, the search bisects [lo, hi] (lo: the highest
// rate that passed, else min_pps; hi: the lowest that failed) at the
// geometric midpoint, so a wide range converges in relative terms. Up to two
// guided probes may jump ahead (as MLRsearch does): a failed trial's
// *received* rate is usually close to the capacity, so it is tried next; when
// such a probe passes, one step of `resolution` above it is tried to close the
// interval. Done when hi <= lo × (1 + resolution) or after max_trials.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace ferry::bench {

// What one trial measured. The search reads the rates and the loss; the rest
// travels with the result (latency and CPU cost at the best rate).
struct TrialResult {
  double offered_pps = 0;   // asked of the generator (0 = as fast as possible)
  double sent_pps = 0;      // what the generator achieved
  double received_pps = 0;  // unique packets at the sink per second of sending
  double loss = 0;          // lost / expected at the sink, 0..1
  uint64_t sent = 0;        // packets
  uint64_t received = 0;
  uint64_t lost = 0;
  double p50_us = 0;  // one-way latency, generator to sink
  double p99_us = 0;
  std::optional<double> cpu_ns_per_packet;  // the router's user+sys time / received
  // The busy time of the router's CPUs / received (split layout only, where
  // nothing else runs there): what cpu_ns_per_packet leaves out, softirq work
  // on kernel threads (GRO on a NAPI thread), included; also for the kernel.
  std::optional<double> router_cpus_ns_per_packet;
  // Tunnel traffic: times the router's ingress ring was full and the
  // generator's queue held datagrams back (requeues of gen0's qdisc): the
  // router, not the generator, set the pace then. 0 otherwise.
  uint64_t ingress_pushback = 0;
  bool passed = false;                      // set by RateSearch::record
  bool generator_short = false;             // set by RateSearch::record
};

struct SearchSettings {
  double min_pps = 1000;  // below this the search gives up (no result)
  double max_pps = 0;     // first trial; 0 = as fast as the generator can
  double loss_tolerance = 0.001;
  double resolution = 0.02;  // stop when hi <= lo × (1 + resolution)
  unsigned max_trials = 12;
  // A trial whose generator sent less than (1 - generator_tolerance) × the
  // offered rate did not offer that rate: it cannot pass, and it bounds the
  // search from above (the testbed could not offer more).
  double generator_tolerance = 0.03;
};

// Whether `trial` passes under `settings` (loss within tolerance and the
// generator reached the offered rate).
bool trialPasses(const TrialResult& trial, const SearchSettings& settings) noexcept;

class RateSearch {
 public:
  explicit RateSearch(const SearchSettings& settings) : settings_(settings) {}

  // The rate of the next trial, or nullopt when the search is done.
  std::optional<double> next() const;
  // Records the outcome of the trial at the rate next() returned (passed and
  // generator_short are filled in here).
  void record(TrialResult trial);

  bool done() const { return !next().has_value(); }
  // The passing trial at the highest rate; null when none passed.
  const TrialResult* best() const;
  const std::vector<TrialResult>& trials() const noexcept { return trials_; }
  // True when the figure is the generator's limit, not the router's: the
  // first trial passed (the router forwarded all the generator could send),
  // or the search ended against a rate the generator could not reach.
  bool generatorLimited() const;
  // The current bracket: the highest passing rate (or min_pps) and the lowest
  // failing rate (or the first trial's sent rate).
  double lower() const noexcept { return lo_; }
  double upper() const noexcept { return hi_; }

 private:
  SearchSettings settings_;
  std::vector<TrialResult> trials_;
  double lo_ = 0;
  double hi_ = 0;
  bool lo_passed_ = false;
  bool hi_short_ = false;  // hi_ comes from a trial the generator could not offer
  bool finished_ = false;  // the first trial passed unbounded, or nothing left to try
  unsigned guided_ = 0;    // guided probes used
  std::optional<double> pending_guided_;  // the next probe when it is a guided one
  std::optional<size_t> best_;
};

}  // namespace ferry::bench
