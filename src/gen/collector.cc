#include "ferry/gen/collector.h"

#include <new>

namespace ferry::gen {

Collector::Collector(const CollectorConfig& config)
    : config_(config), flows_(65536), run_(config.run) {}

Collector::~Collector() = default;

Collector::Flow* Collector::flow(uint16_t id) noexcept {
  auto& slot = flows_[id];
  // The only allocation on the receive path: once per new flow.
  if (!slot) slot.reset(new (std::nothrow) Flow);
  return slot.get();
}

void Collector::onDatagram(std::span<const uint8_t> payload, uint64_t now_ns) noexcept {
  ++totals_.datagrams;
  std::span<const uint8_t> inner = payload;
  if (config_.decap) {
    const DecapStatus status = decap(payload, inner);
    if (status == DecapStatus::kBadChecksum) {
      ++totals_.bad_checksum;
      return;
    }
    if (status != DecapStatus::kOk) {
      ++totals_.invalid;
      return;
    }
  }
  const auto header = decodeHeader(inner);
  if (!header) {
    ++totals_.invalid;
    return;
  }
  if (!run_) run_ = header->run;
  if (header->run != *run_) {
    ++totals_.foreign;
    return;
  }
  if (header->kind == Kind::kData)
    onData(*header, payload.size(), now_ns);
  else
    onEnd(*header, inner);
}

void Collector::onData(const Header& header, size_t outer_size, uint64_t now_ns) noexcept {
  Flow* f = flow(header.flow);
  if (f == nullptr) {
    ++totals_.invalid;
    return;
  }
  const uint64_t expected_before = f->seq.expected();
  const auto verdict = f->seq.onPacket(header.seq);
  totals_.expected += f->seq.expected() - expected_before;
  if (verdict == SequenceTracker::Verdict::kDuplicate) {
    ++totals_.duplicates;
    return;
  }
  if (verdict != SequenceTracker::Verdict::kNext) ++totals_.reordered;
  ++totals_.packets;
  totals_.bytes += outer_size;
  f->bytes += outer_size;
  if (totals_.packets == 1) first_ns_ = now_ns;
  last_ns_ = now_ns;
  latency_.record(latencyNs(header.sent_ns, now_ns));
}

void Collector::onEnd(const Header& header, std::span<const uint8_t> inner) noexcept {
  const auto marker = decodeEndMarker(inner);
  if (!marker || marker->flows == 0 || header.flow >= marker->flows) {
    ++totals_.invalid;
    return;
  }
  Flow* f = flow(header.flow);
  if (f == nullptr) {
    ++totals_.invalid;
    return;
  }
  ++totals_.end_markers;
  if (marker->flows > flows_announced_) flows_announced_ = marker->flows;
  if (!f->seq.ended()) ++ended_flows_;
  const uint64_t expected_before = f->seq.expected();
  f->seq.onEnd(marker->packets);
  totals_.expected += f->seq.expected() - expected_before;
}

void Collector::fill(SinkReport& report) const {
  report.run = run_;
  report.packets = report.bytes = report.expected = report.lost = 0;
  report.reordered = report.late = report.duplicates = 0;
  report.flows.clear();
  for (size_t id = 0; id < flows_.size(); ++id) {
    const Flow* f = flows_[id].get();
    if (f == nullptr) continue;
    FlowReport r;
    r.flow = static_cast<uint16_t>(id);
    r.packets = f->seq.received();
    r.bytes = f->bytes;
    r.expected = f->seq.expected();
    r.lost = f->seq.lost();
    r.reordered = f->seq.reordered();
    r.late = f->seq.late();
    r.duplicates = f->seq.duplicates();
    r.ended = f->seq.ended();
    report.packets += r.packets;
    report.bytes += r.bytes;
    report.expected += r.expected;
    report.lost += r.lost;
    report.reordered += r.reordered;
    report.late += r.late;
    report.duplicates += r.duplicates;
    report.flows.push_back(r);
  }
  report.datagrams = totals_.datagrams;
  report.invalid = totals_.invalid;
  report.bad_checksum = totals_.bad_checksum;
  report.foreign = totals_.foreign;
  report.end_markers = totals_.end_markers;
  report.flows_announced = flows_announced_;
  report.complete = complete();
  report.duration_s = last_ns_ > first_ns_ ? static_cast<double>(last_ns_ - first_ns_) / 1e9 : 0;
  report.pps = report.duration_s > 0 ? static_cast<double>(report.packets) / report.duration_s : 0;
  report.bps =
      report.duration_s > 0 ? static_cast<double>(report.bytes) * 8 / report.duration_s : 0;
  report.latency.samples = latency_.count();
  report.latency.min = latency_.min();
  report.latency.p50 = latency_.percentile(0.50);
  report.latency.p99 = latency_.percentile(0.99);
  report.latency.p999 = latency_.percentile(0.999);
  report.latency.max = latency_.max();
  report.latency.mean = latency_.mean();
}

}  // namespace ferry::gen
