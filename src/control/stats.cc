// JSON views of the counters. Every drop reason is always present (0 when
// nothing was dropped for it), so scripts can rely on the keys.
#include "ferry/control/control.h"

#include <algorithm>

#include "ferry/net/socket.h"

namespace ferry {
namespace {

nlohmann::json dropsJson(const CounterTotals& t) {
  nlohmann::json drops = nlohmann::json::object();
  for (size_t i = 0; i < kDropCount; ++i) drops[toString(static_cast<Drop>(i))] = t.drops[i];
  return drops;
}

void putTotals(nlohmann::json& j, const CounterTotals& t) {
  j["rx_packets"] = t.rx_packets;
  j["rx_bytes"] = t.rx_bytes;
  j["tx_packets"] = t.tx_packets;
  j["tx_bytes"] = t.tx_bytes;
  j["bfd_rx"] = t.bfd_rx;
  j["tx_gso_batches"] = t.tx_gso_batches;
  j["tx_gso_refused"] = t.tx_gso_refused;
  j["rx_gro_trains"] = t.rx_gro_trains;
  j["rx_gro_cut"] = t.rx_gro_cut;
  j["rx_no_buffer"] = t.rx_no_buffer;
  j["rx_rescued"] = t.rx_rescued;
  j["icmp_tx"] = t.icmp_tx;
  j["icmp_rate_limited"] = t.icmp_rate_limited;
  j["icmp_send_errors"] = t.icmp_send_errors;
  j["dropped"] = t.droppedTotal();
  j["drops"] = dropsJson(t);
}

// The kernel's drop count for a dataplane's socket (SO_MEMINFO: the counter
// SO_RXQ_OVFL reports), read now.
uint64_t overflow(int fd) { return fd >= 0 ? socketDrops(fd) : 0; }

}  // namespace

nlohmann::json dataplanesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const std::vector<DataplaneHealth>* health) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t d = 0; d < dataplanes.size(); ++d) {
    const DataplaneView& dp = dataplanes[d];
    CounterTotals t;
    uint64_t overflows = 0;
    for (size_t i = 0; i < config.interfaces.size(); ++i) {
      t.add(dp.counters->per_interface[i]);
      overflows += overflow(i < dp.fds.size() ? dp.fds[i] : -1);
    }
    nlohmann::json j;
    j["id"] = dp.id;
    j["cpu"] = dp.cpu;
    putTotals(j, t);
    j["rx_queue_overflow"] = overflows;
    j["loops"] = dp.counters->loops.get();
    j["cqes"] = dp.counters->cqes.get();
    j["ring_errors"] = dp.counters->ring_errors.get();
    const DataplaneHealth h = health != nullptr && d < health->size() ? (*health)[d] : DataplaneHealth{};
    j["stalled"] = h.stalled;
    j["stalls"] = h.stalls;
    j["steered_away"] = h.steered_away;
    j["resteers"] = h.resteers;
    j["rescued_by"] = h.rescued_by >= 0 ? nlohmann::json(h.rescued_by) : nlohmann::json(nullptr);
    list.push_back(std::move(j));
  }
  return list;
}

nlohmann::json statsJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                         const std::vector<DataplaneHealth>* health) {
  nlohmann::json out;
  out["dataplanes"] = dataplanesJson(config, dataplanes, health);
  nlohmann::json interfaces = nlohmann::json::array();
  CounterTotals all;
  uint64_t all_overflow = 0;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    CounterTotals t;
    uint64_t overflows = 0;
    for (const auto& dp : dataplanes) {
      t.add(dp.counters->per_interface[i]);
      overflows += overflow(i < dp.fds.size() ? dp.fds[i] : -1);
    }
    nlohmann::json j;
    j["name"] = config.interfaces[i].name;
    putTotals(j, t);
    j["rx_queue_overflow"] = overflows;
    interfaces.push_back(std::move(j));
    for (const auto& dp : dataplanes) all.add(dp.counters->per_interface[i]);
    all_overflow += overflows;
  }
  out["interfaces"] = std::move(interfaces);
  nlohmann::json totals;
  putTotals(totals, all);
  totals["rx_queue_overflow"] = all_overflow;
  out["totals"] = std::move(totals);
  return out;
}

nlohmann::json interfacesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const ForwardingState* state) {
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const auto& ic = config.interfaces[i];
    nlohmann::json j;
    j["name"] = ic.name;
    j["bind"] = ic.bind.toString();
    j["peer"] = ic.peer ? nlohmann::json(ic.peer->toString()) : nlohmann::json(nullptr);
    j["bfd"] = ic.bfd ? nlohmann::json(toString(ic.bfd->mode)) : nlohmann::json(nullptr);
    j["up"] = state != nullptr && i < state->up.size() && state->up[i] != 0;
    j["sockets"] = dataplanes.size();
    std::string relay_to;
    if (state != nullptr && i < state->relay_to.size() &&
        state->relay_to[i] != ForwardingState::kNoInterface)
      relay_to = config.interfaces[state->relay_to[i]].name;
    j["relay_to"] = relay_to.empty() ? nlohmann::json(nullptr) : nlohmann::json(relay_to);
    CounterTotals t;
    for (const auto& dp : dataplanes) t.add(dp.counters->per_interface[i]);
    j["rx_packets"] = t.rx_packets;
    j["tx_packets"] = t.tx_packets;
    j["dropped"] = t.droppedTotal();
    list.push_back(std::move(j));
  }
  return list;
}

nlohmann::json routeJson(const Config& config, const ForwardingState& state, uint32_t r) {
  const route::RouteTable& table = *state.routes;
  const route::NextHopGroup& group = table.group(r);
  const uint64_t active = group.activeMask(state.up_mask);
  nlohmann::json via = nlohmann::json::array();
  nlohmann::json in_use = nlohmann::json::array();
  const bool weighted = group.weighted();
  for (size_t i = 0; i < group.members().size(); ++i) {
    const uint32_t member = group.members()[i];
    const std::string& name = config.interfaces[member].name;
    const bool up = member < 64 && (state.up_mask >> member & 1);
    nlohmann::json v = {{"interface", name}, {"up", up}};
    if (weighted) v["weight"] = group.weight(i);
    via.push_back(std::move(v));
    if (member < 64 && (active >> member & 1)) in_use.push_back(name);
  }
  const uint64_t packets = state.route_counters ? state.route_counters->total(r) : 0;
  nlohmann::json j;
  j["prefix"] = table.prefix(r).toString();
  j["via"] = std::move(via);
  j["ecmp"] = group.mode() == route::GroupMode::kEcmp;
  // A drop route: "blackhole", "unreachable" or "prohibit" (its `via` is empty).
  j["drop"] = group.drops() ? nlohmann::json(std::string(route::toString(group.mode())))
                            : nlohmann::json(nullptr);
  j["active"] = std::move(in_use);
  j["packets"] = packets;
  j["source"] = r + state.fpm_routes >= table.size() && state.fpm_routes != 0 ? "fpm" : "config";
  return j;
}

nlohmann::json routesJson(const Config& config,
                          const ForwardingState* state) {
  nlohmann::json list = nlohmann::json::array();
  if (state == nullptr || !state->routes) return nlohmann::json{{"routes", list}};
  const route::RouteTable& table = *state->routes;
  const uint32_t listed = static_cast<uint32_t>(std::min<size_t>(table.size(), kRoutesListed));
  for (uint32_t r = 0; r < listed; ++r) list.push_back(routeJson(config, *state, r));
  return nlohmann::json{{"routes", list},
                        {"count", table.size()},
                        {"memory_bytes", table.memoryBytes()}};
}

}  // namespace ferry
