// What a send or sink run measured, and how it is printed: a human table, a
// one-line progress report, and one JSON object (keys in tools/ferry-gen/README.md).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ferry/gen/wire.h"

namespace ferry::gen {

struct SendReport {
  std::string to;
  uint16_t run = 0;
  uint64_t packets = 0;      // data packets the kernel accepted
  uint64_t bytes = 0;        // their UDP payload bytes
  uint64_t send_errors = 0;  // failed sendmmsg calls (ECONNREFUSED, ENOBUFS): retried
  uint64_t syscalls = 0;     // sendmmsg calls that sent something
  uint64_t end_markers = 0;  // end markers sent (not in packets/bytes)
  double duration_s = 0;     // first send to last data send
  double pps = 0;
  double bps = 0;       // UDP payload bits per second
  double rate_pps = 0;  // asked rate; 0 = as fast as possible
  uint32_t flows = 0;
  uint32_t threads = 0;
  std::vector<uint32_t> sizes;
  Encap encap = Encap::kNone;
  bool gso = false;
  std::vector<uint64_t> flow_packets;  // data packets per flow id
};

struct LatencySummary {
  uint64_t samples = 0;
  uint64_t min = 0;
  uint64_t p50 = 0;
  uint64_t p99 = 0;
  uint64_t p999 = 0;
  uint64_t max = 0;
  double mean = 0;
};

struct FlowReport {
  uint16_t flow = 0;
  uint64_t packets = 0;  // unique data packets
  uint64_t bytes = 0;
  uint64_t expected = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t late = 0;
  uint64_t duplicates = 0;
  bool ended = false;  // its end marker arrived
};

struct SinkReport {
  std::string listen;
  std::optional<uint16_t> run;  // the run counted (none seen: nullopt)
  // Data packets of the counted run; sums of the per-flow figures.
  uint64_t packets = 0;
  uint64_t bytes = 0;  // outer UDP payload bytes of those packets
  uint64_t expected = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t late = 0;
  uint64_t duplicates = 0;
  // Everything read from the socket.
  uint64_t datagrams = 0;     // after splitting GRO buffers
  uint64_t gro_buffers = 0;   // buffers that held more than one datagram
  uint64_t invalid = 0;       // not a ferry-gen packet (or, with --decap, no valid inner UDP)
  uint64_t bad_checksum = 0;  // --decap: inner IPv4 header or UDP checksum wrong
  uint64_t foreign = 0;       // ferry-gen packets of another run
  uint64_t end_markers = 0;   // end markers of the counted run, copies included
  // Datagrams the kernel dropped at the sink's own socket (SO_MEMINFO): loss
  // that happened because the sink fell behind, not on the path.
  uint64_t socket_drops = 0;
  uint32_t flows_announced = 0;  // flows in the run, from its end markers
  bool complete = false;         // every announced flow's end marker arrived
  double duration_s = 0;         // first to last data packet received
  double pps = 0;
  double bps = 0;
  std::string stop_reason;  // count | duration | idle | end | stopped | error
  std::string error;        // with stop_reason "error": what failed
  LatencySummary latency;
  std::vector<FlowReport> flows;  // by flow id

  double lossRatio() const noexcept {
    return expected ? static_cast<double>(lost) / static_cast<double>(expected) : 0;
  }
};

nlohmann::json toJson(const SendReport& report);
nlohmann::json toJson(const SinkReport& report);

// The human summary. Per-flow rows for at most `max_flow_rows` flows.
void printTable(std::ostream& out, const SendReport& report);
void printTable(std::ostream& out, const SinkReport& report, size_t max_flow_rows = 32);

// "12.3 kpps", "1.23 Gbit/s", "45.6 µs".
std::string formatPps(double pps);
std::string formatBps(double bps);
std::string formatNs(uint64_t ns);

}  // namespace ferry::gen
