#include "ferry/bench/options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "ferry/cli.h"

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

const char* name(Topology t) { return t == Topology::kNetns ? "netns" : "loopback"; }
const char* name(Mode m) { return m == Mode::kRelay ? "relay" : "route"; }
const char* name(CpuLayout l) { return l == CpuLayout::kSplit ? "split" : "shared"; }
const char* name(Traffic t) { return t == Traffic::kSpread ? "spread" : "tunnel"; }

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

namespace {

// The options that take a value, kept as text as given; CLI11 finds them
// (and writes --help), parseOptions judges them, so each message names its
// option.
struct Texts {
  std::map<std::string, std::string> values;
  bool quick = false, verbose = false, egress_uso = false;
};

struct Command {
  CLI::App app{"ferryd bench: ferry's forwarding throughput per dataplane count, RFC 2544 "
               "style, side by side with a classic recvmmsg/sendmmsg relay, nginx's UDP proxy "
               "and the kernel's own forwarding.",
               "ferryd bench"};
  Texts t;

  void value(const std::string& name, const std::string& type, const std::string& help) {
    app.add_option_function<std::string>(
           name, [this, name](const std::string& v) { t.values[name] = v; }, help)
        ->type_name(type);
  }

  Command() {
    app.allow_extras();
    value("--dataplanes", "1,2,4", "dataplane counts to measure (default 1,2,4)");
    value("--sizes", "64,512,1400,3000", "UDP payload sizes in bytes, 16..65507 (default 64,512,1400,3000)");
    value("--flows", "N", "flows, 1..4096 (default 64; 4 with --traffic tunnel)");
    value("--traffic", "spread|tunnel",
          "spread (default): 64 flows, one datagram at a time into the router; tunnel: 4 outer "
          "flows in back-to-back runs, segmented before the wire, with GRO on the router's "
          "ingress veth as on a NIC (netns only)");
    value("--mode", "relay|route", "ferry's forwarding mode (default relay)");
    value("--topology", "netns|loopback",
          "default: netns when root and namespaces work (generator, router and sink namespaces "
          "joined by veth pairs), else loopback");
    value("--loss", "0.001", "loss tolerance of a passing trial, a fraction or a percentage (0.1%)");
    value("--trial", "2s", "trial length, 50ms..3600s");
    value("--compare", "ferry-nogro,mmsg,nginx,kernel|none",
          "peers measured after ferry (default mmsg,nginx,kernel); ferry-nogro is ferry with "
          "tuning.gro: false");
    app.add_flag("--quick", t.quick,
                 "dataplanes 1,2, sizes 64,1400, compare mmsg, 0.5 s trials, at most 8 trials at "
                 "5% resolution (explicit options still apply)");
    value("--json", "FILE", "write the results as JSON");
    value("--csv", "FILE", "write the results as CSV");
    value("--svg", "FILE", "draw the results as an SVG chart");
    value("--cpu-layout", "split|shared", "CPU placement of generator, router and sink (default split)");
    app.add_flag("--egress-uso", t.egress_uso,
                 "the router's egress keeps UDP segmentation offload, as a NIC with USO: GSO sends "
                 "leave whole and the sink takes them with UDP_GRO (netns only; default: the "
                 "router's kernel segments)");
    value("--max-trials", "12", "trials per search, 1..100");
    value("--resolution", "0.02", "the search stops at hi <= lo x (1 + resolution), 0.001..1");
    value("--perf-dir", "DIR", "profile each run at its best rate (perf record -e cpu-clock)");
    value("--from-json", "FILE", "measure nothing: re-render a saved --json (table, --csv, --svg)");
    app.add_flag("-v,--verbose", t.verbose, "progress lines also when stderr is not a terminal");
    app.footer(
        "For each implementation (ferry, then the --compare peers), dataplane count and size: an\n"
        "RFC 2544 binary search for the highest offered rate whose loss stays within --loss, each\n"
        "trial --trial long, with ferry-gen as generator and sink. Prints a table of Gbit/s and Mpps\n"
        "with the ratio to mmsg and the router's CPU time per packet. Run as root for the netns\n"
        "topology.");
  }
};

}  // namespace

std::string usage() {
  Command command;
  return command.app.help();
}

ParsedOptions parseOptions(const std::vector<std::string>& args) {
  ParsedOptions result;
  Options o;
  auto fail = [&](const std::string& what) {
    result.error = what;
    result.options.reset();
    return result;
  };
  Command command;
  const auto parsed = cli::parse(command.app, args);
  if (parsed.outcome == cli::Outcome::kHelp) {
    result.help = true;
    return result;
  }
  if (parsed.outcome == cli::Outcome::kError) return fail(parsed.text);
  if (const auto extra = command.app.remaining(); !extra.empty())
    return fail("unexpected argument '" + extra[0] + "'");
  o.quick = command.t.quick;
  o.verbose = command.t.verbose;
  o.egress_uso = command.t.egress_uso;
  std::set<std::string> given;
  for (const auto& [arg, value] : command.t.values) {
    given.insert(arg);
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
        o.mode = Mode::kRelay;
      else if (value == "route")
        o.mode = Mode::kRoute;
      else
        return fail("--mode: expected relay or route, got '" + value + "'");
    } else if (arg == "--topology") {
      if (value == "netns")
        o.topology = Topology::kNetns;
      else if (value == "loopback")
        o.topology = Topology::kLoopback;
      else
        return fail("--topology: expected netns or loopback, got '" + value + "'");
    } else if (arg == "--traffic") {
      if (value == "spread")
        o.traffic = Traffic::kSpread;
      else if (value == "tunnel")
        o.traffic = Traffic::kTunnel;
      else
        return fail("--traffic: expected spread or tunnel, got '" + value + "'");
    } else if (arg == "--cpu-layout") {
      if (value == "split")
        o.layout = CpuLayout::kSplit;
      else if (value == "shared")
        o.layout = CpuLayout::kShared;
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
  if (o.egress_uso && o.topology == Topology::kLoopback)
    return fail("--egress-uso: needs the netns topology (the router's egress veth), not loopback");
  if (o.traffic == Traffic::kTunnel) {
    if (o.topology == Topology::kLoopback)
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
