// What `ferryd bench` measured, and the ways it is written out: the JSON
// document (its shape is in the README), CSV, and the terminal table
// with each implementation's ratio to the mmsg reference relay. Pure: the
// machine description is gathered elsewhere and passed in.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/bench/search.h"

namespace ferry::bench {

// Bytes an IPv4 UDP datagram adds to its payload on an Ethernet wire: UDP 8 +
// IPv4 20 + Ethernet header 14 + FCS 4 + preamble/SFD 8 + inter-frame gap 12
// (RFC 2544 line-rate arithmetic; veth has no wire, so this is a convention).
inline constexpr uint32_t kWireOverheadIpv4 = 66;

// The implementations under test, in report order. mmsg is the reference.
inline constexpr std::string_view kImplementations[] = {"ferry", "ferry-nogro", "mmsg", "nginx",
                                                        "kernel"};
inline constexpr std::string_view kReference = "mmsg";

// What the generator's veth carried during a run's path check: with GSO
// sends segmented before the wire, one datagram per packet sent.
struct WireCheck {
  uint64_t sent = 0;     // data packets + end markers the generator sent
  uint64_t on_wire = 0;  // packets its veth transmitted meanwhile (tx_packets)
};

// One throughput search: an implementation at a dataplane count, size, flow
// count and traffic profile.
struct RunResult {
  std::string impl;
  unsigned dataplanes = 0;
  uint32_t size = 0;  // UDP payload bytes
  uint32_t flows = 0;
  std::string traffic = "spread";  // the traffic profile (options.h)
  unsigned generator_threads = 0;  // sender threads of its trials; 0 = not recorded
  std::optional<WireCheck> wire;   // netns only
  bool found = false;              // some trial passed; `at` is the best one
  TrialResult at;                  // the passing trial at the highest rate
  bool generator_limited = false;  // the figure is the generator's ceiling
  std::vector<TrialResult> trials;
  std::string error;  // why the run could not be measured ("" when it was)

  double mpps() const noexcept { return found ? at.received_pps / 1e6 : 0; }
  // UDP payload bits per second, in Gbit/s.
  double gbps() const noexcept { return found ? at.received_pps * size * 8 / 1e9 : 0; }
  // Ethernet layer-1 bits (payload + kWireOverheadIpv4), in Gbit/s.
  double gbpsWire() const noexcept {
    return found ? at.received_pps * (size + kWireOverheadIpv4) * 8 / 1e9 : 0;
  }
};

struct MachineInfo {
  unsigned cpus = 0;  // online
  std::string cpu_model;
  std::string kernel;  // uname -r
  std::string hostname;
  uint64_t memory_bytes = 0;
};

// The whole invocation: where, how, what.
struct BenchReport {
  MachineInfo machine;
  nlohmann::json settings = nlohmann::json::object();
  std::vector<RunResult> runs;
};

// `run`'s packet rate over the reference implementation's at the same
// dataplane count, size, flows and traffic; nullopt when either has no figure.
std::optional<double> ratioToReference(const std::vector<RunResult>& runs, const RunResult& run,
                                       std::string_view reference = kReference);

// Report order: implementations as in kImplementations (others after, by
// name), then dataplanes, then size, flows and traffic.
void sortRuns(std::vector<RunResult>& runs);

nlohmann::json toJson(const MachineInfo& machine);
nlohmann::json toJson(const RunResult& run, const std::vector<RunResult>& all);
nlohmann::json toJson(const BenchReport& report);
// The inverse of toJson(BenchReport) (for re-plotting a saved run); throws
// nlohmann::json::exception when `j` lacks a key of the shape.
BenchReport reportFromJson(const nlohmann::json& j);

// One header line, then one line per run; the columns are named in the header.
std::string toCsv(const std::vector<RunResult>& runs);

// First the traffic profile(s), then rows: implementation × dataplanes;
// columns: sizes. Each cell: Gbit/s of UDP payload, Mpps, the ratio to mmsg
// and the router's CPU time per packet. Then the verdicts on the
// project's throughput targets, when the runs cover them.
void printTable(std::ostream& out, const std::vector<RunResult>& runs);

// The project's throughput targets, each with a verdict, from the runs that
// cover them: ferry >= 1.0x mmsg at every (dataplanes, size) both ran; ferry
// with 2 dataplanes >= 4x nginx with 2 workers at each size both ran. With
// tunnel traffic only (UDP GRO on receive): ferry >= 1.0x kernel and >= 2.0x
// ferry-nogro at every point both ran; ferry's CPU time <= 0.5 us per packet
// at 1400 B.
struct TargetCheck {
  std::string name;
  bool met = false;
  std::string detail;  // the figures behind the verdict
};
std::vector<TargetCheck> checkTargets(const std::vector<RunResult>& runs);

}  // namespace ferry::bench
