#include "ferry/gen/report.h"

#include <cstdio>
#include <ostream>

namespace ferry::gen {
namespace {

std::string format(const char* fmt, double value, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, value, unit);
  return buf;
}

// 3 significant digits with a decimal prefix: 999 -> "999 ", 12345 -> "12.3 k".
std::string scaled(double value, const char* unit) {
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  size_t i = 0;
  while (value >= 999.5 && i + 1 < std::size(prefixes)) {
    value /= 1000;
    ++i;
  }
  const char* fmt = value >= 99.95 ? "%.0f %s" : value >= 9.995 ? "%.1f %s" : "%.2f %s";
  return format(fmt, value, (std::string(prefixes[i]) + unit).c_str());
}

std::string percent(uint64_t part, uint64_t whole) {
  return format("%.3f%s",
                whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0, "%");
}

}  // namespace

std::string formatPps(double pps) { return scaled(pps, "pps"); }
std::string formatBps(double bps) { return scaled(bps, "bit/s"); }

std::string formatNs(uint64_t ns) {
  const double v = static_cast<double>(ns);
  if (ns < 1000) return format("%.0f %s", v, "ns");
  if (ns < 1'000'000) return format("%.1f %s", v / 1e3, "us");
  if (ns < 1'000'000'000) return format("%.2f %s", v / 1e6, "ms");
  return format("%.3f %s", v / 1e9, "s");
}

nlohmann::json toJson(const SendReport& r) {
  nlohmann::json flows = nlohmann::json::array();
  for (size_t id = 0; id < r.flow_packets.size(); ++id)
    flows.push_back({{"flow", id}, {"packets", r.flow_packets[id]}});
  return {
      {"mode", "send"},
      {"to", r.to},
      {"run", r.run},
      {"packets", r.packets},
      {"bytes", r.bytes},
      {"pps", r.pps},
      {"bps", r.bps},
      {"duration_s", r.duration_s},
      {"rate_pps", r.rate_pps},
      {"send_errors", r.send_errors},
      {"syscalls", r.syscalls},
      {"end_markers", r.end_markers},
      {"threads", r.threads},
      {"sizes", r.sizes},
      {"encap", std::string(toString(r.encap))},
      {"gso", r.gso},
      {"flows", flows},
  };
}

nlohmann::json toJson(const SinkReport& r) {
  nlohmann::json flows = nlohmann::json::array();
  for (const FlowReport& f : r.flows) {
    flows.push_back({{"flow", f.flow},
                     {"packets", f.packets},
                     {"bytes", f.bytes},
                     {"expected", f.expected},
                     {"lost", f.lost},
                     {"reordered", f.reordered},
                     {"late", f.late},
                     {"duplicates", f.duplicates},
                     {"ended", f.ended}});
  }
  return {
      {"mode", "sink"},
      {"listen", r.listen},
      {"run", r.run ? nlohmann::json(*r.run) : nlohmann::json(nullptr)},
      {"packets", r.packets},
      {"bytes", r.bytes},
      {"expected", r.expected},
      {"lost", r.lost},
      {"loss_ratio", r.lossRatio()},
      {"reordered", r.reordered},
      {"late", r.late},
      {"duplicates", r.duplicates},
      {"pps", r.pps},
      {"bps", r.bps},
      {"duration_s", r.duration_s},
      {"datagrams", r.datagrams},
      {"gro_buffers", r.gro_buffers},
      {"invalid", r.invalid},
      {"bad_checksum", r.bad_checksum},
      {"foreign", r.foreign},
      {"end_markers", r.end_markers},
      {"socket_drops", r.socket_drops},
      {"flows_announced", r.flows_announced},
      {"complete", r.complete},
      {"stop_reason", r.stop_reason},
      {"error", r.error},
      {"latency_ns",
       {{"samples", r.latency.samples},
        {"min", r.latency.min},
        {"mean", r.latency.mean},
        {"p50", r.latency.p50},
        {"p99", r.latency.p99},
        {"p999", r.latency.p999},
        {"max", r.latency.max}}},
      {"flows", flows},
  };
}

void printTable(std::ostream& out, const SendReport& r) {
  std::string sizes;
  for (size_t i = 0; i < r.sizes.size() && i < 12; ++i)
    sizes += (i ? "," : "") + std::to_string(r.sizes[i]);
  if (r.sizes.size() > 12) sizes += ",...";
  out << "ferry-gen send to " << r.to << "  run " << r.run << "\n"
      << "  flows " << r.flows << "  threads " << r.threads << "  sizes " << sizes << " B  encap "
      << toString(r.encap) << "  gso " << (r.gso ? "on" : "off") << "  rate "
      << (r.rate_pps > 0 ? formatPps(r.rate_pps) : std::string("max")) << "\n"
      << "  packets  " << r.packets << "\n"
      << "  bytes    " << r.bytes << "\n"
      << "  duration " << format("%.3f %s", r.duration_s, "s") << "\n"
      << "  rate     " << formatPps(r.pps) << "  " << formatBps(r.bps) << "\n"
      << "  errors   " << r.send_errors << "  (end markers " << r.end_markers << ", syscalls "
      << r.syscalls << ")\n";
}

void printTable(std::ostream& out, const SinkReport& r, size_t max_flow_rows) {
  out << "ferry-gen sink on " << r.listen << "  run "
      << (r.run ? std::to_string(*r.run) : std::string("-")) << "  ended by " << r.stop_reason
      << "\n"
      << "  packets    " << r.packets << "  (" << r.bytes << " bytes)\n"
      << "  duration   " << format("%.3f %s", r.duration_s, "s") << "  (first to last packet)\n"
      << "  rate       " << formatPps(r.pps) << "  " << formatBps(r.bps) << "\n"
      << "  lost       " << r.lost << " of " << r.expected << "  (" << percent(r.lost, r.expected)
      << ")\n"
      << "  reordered  " << r.reordered << "  (late " << r.late << ")\n"
      << "  duplicates " << r.duplicates << "\n"
      << "  other      invalid " << r.invalid << "  bad checksum " << r.bad_checksum << "  foreign "
      << r.foreign << "  GRO buffers " << r.gro_buffers << "  socket drops " << r.socket_drops
      << "\n"
      << "  end        " << (r.complete ? "complete" : "incomplete") << "  (" << r.end_markers
      << " markers, " << r.flows_announced << " flows announced)\n";
  if (r.latency.samples) {
    out << "  latency    p50 " << formatNs(r.latency.p50) << "  p99 " << formatNs(r.latency.p99)
        << "  p99.9 " << formatNs(r.latency.p999) << "  max " << formatNs(r.latency.max) << "\n";
  }
  if (r.flows.empty()) return;
  char line[160];
  std::snprintf(line, sizeof(line), "  %6s %12s %10s %10s %10s %s\n", "flow", "packets", "lost",
                "reordered", "duplicates", "end");
  out << line;
  for (size_t i = 0; i < r.flows.size() && i < max_flow_rows; ++i) {
    const FlowReport& f = r.flows[i];
    std::snprintf(line, sizeof(line), "  %6u %12llu %10llu %10llu %10llu %s\n",
                  static_cast<unsigned>(f.flow), static_cast<unsigned long long>(f.packets),
                  static_cast<unsigned long long>(f.lost),
                  static_cast<unsigned long long>(f.reordered),
                  static_cast<unsigned long long>(f.duplicates), f.ended ? "yes" : "no");
    out << line;
  }
  if (r.flows.size() > max_flow_rows)
    out << "  ... " << r.flows.size() - max_flow_rows << " more flows (see --json)\n";
}

}  // namespace ferry::gen
