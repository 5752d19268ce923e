// The daemon's configuration: YAML text → a validated Config, or a list of
// errors each naming FILE:LINE:COLUMN and what was expected. Pure apart from
// files: parsing opens no socket and reads no clock; `loadConfigFile` reads
// the config file, and a `routes_file:` is read while parsing.
//
// Keys (see README "Config reference" for the full description):
//   dataplanes: auto | N            steering: kernel | inner-flow | cpu
//   mode: relay | route             control_socket: PATH
//   user: NAME   group: NAME        (the account to switch to, privileges.h)
//   interfaces: [{name, bind, peer, bfd}]
//     bfd: {interval_ms, detect_mult, mode: inband | rfc5881, admin_down,
//           hold_up_ms, auth: {type, key_id, secret, accept: [{key_id, secret}..]},
//           depends_on: [NAME..]}
//   announce: {device, addresses}   drain_ms: N   (scaling out behind BGP ECMP)
//   relay: [{from, to}]             (relay mode)
//   routes: [{prefix, via: [..], ecmp}]   (route mode)
//   routes_file: PATH               (route mode: a large table, route_set.h)
//   icmp: {source_v4, source_v6, rate, burst}
//   metrics: {listen}
//   fpm: {listen, batch_ms, resync_ms}   (route mode: routes from FRR zebra, fpm/route_store.h)
//   tuning: {max_datagram, buffers, ring_entries, socket_buffer, bfd_queue, ecmp_seed,
//            gso, gro, gro_buffers, watchdog_stall_ms}
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/bfd/packet.h"
#include "ferry/net/address.h"
#include "ferry/route/route_set.h"
#include "ferry/route/route_table.h"

namespace ferry {

enum class Mode : uint8_t { kRelay, kRoute };
enum class Steering : uint8_t { kKernel, kInnerFlow, kCpu };
enum class BfdMode : uint8_t { kInBand, kRfc5881 };

const char* toString(Mode mode) noexcept;
const char* toString(Steering steering) noexcept;
const char* toString(BfdMode mode) noexcept;

// Where a config item was written, for messages about it after parsing
// (1-based; 0 when the item was not written in a file).
struct SourcePos {
  int line = 0;
  int column = 0;
};

// Longest bfd.hold_up_ms: one hour.
inline constexpr uint32_t kMaxHoldUpMs = 3'600'000;

// bfd.auth: both ends need the same type, and each end must accept the key
// the other sends (key_id and secret, or one of `accept`).
struct BfdAuth {
  bfd::AuthType type = bfd::AuthType::kNone;  // the RFC 5880 §4.1 values
  uint8_t key_id = 0;
  std::string secret;  // password or key: 1..16 bytes (simple, MD5), 1..20 (SHA1)
  // Key rollover: keys accepted besides the one sent (≤ bfd::kMaxAcceptKeys,
  // distinct key ids other than key_id). A reload may change the keys.
  std::vector<bfd::AuthKey> accept;
  friend bool operator==(const BfdAuth&, const BfdAuth&) = default;
};

struct BfdConfig {
  uint32_t interval_ms = 300;  // DesiredMinTx and RequiredMinRx, milliseconds
  uint8_t detect_mult = 3;
  BfdMode mode = BfdMode::kInBand;
  bool admin_down = false;
  // Up hold-down: after the session comes up, the link carries traffic only
  // once the session has stayed up this long (flap damping). 0 = at once.
  uint32_t hold_up_ms = 0;
  BfdAuth auth;
  // Health gating: the interfaces this one's traffic leaves through. While
  // every one of them is down (BFD), this session is held Down with
  // diagnostic 6, Concatenated Path Down, so the peer stops sending here.
  // Names as written; depends_on_index: their indices. Each must have BFD
  // and no depends_on of its own; empty = no gating.
  std::vector<std::string> depends_on;
  std::vector<uint16_t> depends_on_index;
  friend bool operator==(const BfdConfig&, const BfdConfig&) = default;
};

struct InterfaceConfig {
  std::string name;
  SockAddr bind;                  // local address:port, shared by every dataplane
  std::optional<SockAddr> peer;   // the neighbour; datagrams from elsewhere are dropped
  std::optional<BfdConfig> bfd;   // liveness detection, absent = always up
  SourcePos pos;
};

// A datagram received on interface `from` leaves through `to`'s socket to
// `to`'s peer. Indices into Config::interfaces.
struct RelayRule {
  uint16_t from = 0;
  uint16_t to = 0;
  SourcePos pos;
};

// route mode: one `routes:` entry. The route module (route::RouteTable)
// validates prefixes and next-hop groups; the positions locate its findings.
struct RouteConfig {
  std::string prefix;              // as written, "10.2.0.0/16"
  std::vector<std::string> via_names;
  std::vector<uint16_t> via;       // interface indices, in failover order
  bool ecmp = false;
  std::string drop;  // "blackhole", "unreachable" or "prohibit": a drop route (no via)
  std::vector<uint32_t> weights;  // ECMP: per via entry; empty: equal shares
  SourcePos pos;
  SourcePos prefix_pos;
  std::vector<SourcePos> via_pos;
  SourcePos ecmp_pos;
  SourcePos drop_pos;
  SourcePos weights_pos;
  std::vector<SourcePos> weight_pos;
  // What the route module builds and checks (route_table.h).
  route::RouteSpec spec() const { return {prefix, via_names, ecmp, drop, weights}; }
};

struct IcmpConfig {
  std::string source_v4;  // empty = no ICMPv4 errors
  std::string source_v6;  // empty = no ICMPv6 errors
  uint32_t rate = 100;    // errors per second per dataplane
  uint32_t burst = 50;
};

// Receive/transmit resources per dataplane.
struct Tuning {
  uint32_t max_datagram = 2048;      // largest UDP payload accepted; larger = dropped (truncated)
  uint32_t buffers = 4096;           // provided buffers per dataplane (power of two, ≤ 32768)
  uint32_t ring_entries = 1024;      // io_uring submission queue entries (power of two)
  // SO_RCVBUF/SO_SNDBUF bytes per socket. 16 MiB: at 4 MiB the ingress queue
  // overflowed in the dataplane's scheduling gaps long before its CPU was
  // full (bench/RESULTS.md, "The ingress socket's queue").
  uint32_t socket_buffer = 16 << 20;
  uint32_t bfd_queue = 1024;         // BFD hand-off queue per dataplane (power of two)
  // UDP GSO on send: datagrams of one loop turn for the same egress leave as
  // one sendmsg with UDP_SEGMENT, gathered from their buffers (no copy).
  bool gso = true;
  // UDP GRO on receive (UDP_GRO on every interface socket): the kernel hands
  // over a run of one 4-tuple's datagrams as one buffer plus a segment size
  // ("a train"). Off with steering: inner-flow (see README). When on, each
  // dataplane's buffers are gro_buffers buffers of 64 KiB (+128 B headroom),
  // big enough for any train; `buffers` applies when it is off.
  bool gro = true;
  uint32_t gro_buffers = 256;  // power of two, 16..512; 64 KiB + 128 B each (16.8 MB at 256)
  // route mode: seed of the ECMP flow hash; unset = random at each start.
  // Fixing it keeps every flow on the same next hop across restarts.
  std::optional<uint32_t> ecmp_seed;
  // Under systemd with WatchdogSec=: a dataplane stalled longer than this
  // stops the watchdog pings, so systemd restarts the daemon (notify.h).
  uint32_t watchdog_stall_ms = 10'000;
  friend bool operator==(const Tuning&, const Tuning&) = default;
};

// route mode: ferry as the FPM server of FRR zebra's dplane_fpm_nl module
// (`fpm address A port P` in zebra); the routes it streams join the config's.
struct FpmConfig {
  SockAddr listen;            // TCP address:port to accept zebra's connection on
  uint32_t batch_ms = 100;    // at most one new forwarding snapshot per this many ms
  // After zebra reconnects: routes it has not re-sent within this time (and
  // once the stream has been quiet for a second) are swept (stale).
  uint32_t resync_ms = 30000;
  friend bool operator==(const FpmConfig&, const FpmConfig&) = default;
};

// The service addresses a host announces with BGP (README "Scaling out"):
// ferryd creates a non-persistent TUN device `device` carrying `addresses`
// (each /32 or /128) for as long as it forwards. The kernel deletes the
// device, and with it the addresses and their connected routes, when the
// last descriptor of it closes: at exit, and after a crash or kill -9 too.
// The host's FRR announces the addresses while they exist (`network X/32`
// with import-check), so the announcement cannot outlive ferryd.
struct AnnounceConfig {
  std::string device = "ferry-svc";
  std::vector<std::string> addresses;  // "10.200.0.1/32", "2001:db8::1/128"
  friend bool operator==(const AnnounceConfig&, const AnnounceConfig&) = default;
};

// Longest drain_ms: ten minutes.
inline constexpr uint32_t kMaxDrainMs = 600'000;

struct Config;
// Whether the dataplanes receive with UDP GRO: tuning.gro, except with
// steering: inner-flow (which GRO would defeat).
bool groInUse(const Config& config) noexcept;

struct Config {
  std::string file;           // where it came from (for messages)
  uint32_t dataplanes = 0;    // 0 = auto (online CPUs)
  Steering steering = Steering::kKernel;
  Mode mode = Mode::kRelay;
  std::vector<InterfaceConfig> interfaces;
  std::vector<RelayRule> relay;
  std::vector<RouteConfig> routes;
  // route mode: `routes_file:` (resolved against the config file's
  // directory) and its routes, read and checked when the config is. Shared:
  // copies of the config and the forwarding table hold one RouteSet.
  std::string routes_file;
  std::shared_ptr<const route::RouteSet> file_routes;
  std::optional<IcmpConfig> icmp;
  std::optional<SockAddr> metrics_listen;
  std::optional<FpmConfig> fpm;
  std::string control_socket = "/run/ferry/ferry.sock";
  Tuning tuning;
  // The account ferryd switches to once its sockets are open (privileges.h);
  // unset: it keeps the one it was started as.
  std::optional<std::string> user;
  std::optional<std::string> group;
  std::optional<AnnounceConfig> announce;
  // Graceful stop (SIGTERM, SIGINT): how long ferryd keeps forwarding after
  // telling every BFD peer Down with diagnostic 4 (Forwarding Plane Reset).
  // Unset: twice the largest detection time of its sessions (0 without BFD).
  std::optional<uint32_t> drain_ms;

  // Index of the interface called `name`, or -1.
  int interfaceIndex(std::string_view name) const noexcept;
  // The number of dataplanes to start: `dataplanes`, or `online_cpus` for auto.
  uint32_t dataplaneCount(uint32_t online_cpus) const noexcept {
    return dataplanes != 0 ? dataplanes : online_cpus;
  }
  // Routes in `routes` and in the routes file.
  size_t routeCount() const noexcept {
    return routes.size() + (file_routes ? file_routes->size() : 0);
  }
  // One line for `ferryd check-config`: "2 interfaces, relay mode, 2 relay rules, ...".
  std::string summary() const;
};

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when the error is about the whole file
  int column = 0;  // 1-based
  std::string message;
  // "FILE:LINE:COLUMN: message" (or "FILE: message" without a position).
  std::string format() const;
};

struct ConfigResult {
  std::optional<Config> config;     // set only when errors is empty
  std::vector<ConfigError> errors;  // every error found, in file order
};

// Why `next` cannot replace the running config `running` without a restart,
// or "" when it can. A reload may change `relay`, `routes`, `routes_file`,
// `icmp` (except its rate and burst) and the keys of `bfd.auth` (key_id,
// secret, accept; not the type); everything else (interfaces and the rest
// of their BFD, dataplanes, steering, mode, control socket, user and group,
// metrics, fpm, tuning, announce, drain_ms) must stay as it is.
std::string reloadBlocker(const Config& running, const Config& next);

// Parses and validates YAML text; `file` names it in errors.
ConfigResult parseConfig(std::string_view yaml, std::string_view file);
// Interface names: 1 to kMaxInterfaceName of A-Z a-z 0-9 '.' '_' '-'.
inline constexpr size_t kMaxInterfaceName = 32;

// The largest config file loadConfigFile reads (64 MiB).
inline constexpr uint64_t kMaxConfigBytes = uint64_t(64) << 20;
// The largest routes file (1 GiB: ~25 M routes).
inline constexpr uint64_t kMaxRoutesFileBytes = uint64_t(1) << 30;

// Reads `path` and parses it; a file that cannot be read (missing, not a
// regular file, larger than kMaxConfigBytes) is one error. Never blocks on
// a FIFO and never throws.
ConfigResult loadConfigFile(const std::string& path);

}  // namespace ferry
