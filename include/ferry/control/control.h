// Control: exactly one per daemon. It owns the control socket (ferryctl), the
// metrics endpoint, reloads, the BFD sessions and the forwarding snapshots,
// and reads the dataplanes' counters for stats. It never touches a
// dataplane's ring. Three threads:
//   - the BFD thread (SCHED_FIFO when allowed): BFD packets, timers and
//     liveness snapshots, nothing else, so no request can delay a BFD timer;
//   - the watch thread (DataplaneWatch, SCHED_FIFO when allowed): stalled
//     dataplanes and re-steering their share of traffic;
//   - the control thread (run()): ferryctl and metrics requests and reloads,
//     which may take seconds with a large route table.
// They share the BFD sessions under bfd_mu_ (held for microseconds on the
// BFD side) and serialise publishing under publish_mu_; the control thread
// reads snapshots through its own reader slot of Published, so a liveness
// change published meanwhile never frees a snapshot it is rendering.
#pragma once

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/control/bfd_controller.h"
#include "ferry/control/ctl_server.h"
#include "ferry/control/dataplane_watch.h"
#include "ferry/control/fpm_server.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/forwarding.h"
#include "ferry/dataplane/published.h"
#include "ferry/fpm/table_merger.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

// Stats documents (also used for the final counters at exit). Pure functions
// of their arguments; the key sets are documented in the README.
// `health`: the dataplane watch's view, per dataplane (null: reported as
// healthy and never moved).
nlohmann::json statsJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                         const std::vector<DataplaneHealth>* health = nullptr);
nlohmann::json dataplanesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const std::vector<DataplaneHealth>* health = nullptr);
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
  // `forwarding` must have a reader slot more than there are dataplanes: the
  // last one (index dataplanes.size()) is the control thread's. `rescue`
  // (null: off) lets the watch thread have a healthy dataplane receive on a
  // stalled one's sockets.
  Control(const Config& config, std::vector<DataplaneView> dataplanes,
          Published<ForwardingState>& forwarding, BfdHandoff* bfd, Rescue* rescue);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Opens the control socket and the BFD sockets, and publishes the first
  // liveness (interfaces with BFD start down). Runs on the main thread before
  // any dataplane starts, so a bad path fails startup cleanly.
  Status setup();

  // Takeover, new process side. Before setup(): serve on the old process's
  // listening sockets (`control`, `metrics`: invalid Fd = open afresh) and
  // its RFC 5881 BFD sockets, and keep every BFD session silent until
  // restoreBfd() gave it the old process's state. Then restoreBfd() (before
  // run()) takes the sessions over and publishes their liveness.
  void adopt(Fd control, Fd metrics, std::vector<std::pair<std::string, Fd>> bfd_rx,
             std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> bfd_tx);
  size_t restoreBfd(const takeover::BfdState& state);
  // Once the takeover is complete: the control socket file is ours to remove.
  void ownControlSocket() noexcept { ctl_.ownPath(true); }

  // Takeover, old process side. freezeBfd() stops every BFD session where it
  // is (nothing sent, nothing received or timed out from then on; the RFC
  // 5881 sockets are left unread for the new process) and returns its
  // state; thawBfd() resumes them when the takeover failed. After a
  // successful one, releaseControlSocket() leaves the socket file alone at exit.
  takeover::BfdState freezeBfd();
  void thawBfd();
  void releaseControlSocket() noexcept { ctl_.ownPath(false); }
  // Listening sockets and BFD sockets to hand over (-1 / empty if none).
  int controlListenFd() const noexcept { return ctl_.listenFd(); }
  int metricsListenFd() const noexcept { return metrics_on_ ? metrics_.listenFd() : -1; }
  std::vector<std::pair<std::string, int>> bfdReceiveSockets() const;
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> bfdTransmitSockets() const;
  // The control loop; starts the BFD thread (if any interface has BFD) and
  // returns after stop(), once that thread has ended too.
  void run() noexcept;
  void stop() noexcept;

  // Graceful stop: BfdController::beginDrain() on every session, at once;
  // returns its largest detection time (µs; 0 without BFD sessions).
  uint64_t beginDrain();
  // Called on the BFD thread whenever BfdController::canForward() changes
  // (health gating); the daemon adds or removes its announced addresses.
  // Set before run().
  // `announced`: whether the addresses are on now.
  void setForwardingHook(bool announced, std::function<void(bool can_forward)> hook) {
    can_forward_ = announced;
    forwarding_hook_ = std::move(hook);
  }

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

  // Called on the control thread just before a reload starts (done = false)
  // and once it has ended, applied or not (done = true): systemd's
  // RELOADING=1 / READY=1 (notify.h). Set before run().
  void setReloadHook(std::function<void(bool done)> hook) { reload_hook_ = std::move(hook); }

  // Liveness of the daemon's own threads, for the service watchdog: when the
  // control and BFD threads last made a loop turn (each turns at least once
  // a second), and since when the longest current dataplane stall lasts.
  // Monotonic microseconds; any thread.
  struct Health {
    uint64_t control_turn_us = 0;
    uint64_t bfd_turn_us = 0;    // 0: there is no BFD thread
    uint64_t stalled_since_us = 0;  // 0: no dataplane is stalled
    uint32_t interfaces_up = 0;     // usable for forwarding (BFD up, or no BFD)
  };
  Health health() const noexcept;

 private:
  std::string reloadFile();
  // Publishes a forwarding snapshot with the BFD liveness, if it changed.
  // Caller holds bfd_mu_.
  void publishLiveness();
  // The BFD thread's loop.
  void runBfd() noexcept;
  void wakeBfd() noexcept;
  // The FPM thread's batch: the config's routes and `routes` → a new table,
  // published with the current liveness (see fpm_server.h).
  FpmServer::BatchResult publishFpmRoutes(const fpm::ResolvedRoutes& routes);
  // Per-route packet counts carry over to `next`'s table for every prefix it
  // keeps (RouteCounters::carryOver). Called by whoever replaces the route
  // table (a reload; an FPM batch, under routes_mu_), before the publish.
  void carryRouteCounters(const std::shared_ptr<const route::RouteTable>& table,
                          const std::shared_ptr<RouteCounters>& counters);
  // show routes: the table's routes plus counts per source and the FPM session.
  nlohmann::json routesView(const ForwardingState* state) const;

  Config config_;  // the running config (a reload replaces relay, routes, icmp, BFD keys)
  std::vector<DataplaneView> dataplanes_;
  Published<ForwardingState>& forwarding_;
  BfdHandoff* bfd_handoff_;
  std::unique_ptr<BfdController::ReceivePath> receive_path_;  // what bfd_controller_ sees of the dataplanes
  std::unique_ptr<BfdController> bfd_controller_;  // null when no interface has BFD; under bfd_mu_
  uint64_t published_liveness_ = 0;          // under bfd_mu_
  std::vector<std::string>
      reload_rekeyed_;     // control thread: interfaces with new BFD keys at the last reload
  std::mutex bfd_mu_;      // bfd_controller_ (lock order: bfd_mu_, then publish_mu_)
  std::mutex publish_mu_;  // read current() → publish, by either thread
  unsigned reader_;        // the control thread's slot in forwarding_
  Fd bfd_wake_fd_;         // wakes the BFD thread (stop, set bfd)
  DataplaneWatch watch_;   // its own thread (run() starts it): stalls and re-steering
  CtlServer ctl_;
  CtlServer metrics_;  // listening only with metrics.listen in the config
  bool metrics_on_ = false;
  Fd wake_fd_;             // wakes the control loop (a stop, a reload)
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reload_requested_{false};
  std::function<void(bool)> reload_hook_;
  std::function<void(bool)> forwarding_hook_;
  bool can_forward_ = true;  // BFD thread: the last value given to forwarding_hook_
  std::atomic<uint64_t> control_turn_us_{0};
  std::atomic<uint64_t> bfd_turn_us_{0};
  std::atomic<uint32_t> interfaces_up_{0};
  bool adopting_ = false;                   // setup() leaves the BFD sessions silent
  std::atomic<bool> bfd_frozen_{false};     // freezeBfd() until thawBfd()
  // route mode with `fpm:`: the FPM server (its own thread). Tables are
  // rebuilt by the FPM thread (a batch) and the control thread (reload):
  // routes_mu_ orders them (lock order: routes_mu_, then publish_mu_), and
  // config_table_ is the config's own routes, which each merge starts from.
  std::unique_ptr<FpmServer> fpm_;
  std::mutex routes_mu_;
  std::shared_ptr<const route::RouteTable> config_table_;  // under routes_mu_
  fpm::TableMerger table_merger_;                          // under routes_mu_
};

}  // namespace ferry
