// LPM table benchmarks: lookups/s on a 1,000,000-route
// IPv4 table and a 200,000-route IPv6 table with realistic prefix lengths
// (route_tables.h), plus build time and table memory as counters.
//
// Lookups of one batch are independent, so the CPU overlaps their cache misses
// (that is the dataplane's case: a batch of packets); the *Latency variants
// chain each lookup on the previous result to show one lookup's full latency.
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <span>

#include "route_tables.h"

namespace ferry::route::bench {
namespace {

constexpr size_t kIpv4Routes = 1'000'000;
constexpr size_t kIpv6Routes = 200'000;
constexpr size_t kAddresses = 1 << 20;  // larger than the caches

template <class Table>
struct Fixture {
  std::vector<Route> routes;
  std::unique_ptr<Table> table;
  double build_seconds = 0;
};

template <class Table>
std::unique_ptr<Table> buildTimed(const std::vector<Route>& routes, double& seconds) {
  const auto start = std::chrono::steady_clock::now();
  auto table = Table::build(routes);
  seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!table) std::abort();
  return std::make_unique<Table>(std::move(*table));
}

const Fixture<Ipv4Lpm>& ipv4Fixture() {
  static const Fixture<Ipv4Lpm> f = [] {
    Fixture<Ipv4Lpm> x;
    x.routes = ipv4Table(kIpv4Routes);
    x.table = buildTimed<Ipv4Lpm>(x.routes, x.build_seconds);
    return x;
  }();
  return f;
}

const Fixture<Ipv6Lpm>& ipv6Fixture() {
  static const Fixture<Ipv6Lpm> f = [] {
    Fixture<Ipv6Lpm> x;
    x.routes = ipv6Table(kIpv6Routes);
    x.table = buildTimed<Ipv6Lpm>(x.routes, x.build_seconds);
    return x;
  }();
  return f;
}

template <class F>
void tableCounters(benchmark::State& state, const F& f) {
  state.counters["routes"] = static_cast<double>(f.table->routeCount());
  state.counters["memory_MiB"] = static_cast<double>(f.table->memoryBytes()) / (1 << 20);
  state.counters["bytes_per_route"] =
      static_cast<double>(f.table->memoryBytes()) / static_cast<double>(f.table->routeCount());
  state.counters["build_ms"] = f.build_seconds * 1e3;
}

template <class F, class Addresses>
void runLookups(benchmark::State& state, const F& f, const Addresses& addresses) {
  size_t i = 0;
  uint32_t sink = 0;
  for (auto _ : state) {
    // 16 independent lookups per iteration, as a dataplane batch would do.
    for (int k = 0; k < 16; ++k) {
      sink += f.table->lookup(addresses[i]);
      i = (i + 1) & (kAddresses - 1);
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 16);
  tableCounters(state, f);
}

// The same 16 lookups through the batch interface (level by level, with
// prefetch).
template <class F, class Addresses>
void runBatchLookups(benchmark::State& state, const F& f, const Addresses& addresses) {
  size_t i = 0;
  uint32_t sink = 0;
  uint32_t values[16];
  for (auto _ : state) {
    f.table->lookup(std::span(addresses).subspan(i, 16), values);
    for (uint32_t v : values) sink += v;
    i = (i + 16) & (kAddresses - 1);
  }
  benchmark::DoNotOptimize(sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 16);
  tableCounters(state, f);
}

void BM_Ipv4Lookup(benchmark::State& state) {
  const auto& f = ipv4Fixture();
  static const auto matched = ipv4Addresses(f.routes, kAddresses, true);
  static const auto random = ipv4Addresses(f.routes, kAddresses, false);
  runLookups(state, f, state.range(0) ? matched : random);
}
BENCHMARK(BM_Ipv4Lookup)->ArgName("matched")->Arg(1)->Arg(0);

void BM_Ipv4LookupBatch(benchmark::State& state) {
  const auto& f = ipv4Fixture();
  static const auto matched = ipv4Addresses(f.routes, kAddresses, true);
  static const auto random = ipv4Addresses(f.routes, kAddresses, false);
  runBatchLookups(state, f, state.range(0) ? matched : random);
}
BENCHMARK(BM_Ipv4LookupBatch)->ArgName("matched")->Arg(1)->Arg(0);

void BM_Ipv4LookupLatency(benchmark::State& state) {
  const auto& f = ipv4Fixture();
  static const auto addresses = ipv4Addresses(f.routes, kAddresses, true);
  size_t i = 0;
  uint32_t last = 0;
  for (auto _ : state) {
    last = f.table->lookup(addresses[i] ^ (last & 1));  // depends on the previous lookup
    i = (i + 1) & (kAddresses - 1);
  }
  benchmark::DoNotOptimize(last);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Ipv4LookupLatency);

void BM_Ipv6Lookup(benchmark::State& state) {
  const auto& f = ipv6Fixture();
  static const auto matched = ipv6Addresses(f.routes, kAddresses, true);
  static const auto random = ipv6Addresses(f.routes, kAddresses, false);
  runLookups(state, f, state.range(0) ? matched : random);
}
BENCHMARK(BM_Ipv6Lookup)->ArgName("matched")->Arg(1)->Arg(0);

void BM_Ipv6LookupBatch(benchmark::State& state) {
  const auto& f = ipv6Fixture();
  static const auto matched = ipv6Addresses(f.routes, kAddresses, true);
  static const auto random = ipv6Addresses(f.routes, kAddresses, false);
  runBatchLookups(state, f, state.range(0) ? matched : random);
}
BENCHMARK(BM_Ipv6LookupBatch)->ArgName("matched")->Arg(1)->Arg(0);

void BM_Ipv6LookupLatency(benchmark::State& state) {
  const auto& f = ipv6Fixture();
  static const auto addresses = ipv6Addresses(f.routes, kAddresses, true);
  size_t i = 0;
  uint32_t last = 0;
  for (auto _ : state) {
    Ipv6 a = addresses[i];
    a.lo ^= last & 1;
    last = f.table->lookup(a);
    i = (i + 1) & (kAddresses - 1);
  }
  benchmark::DoNotOptimize(last);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Ipv6LookupLatency);

// A ferry-sized table (a few dozen routes): everything stays in cache.
void BM_Ipv4LookupSmallTable(benchmark::State& state) {
  static const Fixture<Ipv4Lpm> f = [] {
    Fixture<Ipv4Lpm> x;
    x.routes = ipv4Table(50, 9);
    x.table = buildTimed<Ipv4Lpm>(x.routes, x.build_seconds);
    return x;
  }();
  static const auto addresses = ipv4Addresses(f.routes, kAddresses, true);
  runLookups(state, f, addresses);
}
BENCHMARK(BM_Ipv4LookupSmallTable);

// Build time of the full tables (one build per iteration).
void BM_Ipv4Build(benchmark::State& state) {
  const auto& f = ipv4Fixture();
  for (auto _ : state) {
    auto table = Ipv4Lpm::build(f.routes);
    benchmark::DoNotOptimize(table);
  }
  tableCounters(state, f);
}
BENCHMARK(BM_Ipv4Build)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Ipv6Build(benchmark::State& state) {
  const auto& f = ipv6Fixture();
  for (auto _ : state) {
    auto table = Ipv6Lpm::build(f.routes);
    benchmark::DoNotOptimize(table);
  }
  tableCounters(state, f);
}
BENCHMARK(BM_Ipv6Build)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace ferry::route::bench

BENCHMARK_MAIN();
