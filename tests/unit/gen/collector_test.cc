// The sink's accounting without sockets: crafted datagrams in, report out.
#include <gtest/gtest.h>

#include <vector>

#include "ferry/gen/collector.h"

namespace ferry::gen {
namespace {

std::vector<uint8_t> data(uint16_t flow, uint32_t seq, uint16_t run = 1, uint64_t sent_ns = 1000,
                          size_t size = 64) {
  std::vector<uint8_t> p(size, 0);
  encodeHeader(Header{Kind::kData, flow, seq, run, sent_ns}, p.data());
  return p;
}

std::vector<uint8_t> end(uint16_t flow, uint64_t packets, uint32_t flows, uint16_t run = 1) {
  std::vector<uint8_t> p(kEndMarkerSize, 0);
  encodeEndMarker(Header{Kind::kEnd, flow, static_cast<uint32_t>(packets), run, 0},
                  EndMarker{packets, flows}, p.data());
  return p;
}

std::vector<uint8_t> encapsulated(Encap encap, const std::vector<uint8_t>& inner_payload,
                                  uint16_t flow) {
  std::vector<uint8_t> out(encapOverhead(encap) + inner_payload.size());
  encapsulate(encap, InnerConfig::defaults(encap), flow, inner_payload, out);
  return out;
}

TEST(GenCollector, CountsPerFlowAndTotals) {
  Collector c(CollectorConfig{});
  for (uint32_t s = 0; s < 10; ++s) c.onDatagram(data(0, s), 2000 + s);
  for (uint32_t s : {0u, 2u, 1u, 2u, 4u}) c.onDatagram(data(1, s), 3000);
  SinkReport r;
  c.fill(r);
  EXPECT_EQ(r.packets, 14u);
  EXPECT_EQ(r.bytes, 14u * 64);
  EXPECT_EQ(r.expected, 15u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_EQ(r.duplicates, 1u);
  ASSERT_EQ(r.flows.size(), 2u);
  EXPECT_EQ(r.flows[1].flow, 1);
  EXPECT_EQ(r.flows[1].lost, 1u);
  EXPECT_EQ(c.totals().lost(), 1u);
  EXPECT_EQ(r.run, 1);
  EXPECT_EQ(r.latency.samples, 14u);
  EXPECT_EQ(r.latency.min, 1000u);
  EXPECT_EQ(r.latency.max, 2000u);          // flow 1: sent at 1000, received at 3000
  EXPECT_DOUBLE_EQ(r.duration_s, 1000e-9);  // first (2000) to last (3000) data packet
}

TEST(GenCollector, EndMarkersRevealTheTailAndCompleteTheRun) {
  Collector c(CollectorConfig{});
  for (uint32_t s = 0; s < 8; ++s) c.onDatagram(data(0, s), 1);
  for (uint32_t s = 0; s < 5; ++s) c.onDatagram(data(1, s), 1);
  c.onDatagram(end(0, 8, 2), 2);
  EXPECT_FALSE(c.complete());
  c.onDatagram(end(1, 7, 2), 2);  // flow 1's last two packets never came
  c.onDatagram(end(1, 7, 2), 2);  // copies are idempotent
  EXPECT_TRUE(c.complete());
  SinkReport r;
  c.fill(r);
  EXPECT_EQ(r.lost, 2u);
  EXPECT_EQ(c.totals().lost(), 2u);
  EXPECT_EQ(r.end_markers, 3u);
  EXPECT_EQ(r.flows_announced, 2u);
  EXPECT_TRUE(r.complete);
  EXPECT_TRUE(r.flows[1].ended);
}

TEST(GenCollector, FirstRunWinsOthersAreForeign) {
  Collector c(CollectorConfig{});
  c.onDatagram(data(0, 0, 5), 1);
  c.onDatagram(data(0, 1, 6), 1);
  c.onDatagram(end(0, 1, 1, 6), 1);
  EXPECT_EQ(c.totals().foreign, 2u);
  EXPECT_FALSE(c.complete());

  Collector only(CollectorConfig{false, 6});
  only.onDatagram(data(0, 0, 5), 1);
  only.onDatagram(data(0, 0, 6), 1);
  EXPECT_EQ(only.totals().foreign, 1u);
  EXPECT_EQ(only.totals().packets, 1u);
}

TEST(GenCollector, NonGenPayloadsAreInvalid) {
  Collector c(CollectorConfig{});
  c.onDatagram(std::vector<uint8_t>(64, 0xaa), 1);
  c.onDatagram(std::vector<uint8_t>(4, 0), 1);
  auto bad_end = end(3, 1, 2);  // flow 3 of a 2-flow run
  c.onDatagram(bad_end, 1);
  EXPECT_EQ(c.totals().invalid, 3u);
  EXPECT_EQ(c.totals().datagrams, 3u);
  EXPECT_EQ(c.totals().packets, 0u);
}

TEST(GenCollector, DecapLooksInsideAndChecksChecksums) {
  for (Encap encap : {Encap::kIpv4, Encap::kIpv6}) {
    Collector c(CollectorConfig{true, std::nullopt});
    for (uint32_t s = 0; s < 4; ++s) c.onDatagram(encapsulated(encap, data(2, s), 2), 1);
    c.onDatagram(encapsulated(encap, end(2, 4, 3), 2), 1);
    auto damaged = encapsulated(encap, data(2, 4), 2);
    damaged.back() ^= 0xff;
    c.onDatagram(damaged, 1);
    c.onDatagram(data(2, 5), 1);  // not encapsulated
    EXPECT_EQ(c.totals().packets, 4u) << toString(encap);
    EXPECT_EQ(c.totals().bytes, 4u * (64 + encapOverhead(encap))) << "outer payload bytes";
    EXPECT_EQ(c.totals().bad_checksum, 1u);
    EXPECT_EQ(c.totals().invalid, 1u);
    EXPECT_EQ(c.totals().end_markers, 1u);
  }
}

TEST(GenCollector, WithoutDecapEncapsulatedPacketsAreInvalid) {
  Collector c(CollectorConfig{});
  c.onDatagram(encapsulated(Encap::kIpv4, data(0, 0), 0), 1);
  EXPECT_EQ(c.totals().invalid, 1u);
}

}  // namespace
}  // namespace ferry::gen
