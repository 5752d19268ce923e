// The dataplane's whole decision per datagram in route mode (dataplane/
// decide.h: screen, the check for ferry's own address, parse, LPM, next hop,
// TTL), as the event loop runs it on the segments of a GRO train: 32
// datagrams of 64 inner flows, in cache, TTL restored every iteration.
// `icmp:0/1` runs it without and with ICMP source addresses (with them every
// datagram is also compared against ferry's own address); `dst:self` sends
// every datagram to that address (echo requests: the local path).
#include <benchmark/benchmark.h>

#include <span>
#include <string>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/dataplane/decide.h"
#include "ferry/net/byte_order.h"
#include "ferry/net/checksum.h"

namespace ferry {
namespace {

constexpr size_t kTrain = 32;
constexpr uint32_t kMax = 2048;

ForwardingState routeState(bool icmp) {
  const std::string yaml =
      std::string("mode: route\n") +
      (icmp ? "icmp: { source_v4: 10.9.0.254, source_v6: \"fd00::254\" }\n" : "") +
      "interfaces:\n"
      "  - { name: in, bind: \"127.0.0.1:5000\", peer: \"127.0.0.1:6000\" }\n"
      "  - { name: e1, bind: \"127.0.0.1:5001\", peer: \"127.0.0.1:6001\" }\n"
      "  - { name: e2, bind: \"127.0.0.1:5002\", peer: \"127.0.0.1:6002\" }\n"
      "routes:\n"
      "  - { prefix: 10.1.0.0/16, via: [e1] }\n"
      "  - { prefix: 10.2.0.0/16, via: [e1, e2], ecmp: true }\n"
      "  - { prefix: 10.9.0.0/16, via: [e2] }\n";
  const auto result = parseConfig(yaml, "bench.yaml");
  return ForwardingState::fromConfig(*result.config, 1, 7);
}

// A 100-byte IPv4 packet: UDP from 10.0.0.1:port to `destination`, or an
// ICMP echo request.
std::vector<uint8_t> packet(uint32_t destination, uint16_t port, bool echo) {
  std::vector<uint8_t> p(100, 0);
  p[0] = 0x45;
  storeBe16(&p[2], 100);
  p[8] = 64;
  p[9] = echo ? 1 : 17;
  storeBe32(&p[12], 0x0a000001);
  storeBe32(&p[16], destination);
  storeBe16(&p[10], checksum::compute(std::span(p).first(20)));
  if (echo) {
    p[20] = 8;
    storeBe16(&p[24], port);
    storeBe16(&p[22], checksum::compute(std::span(p).subspan(20)));
  } else {
    storeBe16(&p[20], port);
    storeBe16(&p[22], 9);
    storeBe16(&p[24], 80);
  }
  return p;
}

void BM_DecideRouteTrain(benchmark::State& state) {
  const bool icmp = state.range(0) != 0;
  const bool to_self = state.range(1) != 0;
  const ForwardingState fs = routeState(icmp);
  std::vector<std::vector<uint8_t>> train;
  for (size_t i = 0; i < kTrain; ++i)
    train.push_back(to_self
                        ? packet(0x0a0900fe, uint16_t(i), true)
                        : packet(i % 2 ? 0x0a020001 : 0x0a010001, uint16_t(40000 + i % 64), false));
  const auto pristine = train;
  std::vector<std::span<uint8_t>> spans(train.begin(), train.end());
  std::vector<Action> actions(kTrain);
  const Ingress ingress{0, true, false};
  uint64_t sink = 0;
  for (auto _ : state) {
    // Restore TTL and header checksum (forwarding decrements them in place).
    for (size_t k = 0; k < kTrain; ++k) {
      train[k][8] = pristine[k][8];
      train[k][10] = pristine[k][10];
      train[k][11] = pristine[k][11];
    }
    decide(ingress, spans, kMax, fs, actions);
    for (const Action& a : actions) sink += a.egress + uint64_t(a.kind);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kTrain));
}
BENCHMARK(BM_DecideRouteTrain)
    ->ArgNames({"icmp", "dst_self"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({1, 1});

}  // namespace
}  // namespace ferry

BENCHMARK_MAIN();
