#include "ferry/dataplane/forwarding.h"

#include <stdexcept>

namespace ferry {

ForwardingState ForwardingState::fromConfig(const Config& config, unsigned dataplanes,
                                            uint32_t hash_seed) {
  ForwardingState state;
  state.mode = config.mode;
  state.hash_seed = hash_seed;
  state.relay_to.assign(config.interfaces.size(), kNoInterface);
  for (const auto& rule : config.relay) state.relay_to[rule.from] = rule.to;
  state.setLiveness(std::vector<uint8_t>(config.interfaces.size(), 1));
  if (config.mode == Mode::kRoute && config.file_routes) {
    std::string error;
    auto table = route::RouteTable::build(config.file_routes, {.hash_seed = hash_seed}, &error);
    if (!table) throw std::runtime_error(config.routes_file + ": " + error);
    state.routes = std::make_shared<const route::RouteTable>(std::move(*table));
  } else if (config.mode == Mode::kRoute) {
    std::vector<route::RouteSpec> specs;
    for (const auto& r : config.routes) specs.push_back(r.spec());
    std::vector<std::string> names;
    for (const auto& i : config.interfaces) names.push_back(i.name);
    std::vector<route::RouteIssue> issues;
    auto table = route::RouteTable::build(specs, names, {.hash_seed = hash_seed}, &issues);
    if (!table)
      throw std::runtime_error("routes: " + (issues.empty() ? std::string("invalid") : issues[0].message));
    state.routes = std::make_shared<const route::RouteTable>(std::move(*table));
  }
  if (config.mode == Mode::kRoute) {
    state.route_counters = std::make_shared<RouteCounters>(dataplanes, state.routes->size());
    if (config.icmp) {
      if (!config.icmp->source_v4.empty())
        state.icmp_source_v4 = route::IpAddress::parse(config.icmp->source_v4);
      if (!config.icmp->source_v6.empty())
        state.icmp_source_v6 = route::IpAddress::parse(config.icmp->source_v6);
    }
  }
  return state;
}

void ForwardingState::setLiveness(const std::vector<uint8_t>& liveness) {
  up = liveness;
  up_mask = 0;
  for (size_t i = 0; i < up.size() && i < 64; ++i)
    if (up[i]) up_mask |= uint64_t(1) << i;
}

}  // namespace ferry
