// TableMerger: each batch's table, patched from the last one or built
// afresh, is the table buildMerged makes of the same routes (route by route
// and lookup by lookup), and it says each route's index in the running
// table as RouteTable::indicesIn would.
#include "ferry/fpm/table_merger.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "messages.h"

namespace ferry::fpm {
namespace {

using route::kNoRouteIndex;
using route::NextHopGroup;
using route::Prefix;
using route::RouteTable;
using testing::pfx;

std::vector<NextHopGroup> someGroups() {
  const uint32_t west[] = {0};
  const uint32_t both[] = {0, 1};
  const uint32_t weights[] = {3, 1};
  return {*NextHopGroup::create(route::GroupMode::kFailover, west),
          *NextHopGroup::create(route::GroupMode::kFailover, both),
          *NextHopGroup::create(route::GroupMode::kEcmp, both),
          *NextHopGroup::createWeighted(both, weights),
          NextHopGroup::drop(route::GroupMode::kBlackhole)};
}

std::string describe(const NextHopGroup& g) {
  std::string out(route::toString(g.mode()));
  for (size_t i = 0; i < g.members().size(); ++i)
    out += " " + std::to_string(g.members()[i]) + "*" + std::to_string(g.weight(i));
  return out;
}

// A random prefix of either family, clustered so that routes share slots
// and nest.
Prefix randomPrefix(std::mt19937_64& rng) {
  if (rng() % 4 != 0) {
    const auto address = static_cast<route::Ipv4>((0x0a000000u | (rng() & 0x00ffffffu)));
    return Prefix::v4(address, 8 + unsigned(rng() % 25)).masked();
  }
  const route::Ipv6 address{0x20010db800000000ull | (rng() & 0xffffffffull), rng()};
  return Prefix::v6(address, 32 + unsigned(rng() % 65)).masked();
}

std::shared_ptr<const RouteTable> configTable() {
  std::vector<route::RouteSpec> specs = {
      {"0.0.0.0/0", {"west"}},       {"10.1.0.0/16", {"east"}},
      {"10.1.2.0/24", {"west"}},     {"10.1.2.128/25", {"east", "west"}},
      {"2001:db8:1::/48", {"west"}}, {"10.200.0.0/24", {"west", "east"}, true},
      {"2001:db8::/32", {"east"}},   {"10.7.7.0/24", {}, false, "blackhole"}};
  const std::vector<std::string> names = {"west", "east"};
  std::vector<route::RouteIssue> issues;
  auto table = RouteTable::build(specs, names, {}, &issues);
  EXPECT_TRUE(table) << (issues.empty() ? "" : issues[0].message);
  return std::make_shared<const RouteTable>(std::move(*table));
}

void expectSameTable(const RouteTable& got, const RouteTable& want, std::mt19937_64& rng,
                     const std::string& name) {
  ASSERT_EQ(got.size(), want.size()) << name;
  EXPECT_EQ(got.hashSeed(), want.hashSeed()) << name;
  for (uint32_t r = 0; r < got.size(); ++r) {
    ASSERT_EQ(got.prefix(r), want.prefix(r)) << name << ", route " << r;
    ASSERT_EQ(describe(got.group(r)), describe(want.group(r))) << name << ", route " << r;
  }
  // Each route's first address and a neighbour of it, and random ones.
  for (uint32_t r = 0; r < want.size(); ++r) {
    const route::IpAddress first = want.prefix(r).address();
    ASSERT_EQ(got.lookup(first), want.lookup(first)) << name << ", " << first.toString();
  }
  for (int n = 0; n < 20'000; ++n) {
    const Prefix p = randomPrefix(rng);
    const route::IpAddress a =
        p.isV4() ? route::IpAddress::v4(p.v4() | uint32_t(rng() & 0xff))
                 : route::IpAddress::v6({p.v6().hi, p.v6().lo | (rng() & 0xffff)});
    ASSERT_EQ(got.lookup(a), want.lookup(a)) << name << ", " << a.toString();
  }
}

ResolvedRoutes resolved(const std::map<Prefix, NextHopGroup>& routes) {
  ResolvedRoutes out;
  for (const auto& [prefix, group] : routes) out.routes.emplace_back(prefix, group);
  return out;
}

// Batches of every size (new prefixes, prefixes gone, next hops changed on
// kept ones, some under the config's prefixes) on a table of both families.
TEST(FpmTableMerger, EachBatchIsTheTableBuildMergedMakes) {
  std::mt19937_64 rng(21);
  const auto groups = someGroups();
  const auto config = configTable();
  std::map<Prefix, NextHopGroup> zebra;
  while (zebra.size() < 20'000) zebra.emplace(randomPrefix(rng), groups[rng() % groups.size()]);
  zebra.emplace(pfx("10.1.0.0/16"), groups[0]);  // the config's: shadowed
  TableMerger merger;
  std::shared_ptr<const RouteTable> running;
  const size_t sizes[] = {0, 1, 1, 3, 0, 10, 100, 1000, 5000, 2, 1, 30, 1};
  unsigned patched = 0;
  for (size_t round = 0; round < std::size(sizes); ++round) {
    for (size_t i = 0; i < sizes[round]; ++i) {
      auto it = zebra.begin();
      std::advance(it, long(rng() % zebra.size()));
      switch (rng() % 3) {
        case 0:
          zebra.erase(it);
          break;
        case 1:
          it->second = groups[rng() % groups.size()];
          break;
        default:
          zebra.insert_or_assign(randomPrefix(rng), groups[rng() % groups.size()]);
      }
    }
    if (round == 4) zebra.insert_or_assign(pfx("10.200.0.0/24"), groups[1]);  // shadowed
    // Changes in the slots of the config's longer routes: the rebuilt slot
    // holds routes of both.
    if (round == 2) zebra.insert_or_assign(pfx("10.1.2.64/26"), groups[2]);
    if (round == 3) zebra.insert_or_assign(pfx("10.1.3.0/24"), groups[0]);
    if (round == 5) zebra.erase(pfx("10.1.2.64/26"));
    if (round == 6) zebra.insert_or_assign(pfx("2001:db8:1:8000::/49"), groups[3]);
    const std::string name = "round " + std::to_string(round);
    const ResolvedRoutes routes = resolved(zebra);
    const TableMerger::Result got = merger.merge(config, running, routes, 7);
    const MergedTable want = buildMerged(config.get(), routes, 7);
    expectSameTable(*got.table, *want.table, rng, name);
    EXPECT_EQ(got.stats.config_routes, want.stats.config_routes) << name;
    EXPECT_EQ(got.stats.fpm_routes, want.stats.fpm_routes) << name;
    EXPECT_EQ(got.stats.shadowed, want.stats.shadowed) << name;
    if (running) {
      EXPECT_EQ(got.from, got.table->indicesIn(*running)) << name;
    } else {
      EXPECT_EQ(got.from, std::vector<uint32_t>(got.table->size(), kNoRouteIndex)) << name;
    }
    if (round == 0) {
      EXPECT_EQ(got.tries_patched, 0u) << "the first table is built";
    } else if (round <= 2) {
      EXPECT_EQ(got.tries_patched, 2u) << name;
    }
    patched += got.tries_patched;
    if (::testing::Test::HasFailure()) return;
    running = got.table;
  }
  // A short prefix's change rebuilds a wide range, which can leave more
  // unreachable than live and so make the next trie fresh: most are patched.
  EXPECT_GE(patched, 16u);
}

// It patches only its own last table under the same config: after a reload
// (another table running, or new config routes) and for routes not in
// prefix order it builds afresh, and the result is still buildMerged's.
TEST(FpmTableMerger, BuildsAfreshWhenTheRunningTableIsNotItsOwn) {
  std::mt19937_64 rng(22);
  const auto groups = someGroups();
  auto config = configTable();
  std::map<Prefix, NextHopGroup> zebra;
  while (zebra.size() < 2'000) zebra.emplace(randomPrefix(rng), groups[rng() % groups.size()]);
  TableMerger merger;
  auto first = merger.merge(config, nullptr, resolved(zebra), 7);
  zebra.insert_or_assign(pfx("10.99.1.0/24"), groups[2]);
  auto second = merger.merge(config, first.table, resolved(zebra), 7);
  EXPECT_EQ(second.tries_patched, 2u);

  // A reload published its own table.
  const auto reloaded = buildMerged(config.get(), resolved(zebra), 7).table;
  zebra.erase(pfx("10.99.1.0/24"));
  auto third = merger.merge(config, reloaded, resolved(zebra), 7);
  EXPECT_EQ(third.tries_patched, 0u);
  EXPECT_EQ(third.from, third.table->indicesIn(*reloaded));
  expectSameTable(*third.table, *buildMerged(config.get(), resolved(zebra), 7).table, rng, "third");

  // The config's routes changed (the same routes, a new table).
  config = configTable();
  zebra.insert_or_assign(pfx("10.99.2.0/24"), groups[2]);
  auto fourth = merger.merge(config, third.table, resolved(zebra), 7);
  EXPECT_EQ(fourth.tries_patched, 0u);
  auto fifth = merger.merge(config, fourth.table, resolved(zebra), 7);
  EXPECT_EQ(fifth.tries_patched, 2u) << "nothing changed";
  EXPECT_EQ(fifth.from, fifth.table->indicesIn(*fourth.table));

  // Routes out of prefix order.
  ResolvedRoutes shuffled = resolved(zebra);
  std::swap(shuffled.routes[3], shuffled.routes[700]);
  auto sixth = merger.merge(config, fifth.table, shuffled, 7);
  EXPECT_EQ(sixth.tries_patched, 0u);
  expectSameTable(*sixth.table, *buildMerged(config.get(), shuffled, 7).table, rng, "sixth");
  EXPECT_EQ(sixth.from, sixth.table->indicesIn(*fifth.table));
  // Nor can the next batch walk the out-of-order table's routes: it builds
  // afresh too, and each route's index in it is still exact.
  zebra.insert_or_assign(pfx("10.99.3.0/24"), groups[1]);
  auto seventh = merger.merge(config, sixth.table, resolved(zebra), 7);
  EXPECT_EQ(seventh.tries_patched, 0u);
  EXPECT_EQ(seventh.from, seventh.table->indicesIn(*sixth.table));
  zebra.insert_or_assign(pfx("10.99.4.0/24"), groups[1]);
  auto eighth = merger.merge(config, seventh.table, resolved(zebra), 7);
  EXPECT_EQ(eighth.tries_patched, 2u) << "in order again";
  EXPECT_EQ(eighth.from, eighth.table->indicesIn(*seventh.table));
  expectSameTable(*eighth.table, *buildMerged(config.get(), resolved(zebra), 7).table, rng,
                  "eighth");

  // Another hash seed (not expected: it is fixed at startup) builds afresh.
  auto other_seed = merger.merge(config, eighth.table, resolved(zebra), 8);
  EXPECT_EQ(other_seed.tries_patched, 0u);
  EXPECT_EQ(other_seed.table->hashSeed(), 8u);

  // No config routes at all.
  TableMerger bare;
  auto a = bare.merge(nullptr, nullptr, resolved(zebra), 3);
  zebra.erase(zebra.begin());
  auto b = bare.merge(nullptr, a.table, resolved(zebra), 3);
  EXPECT_EQ(b.tries_patched, 2u);
  expectSameTable(*b.table, *buildMerged(nullptr, resolved(zebra), 3).table, rng, "bare");
  EXPECT_EQ(b.from, b.table->indicesIn(*a.table));
}

}  // namespace
}  // namespace ferry::fpm
