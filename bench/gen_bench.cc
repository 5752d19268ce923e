// ferry-gen micro-benchmarks.
//
// BM_GenSend: one SendEngine (the code a sender thread runs) sending 64 B and
// 1400 B UDP payloads to a loopback socket, with and without UDP GSO. The
// destination socket is never read: once its queue is full the kernel drops
// early, so the figure is the generator's own cost (header stamping, the
// syscall, the UDP/IP stack and loopback transmit), not a receiver's. For a
// sender+receiver figure beside iperf3 -u, run bench/gen_vs_iperf3.sh.
//
// The rest time the per-packet pure pieces: stamping an encapsulated packet,
// the sink's accounting, the latency histogram.
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "ferry/gen.h"

namespace ferry::gen {
namespace {

// A bound UDP socket on 127.0.0.1 that nobody reads.
class Blackhole {
 public:
  Blackhole() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = *SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&a), len);
  }
  ~Blackhole() { ::close(fd_); }
  const SockAddr& address() const { return address_; }

 private:
  int fd_ = -1;
  SockAddr address_;
};

void BM_GenSend(benchmark::State& state) {
  Blackhole sink;
  SendConfig config;
  config.to = sink.address();
  config.sizes = {static_cast<uint32_t>(state.range(0))};
  config.gso = state.range(1) != 0;
  config.count = 1;
  SendEngine engine(config, {0});
  uint64_t packets = 0;
  for (auto _ : state) packets += engine.sendBurst(engine.maxBurst(), monotonicNs());
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.SetBytesProcessed(static_cast<int64_t>(packets * config.sizes[0]));
  state.counters["pps"] =
      benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
  state.counters["pkts_per_call"] =
      engine.syscalls() ? static_cast<double>(packets) / static_cast<double>(engine.syscalls()) : 0;
  state.counters["errors"] = static_cast<double>(engine.errors());
}
BENCHMARK(BM_GenSend)
    ->ArgNames({"size", "gso"})
    ->ArgsProduct({{64, 1400}, {0, 1}})
    ->UseRealTime()
    ->MinTime(1.0);

void BM_GenStampEncapsulated(benchmark::State& state) {
  const auto encap = static_cast<Encap>(state.range(0));
  const PacketTemplate t(encap, InnerConfig::defaults(encap), 3, 1400);
  std::vector<uint8_t> packet(1400, 0);
  Header h{Kind::kData, 3, 0, 1, 0};
  for (auto _ : state) {
    ++h.seq;
    t.write(h, packet.data());
    benchmark::DoNotOptimize(packet.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenStampEncapsulated)->ArgName("encap")->Arg(0)->Arg(1)->Arg(2);

void BM_GenCollect(benchmark::State& state) {
  Collector collector(CollectorConfig{});
  std::vector<uint8_t> packet(64, 0);
  Header h{Kind::kData, 0, 0, 1, 0};
  uint64_t now = 1000;
  for (auto _ : state) {
    h.flow = static_cast<uint16_t>(h.seq & 15);
    ++h.seq;
    encodeHeader(h, packet.data());
    collector.onDatagram(packet, ++now);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenCollect);

void BM_GenHistogramRecord(benchmark::State& state) {
  LatencyHistogram h;
  uint64_t v = 12345;
  for (auto _ : state) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    h.record((v >> 40) & 0xfffff);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenHistogramRecord);

}  // namespace
}  // namespace ferry::gen

BENCHMARK_MAIN();
