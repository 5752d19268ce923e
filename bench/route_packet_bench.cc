// Per-packet route-mode work without I/O: parse (validate + martian + TTL
// check + flow hash), decrement TTL, and the whole decision (parse, LPM lookup,
// next-hop selection, decrement) over a batch of 1024 packets of 64 flows.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "ferry/net/checksum.h"
#include "ferry/route/icmp.h"
#include "ferry/route/inner.h"
#include "ferry/route/next_hop.h"
#include "ferry/route/route_table.h"
#include "route_tables.h"

namespace ferry::route::bench {
namespace {

constexpr size_t kPackets = 1024;
constexpr uint32_t kSeed = 0x5eed;

// 1024 packets (100 bytes) of 64 UDP flows, destinations spread over `dst`.
std::vector<std::vector<uint8_t>> packets(bool v6, const std::vector<Route>* routes = nullptr,
                                          size_t count = kPackets) {
  std::vector<std::vector<uint8_t>> out;
  std::mt19937_64 rng(3);
  const auto dst4 = routes ? ipv4Addresses(*routes, count, true) : std::vector<Ipv4>{};
  const auto dst6 = routes ? ipv6Addresses(*routes, count, true) : std::vector<Ipv6>{};
  for (size_t i = 0; i < count; ++i) {
    std::vector<uint8_t> p(100, 0);
    const auto port = static_cast<uint16_t>(40000 + i % 64);
    if (v6) {
      p[0] = 0x60;
      storeBe16(&p[4], 60);
      p[6] = 17;
      p[7] = 64;
      Ipv6{0x20010db800000000, 1}.store(&p[8]);
      (routes ? dst6[i] : Ipv6{0x20010db800020000, i}).store(&p[24]);
      storeBe16(&p[40], port);
      storeBe16(&p[42], 443);
    } else {
      p[0] = 0x45;
      storeBe16(&p[2], 100);
      p[8] = 64;
      p[9] = 17;
      storeBe32(&p[12], 0x0a000001);
      storeBe32(&p[16], routes ? dst4[i] : 0x0a020000 + static_cast<uint32_t>(i));
      storeBe16(&p[10], checksum::compute(std::span(p).first(20)));
      storeBe16(&p[20], port);
      storeBe16(&p[22], 443);
    }
    out.push_back(std::move(p));
  }
  return out;
}

void BM_ParseInner(benchmark::State& state) {
  const auto batch = packets(state.range(0) == 6);
  size_t i = 0;
  uint32_t sink = 0;
  for (auto _ : state) {
    const InnerPacket p = parseInner(batch[i], kSeed);
    sink += p.flow_hash + static_cast<uint32_t>(p.verdict);
    i = (i + 1) & (kPackets - 1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseInner)->ArgName("ip")->Arg(4)->Arg(6);

// Parse + decrement; the TTL byte (and IPv4 checksum) is put back afterwards
// so every iteration sees TTL 64 (the restore costs ~1 ns and is included).
void BM_ParseAndDecrement(benchmark::State& state) {
  auto batch = packets(state.range(0) == 6);
  size_t i = 0;
  for (auto _ : state) {
    auto& pkt = batch[i];
    uint8_t saved[12];
    std::memcpy(saved, pkt.data(), sizeof(saved));
    const InnerPacket p = parseInner(pkt, kSeed);
    if (p.verdict == Verdict::kForward) decrementTtl(pkt, p);
    benchmark::DoNotOptimize(pkt.data());
    std::memcpy(pkt.data(), saved, sizeof(saved));
    i = (i + 1) & (kPackets - 1);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseAndDecrement)->ArgName("ip")->Arg(4)->Arg(6);

// The whole forwarding decision against a full-size table (1,000,000 IPv4 /
// 200,000 IPv6 routes), ECMP over 2 members.
const std::vector<Route>& ipv4Routes() {
  static const auto routes = ipv4Table(1'000'000);
  return routes;
}
const std::vector<Route>& ipv6Routes() {
  static const auto routes = ipv6Table(200'000);
  return routes;
}

void BM_RouteDecision(benchmark::State& state) {
  const bool v6 = state.range(0) == 6;
  const auto& routes4 = ipv4Routes();
  const auto& routes6 = ipv6Routes();
  static const auto table4 = *Ipv4Lpm::build(routes4);
  static const auto table6 = *Ipv6Lpm::build(routes6);
  auto batch = packets(v6, v6 ? &routes6 : &routes4);
  const std::vector<uint32_t> members = {0, 1};
  const auto group = *NextHopGroup::create(GroupMode::kEcmp, members);
  size_t i = 0;
  uint32_t sink = 0;
  for (auto _ : state) {
    auto& pkt = batch[i];
    uint8_t saved[12];
    std::memcpy(saved, pkt.data(), sizeof(saved));
    const InnerPacket p = parseInner(pkt, kSeed);
    if (p.verdict == Verdict::kForward) {
      const uint32_t value = p.family == Family::kIpv4 ? table4.lookup(p.destination.v4())
                                                       : table6.lookup(p.destination.v6());
      if (value != kNoRouteIndex) {
        sink += group.select(p.flow_hash, 0b11);
        decrementTtl(pkt, p);
      }
    }
    benchmark::DoNotOptimize(pkt.data());
    std::memcpy(pkt.data(), saved, sizeof(saved));
    i = (i + 1) & (kPackets - 1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_RouteDecision)->ArgName("ip")->Arg(4)->Arg(6);

// What the dataplane runs per packet in route mode: RouteTable::forward over
// a full-size table (1,000,000 IPv4 / 200,000 IPv6 routes, each via one of
// two interfaces), one packet at a time (a plain datagram) or 32 at a time
// (the segments of a GRO train, looked up in one batch). The packets stay in
// cache, as a just-received one is, but each iteration writes new
// destinations into them from 2^20 addresses (TTL and IPv4 checksum
// restored, a few ns per packet in both variants), so the trie walks miss the
// caches as in lpm_bench; the 1024 packets above keep their few paths cached.
const RouteTable& fullTable() {
  static const RouteTable table = [] {
    std::vector<RouteSpec> specs;
    for (const auto* routes : {&ipv4Routes(), &ipv6Routes()})
      for (const Route& r : *routes)
        specs.push_back({r.prefix.toString(), {r.value % 2 ? "b" : "a"}, false});
    const std::vector<std::string> interfaces = {"a", "b"};
    std::vector<RouteIssue> issues;
    return *RouteTable::build(specs, interfaces, {}, &issues);
  }();
  return table;
}

void BM_RouteTableForward(benchmark::State& state) {
  constexpr size_t kDestinations = size_t{1} << 20;
  const bool v6 = state.range(0) == 6;
  const auto batch_size = static_cast<size_t>(state.range(1));
  const RouteTable& table = fullTable();
  static const auto dst4 = ipv4Addresses(ipv4Routes(), kDestinations, true);
  static const auto dst6 = ipv6Addresses(ipv6Routes(), kDestinations, true);
  auto hot = packets(v6, nullptr, batch_size);
  std::vector<std::span<uint8_t>> spans(hot.begin(), hot.end());
  std::vector<Decision> decisions(batch_size);
  size_t i = 0;
  uint32_t sink = 0;
  for (auto _ : state) {
    for (size_t k = 0; k < batch_size; ++k) {
      uint8_t* p = hot[k].data();
      if (v6) {
        p[7] = 64;
        dst6[i + k].store(&p[24]);
      } else {
        p[8] = 64;
        storeBe32(&p[16], dst4[i + k]);
        storeBe16(&p[10], 0);
        storeBe16(&p[10], checksum::compute(std::span(hot[k]).first(20)));
      }
    }
    if (batch_size == 1) {
      decisions[0] = table.forward(spans[0], 0b11);
    } else {
      table.forward(spans, 0b11, decisions);
    }
    for (const Decision& d : decisions) sink += d.interface;
    i = (i + batch_size) & (kDestinations - 1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch_size));
}
BENCHMARK(BM_RouteTableForward)->ArgNames({"ip", "batch"})->ArgsProduct({{4, 6}, {1, 32}});

void BM_BuildIcmpTimeExceeded(benchmark::State& state) {
  const bool v6 = state.range(0) == 6;
  const auto batch = packets(v6);
  const IpAddress source = v6 ? IpAddress::v6({0x20010db8ffff0000, 1}) : IpAddress::v4(0xc0000201);
  std::vector<uint8_t> out(kIcmpMaxPacket);
  size_t i = 0;
  size_t sink = 0;
  for (auto _ : state) {
    sink += buildIcmpError(IcmpError::kTimeExceeded, source, batch[i], out);
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) & (kPackets - 1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_BuildIcmpTimeExceeded)->ArgName("ip")->Arg(4)->Arg(6);

}  // namespace
}  // namespace ferry::route::bench

BENCHMARK_MAIN();
