#include "ferry/bench/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

namespace ferry::bench {
namespace {

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    out.push_back(
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::optional<uint64_t> parseUnsigned(const std::string& s) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parseDouble(const std::string& s) {
  if (s.empty()) return std::nullopt;
  size_t used = 0;
  try {
    const double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

// A comma list of integers in [lo, hi], each at most once.
template <typename T>
std::optional<std::vector<T>> parseNumberList(const std::string& text, uint64_t lo, uint64_t hi,
                                              std::string* error) {
  std::vector<T> out;
  for (const auto& item : splitList(text)) {
    const auto v = parseUnsigned(item);
    if (!v || *v < lo || *v > hi) {
      *error = "expected a comma-separated list of numbers from " + std::to_string(lo) + " to " +
               std::to_string(hi) + ", got '" + text + "'";
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), static_cast<T>(*v)) != out.end()) {
      *error = item + " is listed twice";
      return std::nullopt;
    }
    out.push_back(static_cast<T>(*v));
  }
  return out;
}

}  // namespace

const char* name(Topology t) { return t == Topology::Netns ? "netns" : "loopback"; }
const char* name(Mode m) { return m == Mode::Relay ? "relay" : "route"; }
const char* name(CpuLayout l) { return l == CpuLayout::Split ? "split" : "shared"; }
const char* name(Traffic t) { return t == Traffic::Spread ? "spread" : "tunnel"; }

const char* const kBenchUsage =
    "usage: ferryd bench [--dataplanes 1,2,4] [--sizes 64,512,1400,3000] [--flows 64]\n"
    "                    [--traffic spread|tunnel] [--mode relay|route]\n"
    "                    [--topology netns|loopback] [--loss 0.001] [--trial 2s]\n"
    "                    [--compare ferry-nogro,mmsg,nginx,kernel|none] [--quick]\n"
    "                    [--json FILE] [--csv FILE] [--svg FILE]\n"
    "                    [--cpu-layout split|shared] [--max-trials 12] [--resolution 0.02]\n"
    "                    [--perf-dir DIR] [--verbose]\n"
    "       ferryd bench --from-json FILE [--csv FILE] [--svg FILE]   (re-render a saved run)\n"
    "\n"
    "For each implementation (ferry, then the --compare peers), dataplane count and size:\n"
    "an RFC 2544 binary search for the highest offered rate whose loss stays within --loss,\n"
    "each trial --trial long, with ferry-gen as generator and sink. Prints a table of Gbit/s\n"
    "and Mpps with the ratio to mmsg and the router's CPU time per packet.\n"
    "--traffic spread (default): 64 flows, one datagram at a time into the router.\n"
    "--traffic tunnel: 4 outer flows (--flows sets it) in back-to-back runs, segmented\n"
    "before the wire, with GRO on the router's ingress veth as on a NIC (netns only).\n"
    "ferry-nogro is ferry with tuning.gro: false. --quick: dataplanes 1,2, sizes 64,1400,\n"
    "compare mmsg,\n"
    "0.5 s trials, at most 8 trials (explicit options still apply). Run as root for the\n"
    "netns topology (generator, router and sink namespaces joined by veth pairs).\n";

SearchSettings Options::searchSettings() const {
  SearchSettings s;
  s.loss_tolerance = loss;
  s.max_trials = max_trials;
  s.resolution = resolution;
  return s;
}

std::optional<double> parseSeconds(const std::string& text) {
  std::string number = text;
  double scale = 1;
  if (number.size() > 2 && number.ends_with("ms")) {
    number.resize(number.size() - 2);
    scale = 1e-3;
  } else if (number.size() > 1 && number.ends_with("s")) {
    number.resize(number.size() - 1);
  }
  const auto v = parseDouble(number);
  if (!v || *v <= 0) return std::nullopt;
  return *v * scale;
}

ParsedOptions parseOptions(const std::vector<std::string>& args) {
  ParsedOptions result;
  Options o;
  std::set<std::string> given;
  auto fail = [&](const std::string& what) {
    result.error = what;
    result.options.reset();
    return result;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      result.help = true;
      return result;
    }
    if (arg == "--quick") {
      o.quick = true;
      continue;
    }
    if (arg == "--verbose" || arg == "-v") {
      o.verbose = true;
      continue;
    }
    static const std::set<std::string> kWithValue = {
        "--dataplanes", "--sizes",    "--flows",      "--mode",     "--topology",  "--loss",
        "--trial",      "--compare",  "--json",       "--csv",      "--svg",       "--max-trials",
        "--resolution", "--perf-dir", "--cpu-layout", "--from-json", "--traffic"};
    if (!kWithValue.count(arg)) return fail("unknown option '" + arg + "'");
    if (i + 1 >= args.size()) return fail(arg + ": expected a value");
    const std::string& value = args[++i];
    if (!given.insert(arg).second) return fail(arg + ": given twice");
    std::string error;
    if ((arg == "--json" || arg == "--csv" || arg == "--svg" || arg == "--perf-dir" ||
         arg == "--from-json") &&
        value.empty())
      return fail(arg + ": expected a file name");
    if (arg == "--dataplanes") {
      auto v = parseNumberList<unsigned>(value, 1, 1024, &error);
      if (!v) return fail("--dataplanes: " + error);
      o.dataplanes = *v;
    } else if (arg == "--sizes") {
      // 16 bytes hold ferry-gen's measuring header; 65507 is the largest
      // UDP payload over IPv4; ferryd accepts up to 65535 (tuning.max_datagram).
      auto v = parseNumberList<uint32_t>(value, 16, 65507, &error);
      if (!v) return fail("--sizes: " + error);
      o.sizes = *v;
    } else if (arg == "--flows") {
      const auto v = parseUnsigned(value);
      if (!v || *v < 1 || *v > 4096)
        return fail("--flows: expected a number from 1 to 4096, got '" + value + "'");
      o.flows = static_cast<uint32_t>(*v);
    } else if (arg == "--mode") {
      if (value == "relay")
        o.mode = Mode::Relay;
      else if (value == "route")
        o.mode = Mode::Route;
      else
        return fail("--mode: expected relay or route, got '" + value + "'");
    } else if (arg == "--topology") {
      if (value == "netns")
        o.topology = Topology::Netns;
      else if (value == "loopback")
        o.topology = Topology::Loopback;
      else
        return fail("--topology: expected netns or loopback, got '" + value + "'");
    } else if (arg == "--traffic") {
      if (value == "spread")
        o.traffic = Traffic::Spread;
      else if (value == "tunnel")
        o.traffic = Traffic::Tunnel;
      else
        return fail("--traffic: expected spread or tunnel, got '" + value + "'");
    } else if (arg == "--cpu-layout") {
      if (value == "split")
        o.layout = CpuLayout::Split;
      else if (value == "shared")
        o.layout = CpuLayout::Shared;
      else
        return fail("--cpu-layout: expected split or shared, got '" + value + "'");
    } else if (arg == "--loss") {
      std::string number = value;
      double scale = 1;
      if (number.ends_with("%")) {
        number.pop_back();
        scale = 0.01;
      }
      const auto v = parseDouble(number);
      if (!v || *v < 0 || *v * scale >= 1)
        return fail("--loss: expected a fraction from 0 to below 1 (0.001, or 0.1%), got '" +
                    value + "'");
      o.loss = *v * scale;
    } else if (arg == "--trial") {
      const auto v = parseSeconds(value);
      if (!v || *v < 0.05 || *v > 3600)
        return fail("--trial: expected a duration from 50ms to 3600s (2s, 500ms, 1.5), got '" +
                    value + "'");
      o.trial_s = *v;
    } else if (arg == "--compare") {
      o.impls = {"ferry"};
      if (value == "none") continue;
      for (const auto& peer : splitList(value)) {
        if (std::find_if(std::begin(kComparable), std::end(kComparable),
                         [&](const char* c) { return peer == c; }) == std::end(kComparable))
          return fail(
              "--compare: expected a list of ferry-nogro, mmsg, nginx, kernel (or none), got '" +
              peer + "'");
        if (std::find(o.impls.begin(), o.impls.end(), peer) != o.impls.end())
          return fail("--compare: " + peer + " is listed twice");
        o.impls.push_back(peer);
      }
    } else if (arg == "--json") {
      o.json_path = value;
    } else if (arg == "--csv") {
      o.csv_path = value;
    } else if (arg == "--svg") {
      o.svg_path = value;
    } else if (arg == "--perf-dir") {
      o.perf_dir = value;
    } else if (arg == "--from-json") {
      o.from_json = value;
    } else if (arg == "--max-trials") {
      const auto v = parseUnsigned(value);
      if (!v || *v < 1 || *v > 100)
        return fail("--max-trials: expected a number from 1 to 100, got '" + value + "'");
      o.max_trials = static_cast<unsigned>(*v);
    } else if (arg == "--resolution") {
      const auto v = parseDouble(value);
      if (!v || *v < 0.001 || *v > 1)
        return fail("--resolution: expected a fraction from 0.001 to 1, got '" + value + "'");
      o.resolution = *v;
    }
  }
  if (o.traffic == Traffic::Tunnel) {
    if (o.topology == Topology::Loopback)
      return fail(
          "--traffic tunnel: needs the netns topology (GRO on the router's ingress veth), "
          "not loopback");
    if (!given.count("--flows")) o.flows = kTunnelFlows;
  }
  if (o.quick) {
    if (!given.count("--dataplanes")) o.dataplanes = {1, 2};
    if (!given.count("--sizes")) o.sizes = {64, 1400};
    if (!given.count("--compare")) o.impls = {"ferry", "mmsg"};
    if (!given.count("--trial")) o.trial_s = 0.5;
    if (!given.count("--max-trials")) o.max_trials = 8;
    if (!given.count("--resolution")) o.resolution = 0.05;
  }
  result.options = o;
  return result;
}

}  // namespace ferry::bench
