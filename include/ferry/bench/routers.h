// The implementations under test, started for one dataplane count in the
// router namespace (or on loopback) and stopped again:
//
//   ferry   ferryd run with a generated relay config (`dataplanes: N`)
//   ferry-nogro  the same with `tuning.gro: false`
//   mmsg    the reference recvmmsg/sendmmsg relay (src/bench/mmsg_relay.cc),
//           N pinned threads on SO_REUSEPORT sockets
//   nginx   nginx's stream UDP proxy, N workers, `listen … udp reuseport`,
//           private prefix, config, pid and error log
//   kernel  no process: the router namespace forwards by IP routing
//           (ip_forward=1); in the split CPU layout the forwarding runs on
//           the first N CPUs (RPS on the ingress veth, as for every router),
//           in the shared layout on whichever CPU sent the datagram
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "ferry/bench/options.h"
#include "ferry/bench/topology.h"
#include "ferry/net/address.h"

namespace ferry::bench {

struct RouterSetup {
  BenchTopology* topology = nullptr;
  std::string work_dir;  // per-invocation private directory
  std::string self_exe;  // this ferryd, for `run` and the mmsg peer
  Mode mode = Mode::kRelay;
  uint32_t max_datagram = 2048;  // ferry's and mmsg's largest datagram
  std::vector<int> cpus;         // allowed CPUs, in pinning order
};

class RouterUnderTest {
 public:
  virtual ~RouterUnderTest() = default;
  // Where the generator sends.
  virtual SockAddr target() const = 0;
  // The router's root process (its tree is what CPU accounting and perf
  // see); -1 when the kernel forwards.
  virtual pid_t pid() const = 0;
  // "" while it runs; otherwise why it stopped, with its output.
  virtual std::string health() = 0;
  // Stops it (and everything it started). Idempotent.
  virtual void stop() = 0;
};

// nullptr with `error` set when `impl` cannot start.
std::unique_ptr<RouterUnderTest> startRouter(const std::string& impl, unsigned dataplanes,
                                             const RouterSetup& setup, std::string* error);

// Debian's stream module for nginx (libnginx-mod-stream).
inline constexpr const char* kNginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so";

}  // namespace ferry::bench
