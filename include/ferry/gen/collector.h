// The sink's accounting, without a socket: feed it each received UDP payload
// (a GRO buffer already split) with the receive time; it keeps per-flow
// sequence state and the latency histogram. Pure: time is an argument.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "ferry/gen/report.h"
#include "ferry/gen/stats.h"

namespace ferry::gen {

struct CollectorConfig {
  bool decap = false;           // payloads are inner IPv4/IPv6+UDP packets
  std::optional<uint16_t> run;  // count only this run; default: the first run seen
};

// Running totals, kept O(1) per packet so that progress can read them.
struct CollectorTotals {
  uint64_t packets = 0;  // unique data packets
  uint64_t bytes = 0;
  uint64_t expected = 0;  // sum over flows of SequenceTracker::expected()
  uint64_t duplicates = 0;
  uint64_t reordered = 0;
  uint64_t datagrams = 0;
  uint64_t invalid = 0;
  uint64_t bad_checksum = 0;
  uint64_t foreign = 0;
  uint64_t end_markers = 0;

  uint64_t lost() const noexcept { return expected > packets ? expected - packets : 0; }
};

class Collector {
 public:
  explicit Collector(const CollectorConfig& config);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // One UDP datagram's payload received at `now_ns` (CLOCK_MONOTONIC, the
  // sender's clock, for latency). Allocates only when a new flow appears.
  void onDatagram(std::span<const uint8_t> payload, uint64_t now_ns) noexcept;

  const CollectorTotals& totals() const noexcept { return totals_; }
  // Every flow the counted run announced has sent its end marker.
  bool complete() const noexcept {
    return flows_announced_ > 0 && ended_flows_ >= flows_announced_;
  }
  // Receive times of the first and last data packet counted (0 before any).
  uint64_t firstNs() const noexcept { return first_ns_; }
  uint64_t lastNs() const noexcept { return last_ns_; }
  const LatencyHistogram& latency() const noexcept { return latency_; }

  // Fills everything a SinkReport holds except listen, stop_reason and
  // gro_buffers (which the socket side knows). Allocates.
  void fill(SinkReport& report) const;

 private:
  struct Flow {
    SequenceTracker seq;
    uint64_t bytes = 0;
  };
  Flow* flow(uint16_t id) noexcept;
  void onData(const Header& header, size_t outer_size, uint64_t now_ns) noexcept;
  void onEnd(const Header& header, std::span<const uint8_t> inner) noexcept;

  CollectorConfig config_;
  std::vector<std::unique_ptr<Flow>> flows_;  // indexed by flow id, 65536 slots
  CollectorTotals totals_;
  LatencyHistogram latency_;
  std::optional<uint16_t> run_;
  uint64_t first_ns_ = 0;
  uint64_t last_ns_ = 0;
  uint32_t flows_announced_ = 0;
  uint32_t ended_flows_ = 0;
};

}  // namespace ferry::gen
