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

void RouteStore::connected(uint64_t now_us) {
  // Next-hop ids are the old zebra's: pin each route to the addresses its id
  // had, so that a new zebra reusing the id for another next hop cannot move
  // a route it has not re-sent yet.
  for (auto& [prefix, stored] : routes_) {
    if (stored.nexthop_id == 0) continue;
    std::string why;
    stored.gateways = gatewaysOf(stored.nexthop_id, &why);
    stored.nexthop_id = 0;
  }
  if (!nexthops_.empty()) dirty_ = true;
  nexthops_.clear();
  ++generation_;
  resyncing_ = !routes_.empty();
  resync_start_us_ = now_us;
  last_message_us_ = now_us;
}

void RouteStore::disconnected(uint64_t /*now_us*/) {
  // Keep every route; sweep nothing while zebra is away.
  resyncing_ = false;
}

void RouteStore::apply(const Update& update, uint64_t now_us) {
  last_message_us_ = now_us;
  if (const auto* r = std::get_if<RouteUpdate>(&update)) {
    if (r->add) {
      StoredRoute& stored = routes_[r->prefix];
      stored.gateways = r->gateways;
      stored.nexthop_id = r->nexthop_id;
      stored.type = r->type;
      stored.generation = generation_;
      ++counters_.route_adds;
      dirty_ = true;
    } else if (routes_.erase(r->prefix) != 0) {
      ++counters_.route_deletes;
      dirty_ = true;
    }
    return;
  }
  const auto& n = std::get<NextHopUpdate>(update);
  if (n.add) {
    nexthops_[n.id] = StoredNextHop{n.gateway, n.group, n.blackhole};
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
  const size_t before = routes_.size();
  last_swept_.clear();
  std::erase_if(routes_, [&](const auto& entry) {
    if (entry.second.generation == generation_) return false;
    if (last_swept_.size() < ResolvedRoutes::kLeftOutListed) last_swept_.push_back(entry.first);
    return true;
  });
  counters_.stale_swept += before - routes_.size();
  if (routes_.size() != before) dirty_ = true;
}

uint64_t RouteStore::nextDeadline() const noexcept {
  uint64_t next = UINT64_MAX;
  if (dirty_) next = last_publish_us_ + options_.batch_us;
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
  return resolve();
}

std::vector<IpAddress> RouteStore::gatewaysOf(uint32_t id, std::string* why) const {
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
  if (nh.gateway) return {*nh.gateway};
  std::vector<IpAddress> out;
  for (uint32_t member : nh.group) {
    // The kernel allows no nested groups; a member that is a group adds nothing.
    const auto m = nexthops_.find(member);
    if (m != nexthops_.end() && m->second.gateway && !m->second.blackhole)
      out.push_back(*m->second.gateway);
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

ResolvedRoutes RouteStore::resolve() const {
  ResolvedRoutes out;
  out.routes.reserve(routes_.size());
  const auto leaveOut = [&](const Prefix& prefix, std::string why) {
    ++out.left_out;
    if (out.left_out_examples.size() < ResolvedRoutes::kLeftOutListed)
      out.left_out_examples.emplace_back(prefix, std::move(why));
  };
  std::vector<IpAddress> resolved;
  for (const auto& [prefix, stored] : routes_) {
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
      continue;
    }
    if (stored.type != RTN_UNICAST) {
      leaveOut(prefix,
               "not a unicast or drop route (rtm_type " + std::to_string(stored.type) + ")");
      continue;
    }
    // A route over a blackhole next-hop object (zebra with next-hop
    // objects sends a blackhole route so) drops too.
    if (stored.nexthop_id != 0) {
      const auto nh = nexthops_.find(stored.nexthop_id);
      if (nh != nexthops_.end() && nh->second.blackhole) {
        out.routes.emplace_back(prefix, NextHopGroup::drop(route::GroupMode::kBlackhole));
        continue;
      }
    }
    std::string why;
    const std::vector<IpAddress>* gateways = &stored.gateways;
    if (stored.nexthop_id != 0) {
      resolved = gatewaysOf(stored.nexthop_id, &why);
      gateways = &resolved;
    }
    if (gateways->empty()) {
      leaveOut(prefix, why.empty() ? "no gateway (an interface route)" : why);
      continue;
    }
    uint32_t members[route::kMaxGroupMembers];
    size_t count = 0;
    uint64_t seen = 0;
    std::string unmapped;
    for (const IpAddress& gateway : *gateways) {
      const int i = interfaceOf(gateway);
      if (i < 0 || i >= int(route::kMaxInterfaces)) {
        ++out.unmapped_nexthops;
        if (unmapped.empty()) unmapped = gateway.toString();
        continue;
      }
      if (seen >> i & 1 || count == route::kMaxGroupMembers) continue;
      seen |= uint64_t(1) << i;
      members[count++] = uint32_t(i);
    }
    if (count == 0) {
      leaveOut(prefix, "next hop " + unmapped + " is no interface's peer");
      continue;
    }
    const auto group = NextHopGroup::create(
        count > 1 ? route::GroupMode::kEcmp : route::GroupMode::kFailover, {members, count});
    if (!group) {
      leaveOut(prefix, "invalid next-hop group");
      continue;
    }
    out.routes.emplace_back(prefix, *group);
  }
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
