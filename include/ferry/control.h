// Control: exactly one per daemon. It owns the control socket (ferryctl), the
// metrics endpoint, reloads, the BFD sessions and the forwarding snapshots,
// and reads the dataplanes' counters for stats. It never touches a
// dataplane's ring. Two threads:
//   - the BFD thread (SCHED_FIFO when allowed): BFD packets, timers and
//     liveness snapshots, nothing else, so no request can delay a BFD timer;
//   - the control thread (run()): ferryctl and metrics requests and reloads,
//     which may take seconds with a large route table.
// They share the BFD sessions under bfd_mu_ (held for microseconds on the
// BFD side) and serialise publishing under publish_mu_; the control thread
// reads snapshots through its own reader slot of Published, so a liveness
// change published meanwhile never frees a snapshot it is rendering.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "ferry/bfd_controller.h"
#include "ferry/bfd_handoff.h"
#include "ferry/config.h"
#include "ferry/counters.h"
#include "ferry/ctl_server.h"
#include "ferry/forwarding.h"
#include "ferry/fpm_server.h"
#include "ferry/published.h"
#include "ferry/socket.h"
#include "ferry/stall_watch.h"

namespace ferry {

// What the control thread may see of one dataplane.
struct DataplaneView {
  unsigned id = 0;
  int cpu = -1;
  const DataplaneCounters* counters = nullptr;
  std::vector<int> fds;  // per interface: the dataplane's socket
};

// Stats documents (also used for the final counters at exit). Pure functions
// of their arguments; the key sets are documented in the README.
// `stalls`: the control thread's stall watch (null: reported as not stalled).
nlohmann::json statsJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                         const StallWatch* stalls = nullptr);
nlohmann::json dataplanesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const StallWatch* stalls = nullptr);
nlohmann::json interfacesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const ForwardingState* state);
// The first kRoutesListed routes in table order (a full table has a
// million; show routes and the metrics list no more), and "count": all.
inline constexpr size_t kRoutesListed = 1000;
nlohmann::json routesJson(const Config& config,
                          const ForwardingState* state);
// One route of state.routes (index `route`): prefix, via, ecmp, active,
// packets, source ("config" or "fpm").
nlohmann::json routeJson(const Config& config, const ForwardingState& state, uint32_t route);

class Control {
 public:
  // A dataplane that makes no loop turn while datagrams wait on its sockets
  // for this long is reported stalled (StallWatch).
  static constexpr uint64_t kStallAfterUs = 2'000'000;

  // `forwarding` must have a reader slot more than there are dataplanes: the
  // last one (index dataplanes.size()) is the control thread's.
  Control(const Config& config, std::vector<DataplaneView> dataplanes,
          Published<ForwardingState>& forwarding, BfdHandoff* bfd);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Opens the control socket and the BFD sockets, and publishes the first
  // liveness (interfaces with BFD start down). Runs on the main thread before
  // any dataplane starts, so a bad path fails startup cleanly. "" or an error.
  std::string setup();
  // The control loop; starts the BFD thread (if any interface has BFD) and
  // returns after stop(), once that thread has ended too.
  void run() noexcept;
  void stop() noexcept;

  // One ctl request ("show stats") → one JSON reply.
  std::string handleRequest(const std::string& request);
  // The metrics endpoint's reply to one HTTP request line.
  std::string handleMetrics(const std::string& request_line);

  // Asks the control thread to reload the config file (SIGHUP); any thread.
  void requestReload() noexcept;
  // Re-reads the config file and applies its relay, routes and icmp with a
  // new forwarding snapshot. On any error the running config stays in force
  // and the error (FILE:LINE:COLUMN, or what needs a restart) is returned.
  // Control thread only. "" on success.
  std::string reload();

 private:
  // Publishes a forwarding snapshot with the BFD liveness, if it changed.
  // Caller holds bfd_mu_.
  void publishLiveness();
  // The BFD thread's loop.
  void runBfd() noexcept;
  void wakeBfd() noexcept;
  // Samples every dataplane for the stall watch and logs changes.
  void watchDataplanes();
  // The FPM thread's batch: the config's routes and `routes` → a new table,
  // published with the current liveness (see fpm_server.h).
  FpmServer::BatchResult publishFpmRoutes(const fpm::ResolvedRoutes& routes);
  // show routes: the table's routes plus counts per source and the FPM session.
  nlohmann::json routesView(const ForwardingState* state) const;

  Config config_;  // the running config (a reload replaces relay, routes, icmp)
  std::vector<DataplaneView> dataplanes_;
  Published<ForwardingState>& forwarding_;
  BfdHandoff* bfd_;
  std::unique_ptr<BfdController::ReceivePath> receive_path_;  // what sessions_ sees of the dataplanes
  std::unique_ptr<BfdController> sessions_;  // null when no interface has BFD; under bfd_mu_
  uint64_t published_liveness_ = 0;          // under bfd_mu_
  std::mutex bfd_mu_;      // sessions_ (lock order: bfd_mu_, then publish_mu_)
  std::mutex publish_mu_;  // read current() → publish, by either thread
  unsigned reader_;        // the control thread's slot in forwarding_
  Fd bfd_wake_fd_;         // wakes the BFD thread (stop, set bfd)
  StallWatch stalls_;      // control thread only
  CtlServer ctl_;
  CtlServer metrics_;  // listening only with metrics.listen in the config
  bool metrics_on_ = false;
  Fd stop_fd_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reload_requested_{false};
  // route mode with `fpm:`: the FPM server (its own thread). Tables are
  // rebuilt by the FPM thread (a batch) and the control thread (reload):
  // routes_mu_ orders them (lock order: routes_mu_, then publish_mu_), and
  // config_table_ is the config's own routes, which each merge starts from.
  std::unique_ptr<FpmServer> fpm_;
  std::mutex routes_mu_;
  std::shared_ptr<const route::RouteTable> config_table_;  // under routes_mu_
};

}  // namespace ferry
