// The FPM route store with a fake clock: next hops → interfaces, multipath →
// ECMP, what is left out and why, batching, zebra going away and coming
// back (resync and stale sweep), and the merge with the config's routes.
#include "ferry/fpm/route_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "messages.h"

namespace ferry::fpm {
namespace {

using route::IpAddress;
using route::Prefix;
using testing::ip;
using testing::pfx;

// Interfaces: 0 west (peer 10.99.0.2), 1 east (peer 10.98.0.2), 2 v6 (peer
// 2001:db8:99::2), 3 without a peer.
std::vector<std::optional<IpAddress>> peers() {
  return {ip("10.99.0.2"), ip("10.98.0.2"), ip("2001:db8:99::2"), std::nullopt};
}

RouteUpdate add(const char* prefix, std::vector<IpAddress> gateways) {
  return RouteUpdate{true, pfx(prefix), std::move(gateways), 0, true};
}
RouteUpdate addById(const char* prefix, uint32_t id) {
  return RouteUpdate{true, pfx(prefix), {}, id, true};
}
RouteUpdate del(const char* prefix) { return RouteUpdate{false, pfx(prefix), {}, 0, true}; }
NextHopUpdate nh(uint32_t id, IpAddress gateway) {
  return NextHopUpdate{true, id, gateway, {}, false};
}
NextHopUpdate group(uint32_t id, std::vector<uint32_t> members) {
  return NextHopUpdate{true, id, std::nullopt, std::move(members), false};
}

// prefix → (mode, members) of the resolved routes, for comparisons.
std::string show(const ResolvedRoutes& r) {
  std::string out;
  for (const auto& [prefix, g] : r.routes) {
    out += prefix.toString() + (g.mode() == route::GroupMode::kEcmp ? " ecmp" : "");
    if (g.drops()) out += " " + std::string(route::toString(g.mode()));
    for (size_t i = 0; i < g.members().size(); ++i) {
      out += " " + std::to_string(g.members()[i]);
      if (g.weighted()) out += "*" + std::to_string(g.weight(i));
    }
    out += "; ";
  }
  return out;
}

RouteUpdate addWeighted(const char* prefix, std::vector<IpAddress> gateways,
                        std::vector<uint16_t> weights) {
  return RouteUpdate{true, pfx(prefix), std::move(gateways), 0, RTN_UNICAST, std::move(weights)};
}

TEST(FpmRouteStore, NextHopsMapToTheInterfaceWhosePeerHasTheAddress) {
  struct Case {
    const char* name;
    std::vector<Update> updates;
    std::string routes;
    size_t left_out;
    size_t unmapped;
    const char* why;  // of the first route left out
  };
  const std::vector<Case> table = {
      {"one gateway", {add("10.50.0.0/16", {ip("10.99.0.2")})}, "10.50.0.0/16 0; ", 0, 0, ""},
      {"IPv6", {add("2001:db8:5::/48", {ip("2001:db8:99::2")})}, "2001:db8:5::/48 2; ", 0, 0, ""},
      {"multipath → ECMP",
       {add("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")})},
       "10.70.0.0/16 ecmp 0 1; ",
       0,
       0,
       ""},
      {"a gateway that is no peer",
       {add("10.50.0.0/16", {ip("10.99.0.3")})},
       "",
       1,
       1,
       "next hop 10.99.0.3 is no interface's peer"},
      {"multipath with one unmapped: the rest stays",
       {add("10.70.0.0/16", {ip("10.99.0.2"), ip("192.0.2.1")})},
       "10.70.0.0/16 0; ",
       0,
       1,
       ""},
      {"the same interface twice",
       {add("10.70.0.0/16", {ip("10.99.0.2"), ip("10.99.0.2")})},
       "10.70.0.0/16 0; ",
       0,
       0,
       ""},
      {"by next-hop id",
       {nh(5, ip("10.98.0.2")), addById("10.50.0.0/16", 5)},
       "10.50.0.0/16 1; ",
       0,
       0,
       ""},
      {"by group id",
       {nh(5, ip("10.98.0.2")), nh(6, ip("10.99.0.2")), group(7, {5, 6}),
        addById("10.50.0.0/16", 7)},
       "10.50.0.0/16 ecmp 1 0; ",
       0,
       0,
       ""},
      {"weighted multipath",
       {addWeighted("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")}, {3, 1})},
       "10.70.0.0/16 ecmp 0*3 1*1; ",
       0,
       0,
       ""},
      {"equal weights: plain ECMP",
       {addWeighted("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")}, {4, 4})},
       "10.70.0.0/16 ecmp 0 1; ",
       0,
       0,
       ""},
      {"one interface twice: its weights add up",
       {add("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2"), ip("10.99.0.2")})},
       "10.70.0.0/16 ecmp 0*2 1*1; ",
       0,
       0,
       ""},
      {"one interface twice, weighted: capped at the largest weight",
       {addWeighted("10.70.0.0/16", {ip("10.99.0.2"), ip("10.99.0.2"), ip("10.98.0.2")},
                    {250, 9, 2})},
       "10.70.0.0/16 ecmp 0*256 1*2; ",
       0,
       0,
       ""},
      {"an unmapped weighted next hop: its share goes to the others",
       {addWeighted("10.70.0.0/16", {ip("10.99.0.2"), ip("192.0.2.1"), ip("10.98.0.2")},
                    {2, 5, 1})},
       "10.70.0.0/16 ecmp 0*2 1*1; ",
       0,
       1,
       ""},
      {"weighted, one mapped: failover",
       {addWeighted("10.70.0.0/16", {ip("10.99.0.2"), ip("192.0.2.1")}, {2, 5})},
       "10.70.0.0/16 0; ",
       0,
       1,
       ""},
      {"weighted group by id",
       {nh(5, ip("10.98.0.2")), nh(6, ip("10.99.0.2")),
        NextHopUpdate{true, 7, std::nullopt, {5, 6}, false, {1, 4}}, addById("10.50.0.0/16", 7)},
       "10.50.0.0/16 ecmp 1*1 0*4; ",
       0,
       0,
       ""},
      {"unknown id", {addById("10.50.0.0/16", 5)}, "", 1, 0, "unknown next-hop id 5"},
      {"id deleted",
       {nh(5, ip("10.98.0.2")), addById("10.50.0.0/16", 5), NextHopUpdate{false, 5, {}, {}, false}},
       "",
       1,
       0,
       "unknown next-hop id 5"},
      {"id replaced",
       {nh(5, ip("10.98.0.2")), addById("10.50.0.0/16", 5), nh(5, ip("10.99.0.2"))},
       "10.50.0.0/16 0; ",
       0,
       0,
       ""},
      {"blackhole next hop: a blackhole route",
       {NextHopUpdate{true, 5, std::nullopt, {}, true}, addById("10.50.0.0/16", 5)},
       "10.50.0.0/16 blackhole; ",
       0,
       0,
       ""},
      {"blackhole member of a group: left out of it",
       {NextHopUpdate{true, 5, std::nullopt, {}, true}, nh(6, ip("10.98.0.2")), group(7, {5, 6}),
        addById("10.50.0.0/16", 7)},
       "10.50.0.0/16 1; ",
       0,
       0,
       ""},
      {"interface route", {add("10.50.0.0/16", {})}, "", 1, 0, "no gateway"},
      {"blackhole route",
       {RouteUpdate{true, pfx("10.50.0.0/16"), {}, 0, RTN_BLACKHOLE}},
       "10.50.0.0/16 blackhole; ",
       0,
       0,
       ""},
      {"unreachable route",
       {RouteUpdate{true, pfx("10.50.0.0/16"), {}, 0, RTN_UNREACHABLE}},
       "10.50.0.0/16 unreachable; ",
       0,
       0,
       ""},
      {"prohibit route",
       {RouteUpdate{true, pfx("2001:db8:5::/48"), {}, 0, RTN_PROHIBIT}},
       "2001:db8:5::/48 prohibit; ",
       0,
       0,
       ""},
      {"a drop route replaced by a unicast one",
       {RouteUpdate{true, pfx("10.50.0.0/16"), {}, 0, RTN_BLACKHOLE},
        add("10.50.0.0/16", {ip("10.99.0.2")})},
       "10.50.0.0/16 0; ",
       0,
       0,
       ""},
      {"local route: left out",
       {RouteUpdate{true, pfx("10.50.0.0/16"), {}, 0, RTN_LOCAL}},
       "",
       1,
       0,
       "not a unicast or drop route (rtm_type 2)"},
      {"throw route: left out",
       {RouteUpdate{true, pfx("10.50.0.0/16"), {ip("10.99.0.2")}, 0, RTN_THROW}},
       "",
       1,
       0,
       "not a unicast or drop route (rtm_type 9)"},
      {"replaced",
       {add("10.50.0.0/16", {ip("10.99.0.2")}), add("10.50.0.0/16", {ip("10.98.0.2")})},
       "10.50.0.0/16 1; ",
       0,
       0,
       ""},
      {"deleted", {add("10.50.0.0/16", {ip("10.99.0.2")}), del("10.50.0.0/16")}, "", 0, 0, ""},
      {"prefix order",
       {add("10.9.0.0/16", {ip("10.99.0.2")}), add("10.1.0.0/16", {ip("10.99.0.2")})},
       "10.1.0.0/16 0; 10.9.0.0/16 0; ",
       0,
       0,
       ""},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.name);
    RouteStore store(peers(), {});
    store.connected(0);
    for (const auto& u : t.updates) store.apply(u, 1);
    const ResolvedRoutes r = store.resolve();
    EXPECT_EQ(show(r), t.routes);
    EXPECT_EQ(r.left_out, t.left_out);
    EXPECT_EQ(r.unmapped_nexthops, t.unmapped);
    if (t.left_out != 0) {
      ASSERT_FALSE(r.left_out_examples.empty());
      EXPECT_NE(r.left_out_examples[0].second.find(t.why), std::string::npos)
          << r.left_out_examples[0].second;
    }
  }
}

// The store against a plain map of what zebra sent, over a long random
// stream: adds, replacements, deletes (also of routes it never had), drop
// routes, thousands of distinct gateway lists, some weighted, publishes at random (each
// folds the changes in), runs of many more than max_pending changes without
// one (folded on the way), and a reconnection. What resolve() gives, the route count and the
// counters must be the map's at every check.
TEST(FpmRouteStore, MatchesAMapOfWhatZebraSentOverALongStream) {
  std::mt19937 rng(11);
  std::vector<Prefix> prefixes;
  for (uint32_t i = 0; i < 3000; ++i) {
    const std::string text =
        i % 5 == 0 ? "2001:db8:" + std::to_string(i) + "::/48"
                   : "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".0/24";
    prefixes.push_back(pfx(text.c_str()));
  }
  // Mapped (the peers of interfaces 0-2) and unmapped addresses.
  const std::vector<IpAddress> addresses = {
      ip("10.99.0.2"),    ip("10.98.0.2"),    ip("2001:db8:99::2"), ip("10.99.0.3"),
      ip("10.98.0.3"),    ip("192.0.2.1"),    ip("192.0.2.2"),      ip("2001:db8:99::3"),
      ip("198.51.100.1"), ip("198.51.100.2"), ip("203.0.113.1"),    ip("203.0.113.2")};
  const auto peer_list = peers();
  std::map<Prefix, RouteUpdate> model;
  // What resolve() must give for the model, in show()'s format.
  const auto expected = [&](size_t* left_out, size_t* unmapped) {
    std::string out;
    *left_out = *unmapped = 0;
    for (const auto& [prefix, u] : model) {
      if (u.type != RTN_UNICAST) {
        out += prefix.toString() + " " +
               (u.type == RTN_BLACKHOLE     ? "blackhole"
                : u.type == RTN_UNREACHABLE ? "unreachable"
                                            : "prohibit") +
               "; ";
        continue;
      }
      // Each interface once, in first-seen order, weighing the sum of its
      // next hops' weights (at most 256).
      std::vector<size_t> members;
      std::vector<int> weights;
      for (size_t n = 0; n < u.gateways.size(); ++n) {
        const IpAddress& g = u.gateways[n];
        const int w = u.weights.empty() ? 1 : u.weights[n];
        size_t i = 0;
        while (i < peer_list.size() && !(peer_list[i] && *peer_list[i] == g)) ++i;
        if (i == peer_list.size()) {
          ++*unmapped;
          continue;
        }
        const auto at = std::find(members.begin(), members.end(), i);
        if (at == members.end()) {
          members.push_back(i);
          weights.push_back(w);
        } else {
          int& sum = weights[size_t(at - members.begin())];
          sum = std::min(sum + w, 256);
        }
      }
      if (members.empty()) {
        ++*left_out;
        continue;
      }
      const bool weighted =
          members.size() > 1 &&
          std::any_of(weights.begin(), weights.end(), [&](int w) { return w != weights[0]; });
      out += prefix.toString() + (members.size() > 1 ? " ecmp" : "");
      for (size_t m = 0; m < members.size(); ++m)
        out +=
            " " + std::to_string(members[m]) + (weighted ? "*" + std::to_string(weights[m]) : "");
      out += "; ";
    }
    return out;
  };
  RouteStore store(peers(), {.max_pending = 1'000});
  store.connected(0);
  uint64_t adds = 0, deletes = 0, now = 1;
  const auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    size_t left_out, unmapped;
    const std::string want = expected(&left_out, &unmapped);
    const ResolvedRoutes got = store.resolve();
    EXPECT_EQ(show(got), want);
    EXPECT_EQ(got.left_out, left_out);
    EXPECT_EQ(got.unmapped_nexthops, unmapped);
    EXPECT_EQ(store.routeCount(), model.size());
    EXPECT_EQ(store.counters().route_adds, adds);
    EXPECT_EQ(store.counters().route_deletes, deletes);
  };
  const auto stream = [&](size_t updates, size_t publish_every) {
    for (size_t n = 0; n < updates; ++n, ++now) {
      const Prefix& prefix = prefixes[rng() % prefixes.size()];
      if (rng() % 4 == 0) {
        store.apply(RouteUpdate{false, prefix, {}, 0, RTN_UNICAST}, now);
        deletes += model.erase(prefix);
      } else {
        RouteUpdate u{true, prefix, {}, 0, RTN_UNICAST};
        const uint32_t kind = rng() % 20;
        if (kind == 0) u.type = RTN_BLACKHOLE;
        if (kind == 1) u.type = RTN_UNREACHABLE;
        if (kind == 2) u.type = RTN_PROHIBIT;
        const bool weighted = rng() % 3 == 0;
        for (uint32_t g = 1 + rng() % 3; g > 0; --g) {
          u.gateways.push_back(addresses[rng() % addresses.size()]);
          if (weighted) u.weights.push_back(uint16_t(1 + rng() % (rng() % 2 ? 3 : 256)));
        }
        store.apply(u, now);
        model[prefix] = u;
        ++adds;
      }
      if (publish_every != 0 && rng() % publish_every == 0) store.take(now);
    }
  };
  stream(20'000, 0);
  check("before the first publish");
  stream(50'000, 5'000);
  check("after publishes");
  store.take(now);
  check("right after a publish");
  stream(150'000, 0);
  check("150,000 changes without a publish");
  // One prefix re-sent with ever new next hops (weights): the interned lists
  // grow while the pending changes do not; they are cleaned up on the way.
  for (uint16_t n = 0; n < 20'000; ++n, ++now) {
    RouteUpdate u{true, prefixes[0], {addresses[0], addresses[1]},
                  0,    RTN_UNICAST, {uint16_t(1 + n % 256), uint16_t(1 + n / 256 % 256)}};
    store.apply(u, now);
    model[prefixes[0]] = u;
    ++adds;
  }
  check("one prefix re-sent 20,000 times");
  // A new zebra connection that re-sends part of the routes: the rest is
  // swept after the resync, exactly the map's routes not re-sent.
  store.connected(now);
  std::map<Prefix, RouteUpdate> resent;
  for (size_t n = 0; n < 5'000; ++n, ++now) {
    const Prefix& prefix = prefixes[rng() % prefixes.size()];
    RouteUpdate u{true, prefix, {addresses[rng() % 4]}, 0, RTN_UNICAST};
    store.apply(u, now);
    ++adds;
    model[prefix] = u;
    resent[prefix] = u;
  }
  check("during the resync");
  store.tick(now + RouteStore::Options{}.resync_max_us);
  EXPECT_EQ(store.counters().stale_swept, model.size() - resent.size());
  model = resent;
  check("after the sweep");
}

TEST(FpmRouteStore, PublishesAtMostEveryBatchWhenSomethingChanged) {
  RouteStore store(peers(), {.batch_us = 100'000});
  store.connected(1'000'000);
  EXPECT_FALSE(store.publishDue(1'000'000)) << "nothing changed";
  EXPECT_EQ(store.nextDeadline(), UINT64_MAX);
  store.apply(add("10.1.0.0/16", {ip("10.99.0.2")}), 1'000'000);
  EXPECT_TRUE(store.publishDue(1'000'000)) << "a lone change after a quiet spell goes at once";
  EXPECT_EQ(store.take(1'000'000).routes.size(), 1u);
  // A burst: a publish at most every 100 ms.
  int publishes = 0;
  for (uint64_t t = 1'000'001; t < 1'500'000; t += 1000) {
    store.apply(add(("10." + std::to_string(t % 250) + ".0.0/16").c_str(), {ip("10.99.0.2")}), t);
    if (store.publishDue(t)) {
      store.take(t);
      ++publishes;
    }
  }
  EXPECT_EQ(publishes, 4);  // at 1.100, 1.200, 1.300, 1.400 s
  EXPECT_TRUE(store.dirty());
  EXPECT_EQ(store.nextDeadline(), 1'500'001u);
  EXPECT_FALSE(store.publishDue(1'500'000));
  EXPECT_TRUE(store.publishDue(1'500'001));
}

// A rebuild slower than half the batch time (a full table) spaces the
// publishes by twice its time, from the start of one to the next; a fast one
// brings batch_us back.
TEST(FpmRouteStore, ASlowRebuildSpacesThePublishesByTwiceItsTime) {
  RouteStore store(peers(), {.batch_us = 100'000});
  store.connected(0);
  store.apply(add("10.1.0.0/16", {ip("10.99.0.2")}), 1'000'000);
  ASSERT_TRUE(store.publishDue(1'000'000));
  store.take(1'000'000);
  store.built(400'000);
  EXPECT_EQ(store.batchGap(), 800'000u);
  store.apply(add("10.2.0.0/16", {ip("10.99.0.2")}), 1'400'000);
  EXPECT_EQ(store.nextDeadline(), 1'800'000u);
  EXPECT_FALSE(store.publishDue(1'799'999));
  ASSERT_TRUE(store.publishDue(1'800'000));
  store.take(1'800'000);
  store.built(30'000);  // under half of batch_us: batch_us again
  EXPECT_EQ(store.batchGap(), 100'000u);
  store.apply(add("10.3.0.0/16", {ip("10.99.0.2")}), 1'830'000);
  EXPECT_EQ(store.nextDeadline(), 1'900'000u);
  EXPECT_FALSE(store.publishDue(1'899'999));
  EXPECT_TRUE(store.publishDue(1'900'000));
  store.built(50'000);  // exactly half: the same
  EXPECT_EQ(store.batchGap(), 100'000u);
}

TEST(FpmRouteStore, ZebraGoneRoutesStayAndAfterTheResyncTheStaleAreSwept) {
  RouteStore store(peers(), {.batch_us = 100'000,
                             .resync_us = 3'000'000,
                             .quiet_us = 1'000'000,
                             .resync_max_us = 60'000'000});
  store.connected(0);
  store.apply(nh(1, ip("10.99.0.2")), 10);
  store.apply(addById("10.1.0.0/16", 1), 10);
  store.apply(add("10.2.0.0/16", {ip("10.98.0.2")}), 10);
  store.apply(add("10.3.0.0/16", {ip("10.98.0.2")}), 10);
  store.take(10);
  EXPECT_FALSE(store.resyncing()) << "a first connection has nothing to sweep";

  store.disconnected(1'000'000);
  EXPECT_EQ(store.routeCount(), 3u);
  EXPECT_FALSE(store.dirty());
  store.tick(100'000'000);
  EXPECT_EQ(store.routeCount(), 3u) << "nothing is swept while zebra is away";

  // The new zebra reuses next-hop id 1 for another next hop: 10.1/16, not
  // re-sent yet, keeps its old next hop.
  store.connected(200'000'000);
  EXPECT_TRUE(store.resyncing());
  EXPECT_EQ(store.nextHopCount(), 0u);
  store.apply(nh(1, ip("10.98.0.2")), 200'000'100);
  store.apply(addById("10.3.0.0/16", 1), 200'000'100);
  EXPECT_EQ(show(store.resolve()), "10.1.0.0/16 0; 10.2.0.0/16 1; 10.3.0.0/16 1; ");
  store.apply(add("10.2.0.0/16", {ip("10.98.0.2")}), 201'000'000);
  store.take(201'000'000);
  store.tick(202'999'999);
  EXPECT_EQ(store.routeCount(), 3u) << "the resync time after the connection is not over";
  EXPECT_EQ(store.nextDeadline(), 203'000'000u);
  store.tick(203'000'000);
  EXPECT_FALSE(store.resyncing());
  EXPECT_EQ(show(store.resolve()), "10.2.0.0/16 1; 10.3.0.0/16 1; ") << "10.1/16 was not re-sent";
  EXPECT_EQ(store.counters().stale_swept, 1u);
  EXPECT_EQ(store.lastSwept(), std::vector<Prefix>{pfx("10.1.0.0/16")});
  EXPECT_EQ(store.counters().sweeps, 1u);
  EXPECT_TRUE(store.dirty());
}

TEST(FpmRouteStore, ABusyResyncIsSweptAtTheLatestAfterTheMaximum) {
  RouteStore store(peers(), {.batch_us = 100'000,
                             .resync_us = 3'000'000,
                             .quiet_us = 1'000'000,
                             .resync_max_us = 10'000'000});
  store.connected(0);
  store.apply(add("10.1.0.0/16", {ip("10.99.0.2")}), 0);
  store.apply(add("10.2.0.0/16", {ip("10.99.0.2")}), 0);
  store.connected(1'000'000);
  for (uint64_t t = 1'000'000; t < 11'000'000; t += 500'000) {
    store.apply(add("10.2.0.0/16", {ip("10.99.0.2")}), t);  // never quiet
    store.tick(t);
  }
  EXPECT_EQ(store.routeCount(), 2u);
  store.tick(11'000'000);
  EXPECT_EQ(store.routeCount(), 1u);
}

TEST(FpmRouteStore, ADisconnectDuringTheResyncPostponesTheSweep) {
  RouteStore store(peers(), {.batch_us = 100'000,
                             .resync_us = 3'000'000,
                             .quiet_us = 1'000'000,
                             .resync_max_us = 60'000'000});
  store.connected(0);
  store.apply(add("10.1.0.0/16", {ip("10.99.0.2")}), 0);
  store.connected(1'000'000);
  store.disconnected(2'000'000);
  store.tick(10'000'000);
  EXPECT_EQ(store.routeCount(), 1u);
  store.connected(20'000'000);
  store.apply(add("10.1.0.0/16", {ip("10.99.0.2")}), 20'000'001);
  store.tick(24'000'000);
  EXPECT_EQ(store.routeCount(), 1u) << "re-sent in the latest session";
}

TEST(FpmRouteStore, MergeKeepsTheConfigRouteOnTheSamePrefix) {
  std::vector<route::RouteSpec> specs = {{"10.50.0.0/16", {"east"}, false},
                                         {"10.60.0.0/16", {"west"}, false}};
  std::vector<std::string> names = {"west", "east", "v6", "nopeer"};
  auto config = route::RouteTable::build(specs, names, {}, nullptr);
  ASSERT_TRUE(config);
  RouteStore store(peers(), {});
  store.connected(0);
  store.apply(add("10.50.0.0/16", {ip("10.99.0.2")}), 0);  // west, but the config says east
  store.apply(add("10.70.0.0/16", {ip("10.99.0.2")}), 0);
  MergeStats stats;
  auto merged = mergeRoutes(&*config, store.resolve(), &stats);
  EXPECT_EQ(stats.config_routes, 2u);
  EXPECT_EQ(stats.fpm_routes, 1u);
  EXPECT_EQ(stats.shadowed, 1u);
  ASSERT_EQ(merged->size(), 3u);
  std::string error;
  auto table = route::RouteTable::build(merged, {}, &error);
  ASSERT_TRUE(table) << error;
  const auto at = [&](const char* a) { return table->lookup(ip(a)); };
  EXPECT_EQ(table->group(at("10.50.1.1")).members()[0], 1u) << "config's east";
  EXPECT_EQ(table->group(at("10.60.1.1")).members()[0], 0u);
  EXPECT_EQ(table->group(at("10.70.1.1")).members()[0], 0u);
  EXPECT_EQ(at("10.80.1.1"), route::kNoRouteIndex);

  auto fpm_only = mergeRoutes(nullptr, store.resolve(), &stats);
  EXPECT_EQ(fpm_only->size(), 2u);
  EXPECT_EQ(stats.shadowed, 0u);

  // A reload takes the FPM routes back out of the running table.
  const MergedTable built = buildMerged(&*config, store.resolve(), 7);
  EXPECT_EQ(built.table->size(), 3u);
  EXPECT_EQ(built.table->hashSeed(), 7u);
  const ResolvedRoutes back = fpmRoutesOf(*built.table, built.stats.fpm_routes);
  ASSERT_EQ(back.routes.size(), 1u);
  EXPECT_EQ(back.routes[0].first, pfx("10.70.0.0/16"));
  EXPECT_EQ(back.routes[0].second.members()[0], 0u);
  EXPECT_TRUE(fpmRoutesOf(*built.table, 0).routes.empty());
}

}  // namespace
}  // namespace ferry::fpm
