// ForwardingState: the immutable snapshot every dataplane forwards by. The
// control module builds a new one off the hot path when config or liveness
// changes and publishes it (Published<ForwardingState>); dataplanes read it
// with one atomic load per batch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/dataplane/counters.h"
#include "ferry/route/ip.h"
#include "ferry/route/route_table.h"

namespace ferry {

struct ForwardingState {
  static constexpr uint16_t kNoInterface = 0xffff;

  Mode mode = Mode::kRelay;
  uint64_t version = 0;            // increments with every publish, for logs and tests
  uint32_t hash_seed = 0;          // route mode's ECMP seed (kept across reloads)
  std::vector<uint16_t> relay_to;  // relay mode: egress per ingress interface, or kNoInterface
  std::vector<uint8_t> up;         // per interface: 1 when usable (no BFD, or BFD says usable)
  uint64_t up_mask = 0;            // the same as a bit mask (route mode: interfaces 0..63)

  // route mode: the table (shared between snapshots: a liveness change only
  // changes `up`) and ICMP error sources (unset: no ICMP for that family).
  std::shared_ptr<const route::RouteTable> routes;
  std::shared_ptr<RouteCounters> route_counters;  // written by dataplanes (atomics)
  // The last `fpm_routes` routes of `routes` came from FRR zebra over FPM
  // (fpm_server.h); the ones before them from the config.
  size_t fpm_routes = 0;
  std::optional<route::IpAddress> icmp_source_v4;
  std::optional<route::IpAddress> icmp_source_v6;

  // The state for `config` with every interface up, for `dataplanes`
  // dataplanes. Route mode builds the table with `hash_seed` (ECMP); throws
  // std::runtime_error if the routes are invalid (a validated Config never is).
  static ForwardingState fromConfig(const Config& config, unsigned dataplanes,
                                    uint32_t hash_seed = 0);
  // Sets `up` and `up_mask` together.
  void setLiveness(const std::vector<uint8_t>& liveness);
};

}  // namespace ferry
