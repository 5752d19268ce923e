#include "ferry/fpm/route_store.h"

#include <linux/rtnetlink.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace ferry::fpm {

using route::IpAddress;
using route::NextHopGroup;
using route::Prefix;

RouteStore::RouteStore(std::vector<std::optional<IpAddress>> peers, Options options)
    : peers_(std::move(peers)), options_(options) {}

bool RouteStore::GatewaysLess::operator()(const Hops& a, const Hops& b) const noexcept {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                      [](const Hop& x, const Hop& y) {
                                        if (x.address.isV4() != y.address.isV4())
                                          return x.address.isV4();
                                        if (!(x.address == y.address))
                                          return x.address.isV4() ? x.address.v4() < y.address.v4()
                                                                  : x.address.v6() < y.address.v6();
                                        return x.weight < y.weight;
                                      });
}

RouteStore::Hops RouteStore::hopsOf(const RouteUpdate& update) {
  Hops hops;
  hops.reserve(update.gateways.size());
  for (size_t i = 0; i < update.gateways.size(); ++i)
    hops.push_back(
        {update.gateways[i], i < update.weights.size() ? update.weights[i] : uint16_t{1}});
  return hops;
}

uint32_t RouteStore::intern(const Hops& gateways) {
  if (gateways.empty()) return 0;
  const auto [it, added] = gateway_index_.try_emplace(gateways, uint32_t(gateway_lists_.size()));
  if (added) {
    gateway_lists_.push_back(gateways);
    interned_hops_ += gateways.size();
  }
  return it->second;
}

bool RouteStore::exists(const Prefix& prefix) const {
  if (const auto d = delta_.find(prefix); d != delta_.end()) return d->second.has_value();
  return inBase(prefix);
}

bool RouteStore::inBase(const Prefix& prefix) const {
  const auto it =
      std::lower_bound(base_.begin(), base_.end(), prefix,
                       [](const StoredRoute& r, const Prefix& p) { return r.prefix < p; });
  return it != base_.end() && it->prefix == prefix;
}

template <typename Fn>
void RouteStore::forEach(Fn&& fn) const {
  auto d = delta_.begin();
  for (const StoredRoute& r : base_) {
    for (; d != delta_.end() && d->first < r.prefix; ++d)
      if (d->second) fn(*d->second);
    if (d != delta_.end() && d->first == r.prefix) {
      if (d->second) fn(*d->second);  // replaced; or deleted
      ++d;
      continue;
    }
    fn(r);
  }
  for (; d != delta_.end(); ++d)
    if (d->second) fn(*d->second);
}

void RouteStore::fold() {
  if (!delta_.empty()) {
    std::vector<StoredRoute> merged;
    merged.reserve(base_.size() + delta_.size());
    forEach([&](const StoredRoute& r) { merged.push_back(r); });
    base_ = std::move(merged);
    delta_.clear();
  }
  // Gateway lists are interned and never freed one by one: when they have
  // piled up (routes moved to other next hops), keep only those in use.
  if (gateway_lists_.size() <= 2 * gateway_lists_kept_ + 64 &&
      interned_hops_ <= 2 * interned_hops_kept_ + options_.max_pending)
    return;
  std::vector<uint32_t> renumber(gateway_lists_.size(), 0);
  std::vector<Hops> kept{{}};
  gateway_index_.clear();
  interned_hops_ = 0;
  for (StoredRoute& r : base_) {
    if (r.gateways == 0) continue;
    uint32_t& to = renumber[r.gateways];
    if (to == 0) {
      to = uint32_t(kept.size());
      kept.push_back(std::move(gateway_lists_[r.gateways]));
      gateway_index_.emplace(kept.back(), to);
      interned_hops_ += kept.back().size();
    }
    r.gateways = to;
  }
  gateway_lists_ = std::move(kept);
  gateway_lists_kept_ = gateway_lists_.size();
  interned_hops_kept_ = interned_hops_;
}

void RouteStore::connected(uint64_t now_us) {
  // Next-hop ids are the old zebra's: pin each route to the addresses its id
  // had, so that a new zebra reusing the id for another next hop cannot move
  // a route it has not re-sent yet.
  fold();
  for (StoredRoute& stored : base_) {
    if (stored.nexthop_id == 0) continue;
    std::string why;
    stored.gateways = intern(gatewaysOf(stored.nexthop_id, &why));
    stored.nexthop_id = 0;
  }
  if (!nexthops_.empty()) dirty_ = true;
  nexthops_.clear();
  ++generation_;
  resyncing_ = !base_.empty();
  resync_start_us_ = now_us;
  last_message_us_ = now_us;
}

void RouteStore::disconnected(uint64_t /*now_us*/) {
  // Keep every route; sweep nothing while zebra is away.
  resyncing_ = false;
}

void RouteStore::apply(const Update& update, uint64_t now_us) {
  // Changes wait in delta_ for the next take(); a long stream between two
  // publishes is folded in every max_pending changes, which bounds the map.
  last_message_us_ = now_us;
  if (const auto* r = std::get_if<RouteUpdate>(&update)) {
    if (r->add) {
      const auto [it, first_change] = delta_.try_emplace(r->prefix);
      // New unless it is in base_ and not deleted since, or added since.
      if (first_change ? !inBase(r->prefix) : !it->second.has_value()) ++route_count_;
      it->second = StoredRoute{.prefix = r->prefix,
                               .gateways = intern(hopsOf(*r)),
                               .nexthop_id = r->nexthop_id,
                               .generation = generation_,
                               .type = r->type};
      ++counters_.route_adds;
      dirty_ = true;
    } else if (exists(r->prefix)) {
      delta_[r->prefix] = std::nullopt;
      --route_count_;
      ++counters_.route_deletes;
      dirty_ = true;
    }
    if (delta_.size() > options_.max_pending ||
        interned_hops_ > 2 * interned_hops_kept_ + options_.max_pending)
      fold();
    return;
  }
  const auto& n = std::get<NextHopUpdate>(update);
  if (n.add) {
    nexthops_[n.id] = StoredNextHop{n.gateway, n.group, n.weights, n.blackhole};
    ++counters_.nexthop_adds;
    dirty_ = true;
  } else if (nexthops_.erase(n.id) != 0) {
    ++counters_.nexthop_deletes;
    dirty_ = true;
  }
}

void RouteStore::tick(uint64_t now_us) {
  if (!resyncing_) return;
  const bool over = now_us >= resync_start_us_ + options_.resync_us &&
                    now_us >= last_message_us_ + options_.quiet_us;
  if (!over && now_us < resync_start_us_ + options_.resync_max_us) return;
  resyncing_ = false;
  ++counters_.sweeps;
  fold();
  const size_t before = base_.size();
  last_swept_.clear();
  std::erase_if(base_, [&](const StoredRoute& r) {
    if (r.generation == generation_) return false;
    if (last_swept_.size() < ResolvedRoutes::kLeftOutListed) last_swept_.push_back(r.prefix);
    return true;
  });
  route_count_ = base_.size();
  counters_.stale_swept += before - base_.size();
  if (base_.size() != before) dirty_ = true;
}

uint64_t RouteStore::nextDeadline() const noexcept {
  uint64_t next = UINT64_MAX;
  if (dirty_) next = last_publish_us_ + batchGap();
  if (resyncing_)
    next = std::min(
        {next,
         std::max(resync_start_us_ + options_.resync_us, last_message_us_ + options_.quiet_us),
         resync_start_us_ + options_.resync_max_us});
  return next;
}

ResolvedRoutes RouteStore::take(uint64_t now_us) {
  dirty_ = false;
  last_publish_us_ = now_us;
  fold();
  return resolve();
}

RouteStore::Hops RouteStore::gatewaysOf(uint32_t id, std::string* why) const {
  const auto it = nexthops_.find(id);
  if (it == nexthops_.end()) {
    *why = "unknown next-hop id " + std::to_string(id);
    return {};
  }
  const StoredNextHop& nh = it->second;
  if (nh.blackhole) {
    *why = "blackhole next hop";  // resolve() makes a blackhole route of it
    return {};
  }
  if (nh.gateway) return {{*nh.gateway, 1}};
  Hops out;
  for (size_t i = 0; i < nh.group.size(); ++i) {
    // The kernel allows no nested groups; a member that is a group adds nothing.
    const auto m = nexthops_.find(nh.group[i]);
    if (m != nexthops_.end() && m->second.gateway && !m->second.blackhole)
      out.push_back({*m->second.gateway, i < nh.weights.size() ? nh.weights[i] : uint16_t{1}});
  }
  if (out.empty())
    *why = nh.group.empty() ? "an interface route (next hop without a gateway)"
                            : "next-hop group without a gateway";
  return out;
}

int RouteStore::interfaceOf(const IpAddress& gateway) const noexcept {
  for (size_t i = 0; i < peers_.size(); ++i)
    if (peers_[i] && *peers_[i] == gateway) return int(i);
  return -1;
}

RouteStore::Resolution RouteStore::resolveGateways(const Hops& gateways, std::string why) const {
  Resolution out;
  if (gateways.empty()) {
    out.why = why.empty() ? "no gateway (an interface route)" : std::move(why);
    return out;
  }
  uint32_t members[route::kMaxGroupMembers];
  uint32_t weights[route::kMaxGroupMembers];
  size_t count = 0;
  std::string unmapped;
  for (const Hop& hop : gateways) {
    const int i = interfaceOf(hop.address);
    if (i < 0 || i >= int(route::kMaxInterfaces)) {
      ++out.unmapped;
      if (unmapped.empty()) unmapped = hop.address.toString();
      continue;
    }
    const auto at = std::find(members, members + count, uint32_t(i)) - members;
    if (size_t(at) < count) {  // the same interface again: its share grows
      weights[at] = std::min(weights[at] + hop.weight, route::kMaxWeight);
      continue;
    }
    if (count == route::kMaxGroupMembers) continue;
    weights[count] = std::min<uint32_t>(hop.weight, route::kMaxWeight);
    members[count++] = uint32_t(i);
  }
  if (count == 0) {
    out.why = "next hop " + unmapped + " is no interface's peer";
    return out;
  }
  // Several interfaces: ECMP, weighted unless every weight is the same.
  out.group = count > 1 ? NextHopGroup::createWeighted({members, count}, {weights, count})
                        : NextHopGroup::create(route::GroupMode::kFailover, {members, count});
  if (!out.group) out.why = "invalid next-hop group";
  return out;
}

ResolvedRoutes RouteStore::resolve() const {
  ResolvedRoutes out;
  out.routes.reserve(base_.size() + delta_.size());
  // Routes share their next hops: each gateway list and next-hop id is
  // resolved once per call.
  std::vector<std::optional<Resolution>> by_list(gateway_lists_.size());
  std::unordered_map<uint32_t, Resolution> by_id;
  forEach([&](const StoredRoute& stored) {
    const Prefix& prefix = stored.prefix;
    const auto leaveOut = [&](std::string why) {
      ++out.left_out;
      if (out.left_out_examples.size() < ResolvedRoutes::kLeftOutListed)
        out.left_out_examples.emplace_back(prefix, std::move(why));
    };
    // zebra's drop routes, answered as Linux answers its own: a blackhole
    // drops silently; unreachable answers with ICMP Destination Unreachable
    // (network unreachable), prohibit with administratively prohibited.
    if (stored.type == RTN_BLACKHOLE || stored.type == RTN_UNREACHABLE ||
        stored.type == RTN_PROHIBIT) {
      const route::GroupMode mode = stored.type == RTN_BLACKHOLE ? route::GroupMode::kBlackhole
                                    : stored.type == RTN_UNREACHABLE
                                        ? route::GroupMode::kUnreachable
                                        : route::GroupMode::kProhibit;
      out.routes.emplace_back(prefix, NextHopGroup::drop(mode));
      return;
    }
    if (stored.type != RTN_UNICAST) {
      leaveOut("not a unicast or drop route (rtm_type " + std::to_string(stored.type) + ")");
      return;
    }
    const Resolution* resolution;
    if (stored.nexthop_id != 0) {
      // A route over a blackhole next-hop object (zebra with next-hop
      // objects sends a blackhole route so) drops too.
      const auto nh = nexthops_.find(stored.nexthop_id);
      if (nh != nexthops_.end() && nh->second.blackhole) {
        out.routes.emplace_back(prefix, NextHopGroup::drop(route::GroupMode::kBlackhole));
        return;
      }
      auto [it, added] = by_id.try_emplace(stored.nexthop_id);
      if (added) {
        std::string why;
        const Hops gateways = gatewaysOf(stored.nexthop_id, &why);
        it->second = resolveGateways(gateways, std::move(why));
      }
      resolution = &it->second;
    } else {
      std::optional<Resolution>& r = by_list[stored.gateways];
      if (!r) r = resolveGateways(gateway_lists_[stored.gateways], {});
      resolution = &*r;
    }
    out.unmapped_nexthops += resolution->unmapped;
    if (resolution->group)
      out.routes.emplace_back(prefix, *resolution->group);
    else
      leaveOut(resolution->why);
  });
  return out;
}

namespace {

struct PrefixHash {
  size_t operator()(const Prefix& p) const noexcept {
    const route::Ipv6 bits = p.isV4() ? route::Ipv6{0, p.v4()} : p.v6();
    uint64_t h = bits.hi * 0x9e3779b97f4a7c15ull ^ bits.lo;
    h ^= (uint64_t(p.length()) << 8 | uint64_t(p.family())) * 0xbf58476d1ce4e5b9ull;
    return size_t(h ^ (h >> 31));
  }
};

}  // namespace

std::shared_ptr<const route::RouteSet> mergeRoutes(const route::RouteTable* config,
                                                   const ResolvedRoutes& fpm, MergeStats* stats) {
  auto set = std::make_shared<route::RouteSet>();
  const size_t config_count = config != nullptr ? config->size() : 0;
  set->reserve(config_count + fpm.routes.size());
  std::unordered_set<Prefix, PrefixHash> config_prefixes;
  config_prefixes.reserve(config_count);
  for (uint32_t r = 0; r < config_count; ++r) {
    set->add(config->prefix(r), config->group(r));
    config_prefixes.insert(config->prefix(r));
  }
  MergeStats s;
  s.config_routes = config_count;
  for (const auto& [prefix, group] : fpm.routes) {
    if (config_count != 0 && config_prefixes.count(prefix) != 0) {
      ++s.shadowed;
      continue;
    }
    set->add(prefix, group);
    ++s.fpm_routes;
  }
  if (stats != nullptr) *stats = s;
  return set;
}

MergedTable buildMerged(const route::RouteTable* config, const ResolvedRoutes& fpm,
                        uint32_t hash_seed) {
  MergedTable merged;
  std::string error;
  auto table = route::RouteTable::build(mergeRoutes(config, fpm, &merged.stats),
                                        {.hash_seed = hash_seed}, &error);
  if (!table) throw std::runtime_error("fpm: cannot build the forwarding table: " + error);
  merged.table = std::make_shared<const route::RouteTable>(std::move(*table));
  return merged;
}

ResolvedRoutes fpmRoutesOf(const route::RouteTable& table, size_t fpm_routes) {
  ResolvedRoutes out;
  fpm_routes = std::min(fpm_routes, table.size());
  out.routes.reserve(fpm_routes);
  for (size_t r = table.size() - fpm_routes; r < table.size(); ++r)
    out.routes.emplace_back(table.prefix(uint32_t(r)), table.group(uint32_t(r)));
  return out;
}

}  // namespace ferry::fpm
