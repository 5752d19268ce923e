// What one FPM batch costs the control side at a full Internet table: the
// stages Control::publishFpmRoutes runs after zebra changed a route (take
// the store's routes, merge with the config's, build the tries, match the
// running table's prefixes for the per-route counters).
// Figures and the command: bench/RESULTS.md, "A full table over FPM".
#include <benchmark/benchmark.h>
#include <linux/rtnetlink.h>
#include <malloc.h>

#include <chrono>
#include <memory>

#include "ferry/dataplane/counters.h"
#include "ferry/fpm/route_store.h"
#include "ferry/fpm/table_merger.h"
#include "route_tables.h"

namespace ferry::fpm {
namespace {

using route::IpAddress;

constexpr size_t kV4 = 1'000'000;
constexpr size_t kV6 = 200'000;

std::vector<std::optional<IpAddress>> peers() {
  return {IpAddress::parse("192.0.2.1").value(), IpAddress::parse("192.0.2.2").value()};
}

// A full table as zebra streams it, over two peers (half the routes ECMP),
// in the table generator's (random) order.
const std::vector<Update>& fullTableUpdates() {
  static const std::vector<Update> updates = [] {
    const auto p = peers();
    std::vector<Update> out;
    out.reserve(kV4 + kV6);
    const auto add = [&](const route::Prefix& prefix) {
      RouteUpdate u{
          .add = true, .prefix = prefix, .gateways = {*p[0]}, .nexthop_id = 0, .type = RTN_UNICAST};
      if (out.size() % 2 == 0) u.gateways.push_back(*p[1]);
      out.emplace_back(std::move(u));
    };
    for (const auto& r : route::bench::ipv4Table(kV4)) add(r.prefix);
    for (const auto& r : route::bench::ipv6Table(kV6)) add(r.prefix);
    return out;
  }();
  return updates;
}

// A store holding that table, and the table built from it.
struct FullTable {
  RouteStore store{peers(), {}};
  ResolvedRoutes resolved;
  std::shared_ptr<const route::RouteTable> table;

  FullTable() {
    store.connected(0);
    for (const Update& u : fullTableUpdates()) store.apply(u, 1);
    resolved = store.take(2);
    table = buildMerged(nullptr, resolved, 7).table;
  }
};

FullTable& fullTable() {
  static FullTable t;
  return t;
}

// Bytes malloc has handed out and not got back (small chunks and mmapped ones).
size_t heapBytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// zebra's stream of a full table into an empty store; heap_MiB: what the
// store holds then.
void BM_StoreApply(benchmark::State& state) {
  const auto& updates = fullTableUpdates();
  for (auto _ : state) {
    const size_t heap_before = heapBytes();
    RouteStore store(peers(), {});
    store.connected(0);
    for (const Update& u : updates) store.apply(u, 1);
    benchmark::DoNotOptimize(store.routeCount());
    state.PauseTiming();
    store.take(2);  // nothing kept aside
    state.counters["heap_MiB"] = double(heapBytes() - heap_before) / (1 << 20);
    {
      RouteStore gone = std::move(store);  // its teardown is not the stream's
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(int64_t(state.iterations() * updates.size()));
}
BENCHMARK(BM_StoreApply)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_StoreTake(benchmark::State& state) {
  FullTable& t = fullTable();
  for (auto _ : state) benchmark::DoNotOptimize(t.store.resolve());
}
BENCHMARK(BM_StoreTake)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_MergeRoutes(benchmark::State& state) {
  FullTable& t = fullTable();
  for (auto _ : state) benchmark::DoNotOptimize(mergeRoutes(nullptr, t.resolved, nullptr));
}
BENCHMARK(BM_MergeRoutes)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_BuildMerged(benchmark::State& state) {
  FullTable& t = fullTable();
  for (auto _ : state) benchmark::DoNotOptimize(buildMerged(nullptr, t.resolved, 7));
}
BENCHMARK(BM_BuildMerged)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_IndicesIn(benchmark::State& state) {
  FullTable& t = fullTable();
  const auto next = buildMerged(nullptr, t.resolved, 7).table;
  for (auto _ : state) benchmark::DoNotOptimize(next->indicesIn(*t.table));
}
BENCHMARK(BM_IndicesIn)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_CountersCarryOver(benchmark::State& state) {
  FullTable& t = fullTable();
  const auto next = buildMerged(nullptr, t.resolved, 7).table;
  const auto indices = next->indicesIn(*t.table);
  for (auto _ : state) {
    state.PauseTiming();
    auto previous = std::make_shared<RouteCounters>(2, t.table->size());
    state.ResumeTiming();
    auto counters = std::make_shared<RouteCounters>(2, next->size());
    RouteCounters::carryOver(previous, counters, indices);
    benchmark::DoNotOptimize(counters.get());
  }
}
BENCHMARK(BM_CountersCarryOver)->Unit(benchmark::kMillisecond)->Iterations(3);

// One whole batch as Control::publishFpmRoutes runs it after zebra changed
// `range(0)` routes of the full table (deleted, then re-added at the next
// batch): the store's routes, the table (TableMerger: patched from the last
// one; with range(1) == 0 built afresh, as every batch was before), and the
// per-route counters carried over. tries_patched: per batch, of 2.
void BM_Batch(benchmark::State& state) {
  const auto changes = size_t(state.range(0));
  const bool patch = state.range(1) != 0;
  const auto& updates = fullTableUpdates();
  RouteStore store(peers(), {});
  store.connected(0);
  for (const Update& u : updates) store.apply(u, 1);
  TableMerger merger;
  auto first = merger.merge(nullptr, nullptr, store.take(2), 7);
  std::shared_ptr<const route::RouteTable> running = first.table;
  auto running_counters = std::make_shared<RouteCounters>(2, running->size());
  std::vector<Update> deletes;
  std::vector<Update> adds;
  for (size_t i = 0; i < changes; ++i) {
    const Update& u = updates[(i * 7919 + 13) % updates.size()];
    adds.push_back(u);
    RouteUpdate d = std::get<RouteUpdate>(u);
    d.add = false;
    deletes.emplace_back(std::move(d));
  }
  uint64_t now = 3;
  unsigned patched = 0;
  double take_s = 0, merge_s = 0, counters_s = 0;
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  for (auto _ : state) {
    state.PauseTiming();
    for (const Update& u : state.iterations() % 2 == 0 ? deletes : adds) store.apply(u, now);
    state.ResumeTiming();
    auto t = Clock::now();
    const ResolvedRoutes routes = store.take(now++);
    take_s += since(t);
    t = Clock::now();
    TableMerger::Result merged = patch ? merger.merge(nullptr, running, routes, 7)
                                       : TableMerger().merge(nullptr, running, routes, 7);
    merge_s += since(t);
    t = Clock::now();
    auto counters = std::make_shared<RouteCounters>(2, merged.table->size());
    RouteCounters::carryOver(running_counters, counters, std::move(merged.from));
    counters_s += since(t);
    patched += merged.tries_patched;
    state.PauseTiming();
    running = std::move(merged.table);  // the old table's teardown is not the batch's
    running_counters = std::move(counters);
    state.ResumeTiming();
  }
  const double n = double(state.iterations());
  state.counters["tries_patched"] = double(patched) / n;
  state.counters["take_ms"] = take_s * 1000 / n;
  state.counters["table_ms"] = merge_s * 1000 / n;
  state.counters["counters_ms"] = counters_s * 1000 / n;
}
BENCHMARK(BM_Batch)
    ->ArgNames({"changes", "patch"})
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({100, 1})
    ->Args({10'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

}  // namespace
}  // namespace ferry::fpm

BENCHMARK_MAIN();
