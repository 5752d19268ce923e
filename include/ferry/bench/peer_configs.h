// Config files for the routers under test, generated per run. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/bench/options.h"
#include "ferry/net/address.h"

namespace ferry::bench {

// The relay path every userspace router under test implements: datagrams
// arriving at `ingress` leave from `egress` (a bound source address) to `sink`.
struct RelayPath {
  SockAddr ingress;
  SockAddr egress;
  SockAddr sink;
};

// Where route mode sends the generator's inner packets (ferry-gen's default
// inner destinations, RFC 2544's 198.18.0.0/15 benchmarking range).
inline constexpr const char* kInnerDestinations = "198.19.0.0/16";

// ferryd's config: interface "in" on the ingress (no peer: any source),
// interface "out" bound to the egress with the sink as its peer; relay mode
// relays in → out, route mode routes kInnerDestinations via out.
// `gro` is tuning.gro (false for the ferry-nogro implementation).
std::string ferryConfig(const RelayPath& path, Mode mode, unsigned dataplanes,
                        uint32_t max_datagram, const std::string& control_socket,
                        bool gro = true);

// ferryd's tuning.max_datagram for these sizes: at least its default (2048),
// else the largest size rounded up to 1 KiB.
uint32_t ferryMaxDatagram(const std::vector<uint32_t>& sizes);

// nginx's stream UDP proxy with `workers` worker processes pinned like ferry's
// dataplanes (worker i on cpus[i % cpus.size()]), `listen … udp reuseport`,
// and every path (pid, error log, temp dirs) under `prefix`.
std::string nginxConfig(const RelayPath& path, unsigned workers, const std::vector<int>& cpus,
                        const std::string& prefix, const std::string& stream_module);

}  // namespace ferry::bench
