// `ferryd bench` command line, parsed into Options. Pure: which
// topology "default" means is decided later, by what the machine allows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ferry/bench/search.h"

namespace ferry::bench {

enum class Topology { kNetns, kLoopback };
enum class Mode { kRelay, kRoute };
// Where the netns topology's work runs (see topology.h and the README):
//   split   the router's receive processing on the router's CPUs (RPS on
//           its ingress veth); generator and sink pinned to the CPUs the
//           dataplanes leave free, if any — as if they were other machines;
//   shared  kernel defaults: a veth runs the receiver's stack on the sending
//           CPU, generator and sink float over all CPUs.
enum class CpuLayout { kSplit, kShared };
// The generator's traffic (--traffic, netns only for tunnel):
//   spread  many flows (64 by default) spread over the dataplanes; the
//           router's ingress veth hands each datagram over alone (no NAPI,
//           no GRO), as before there were profiles;
//   tunnel  a few outer flows (4 by default), as between routers: each flow
//           leaves in back-to-back runs the way a neighbour's GSO sends leave
//           its NIC (the generator sends with UDP GSO and its own veth
//           segments them in software, so separate datagrams cross the
//           link), and the router's ingress veth does GRO as a NIC does
//           (NAPI, gro and rx-udp-gro-forwarding on; see topology.h).
enum class Traffic { kSpread, kTunnel };

const char* name(Topology t);
const char* name(Mode m);
const char* name(CpuLayout l);
const char* name(Traffic t);

// The implementations --compare accepts, in report order (ferry itself is
// always measured first): ferry-nogro is ferry with `tuning.gro: false`.
inline constexpr const char* kComparable[] = {"ferry-nogro", "mmsg", "nginx", "kernel"};

// Default flow counts of the traffic profiles.
inline constexpr uint32_t kSpreadFlows = 64;
inline constexpr uint32_t kTunnelFlows = 4;

// --egress-uso (netns only): the router's egress veth keeps UDP segmentation
// offload, as a NIC with USO does, so a GSO send (ferry's, or the kernel's
// forwarded GRO super-packet) leaves whole and no router segments it on its
// CPU; the sink takes it with UDP_GRO and counts every datagram of it. By
// default the egress has no USO and the router's kernel segments.

struct Options {
  std::vector<unsigned> dataplanes = {1, 2, 4};
  std::vector<uint32_t> sizes = {64, 512, 1400, 3000};  // UDP payload bytes
  Traffic traffic = Traffic::kSpread;
  uint32_t flows = kSpreadFlows;  // unless --flows: kTunnelFlows with --traffic tunnel
  Mode mode = Mode::kRelay;
  std::optional<Topology> topology;  // unset: netns when root and namespaces work, else loopback
  CpuLayout layout = CpuLayout::kSplit;
  bool egress_uso = false;  // see above
  double loss = 0.001;  // loss tolerance of a passing trial, 0..1
  double trial_s = 2;
  // ferry first, then the peers of --compare, in the order given.
  std::vector<std::string> impls = {"ferry", "mmsg", "nginx", "kernel"};
  bool quick = false;
  std::string json_path, csv_path, svg_path;
  bool verbose = false;  // progress lines also when stderr is not a terminal
  unsigned max_trials = 12;
  double resolution = 0.02;  // search stops at hi <= lo × (1 + resolution)
  std::string perf_dir;      // profile each run at its best rate (perf record -e cpu-clock)
  std::string from_json;     // measure nothing: re-render a saved --json (table, --csv, --svg)

  SearchSettings searchSettings() const;
};

struct ParsedOptions {
  std::optional<Options> options;  // set when the arguments are valid
  std::string error;               // names the argument otherwise
  bool help = false;               // --help: print usage, exit 0
};

// `args` are the words after "bench". --traffic tunnel makes 4 flows the
// default and refuses --topology loopback. --quick changes the defaults of what is
// not given explicitly: dataplanes 1,2; sizes 64,1400; compare mmsg; trial 0.5 s;
// at most 8 trials at 5% resolution.
ParsedOptions parseOptions(const std::vector<std::string>& args);

// The generated --help of `ferryd bench`.
std::string usage();

// "2s", "500ms", "1.5" (seconds) → seconds; nullopt when malformed or <= 0.
std::optional<double> parseSeconds(const std::string& text);

}  // namespace ferry::bench
