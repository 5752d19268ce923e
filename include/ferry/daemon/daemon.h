// Daemon: wires one validated Config into sockets, dataplane threads and the
// control thread, and takes them down again in order. `ferryd run` is a
// Daemon plus signal handling; tests and the benchmark can embed one.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ferry/bfd/takeover_state.h"
#include "ferry/config/config.h"
#include "ferry/control/control.h"
#include "ferry/daemon/announce.h"
#include "ferry/daemon/takeover.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/dataplane.h"
#include "ferry/dataplane/forwarding.h"
#include "ferry/dataplane/published.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens every socket, the control socket, starts the dataplanes (each
  // pinned to a CPU) and the control thread. On failure everything started
  // is stopped again and the failure names the cause.
  Status start() { return start(nullptr); }
  // Takeover (`--takeover`): the same, on the sockets `from` received from
  // the running daemon. Interfaces are matched by bind address: those it
  // handed over are used as they are (the same sockets in the same
  // reuseport order, one per dataplane), new ones are opened; the rest are
  // closed once it exits. A different dataplane count is refused. Dataplanes
  // start receiving only after the BFD sessions were taken over (`from`'s
  // Ready/BfdState), so the first forwarding snapshot already has their
  // liveness. The caller then sends Taken (from->finish()).
  Status start(TakeoverClient* from);
  // Stops the dataplanes (receives cancelled, in-flight sends completed),
  // joins them, then stops the control thread. Idempotent.
  void stop();
  // The same, but a dataplane thread that has not ended `limit` after the
  // stop was asked (stopped by a debugger, stuck in the kernel, spinning in
  // a bug) is left running: returned as "dataplane N (CPU c)", one entry
  // each, after the control thread was stopped. Those threads still use the
  // daemon's memory, so the caller must then end the process without
  // destructors (std::_Exit); stop() and the destructor would wait for them.
  std::vector<std::string> stopWithin(std::chrono::milliseconds limit);

  unsigned dataplaneCount() const noexcept { return count_; }
  // SIGHUP: the control thread reloads the config file (Control::reload).
  void requestReload() noexcept {
    if (control_) control_->requestReload();
  }
  // The same document as `ferryctl show stats --json`.
  nlohmann::json stats() const;
  const Config& config() const noexcept { return config_; }

  // Takeover, old side (HandoverServer): what to hand over and the
  // descriptors in Manifest order (still owned here); `handover_fd` is the
  // handover listening socket (-1: none).
  takeover::Manifest handoverManifest(std::vector<int>& fds, int handover_fd) const;
  takeover::BfdState freezeBfd() { return control_ ? control_->freezeBfd() : takeover::BfdState{}; }
  void thawBfd() {
    if (control_) control_->thawBfd();
  }
  // After the takeover: the control socket file is the new process's.
  void releaseControlSocket() noexcept {
    if (control_) control_->releaseControlSocket();
  }
  // New side, once the old process was told to go: the file is ours.
  void ownControlSocket() noexcept {
    if (control_) control_->ownControlSocket();
  }

  // For systemd (notify.h): the threads' liveness, the watchdog's stall
  // limit (tuning.watchdog_stall_ms), a one-line status, and a hook around
  // reloads (set before start()).
  Control::Health health() const noexcept { return control_ ? control_->health() : Control::Health{}; }
  uint64_t watchdogStallUs() const noexcept { return uint64_t(config_.tuning.watchdog_stall_ms) * 1000; }
  std::string statusLine() const;

  // Graceful stop, first step: every BFD peer is told Down with diagnostic 4
  // and the dataplanes go on forwarding (BfdController::beginDrain). Returns
  // the drain to wait before stop(): drain_ms if set, else twice the largest
  // detection time (0 without BFD sessions).
  uint64_t beginDrainUs();
  // Withdraws the BGP announcement for good: the TUN device is closed, so
  // the kernel deletes it with its addresses (a no-op without `announce:`).
  void withdrawAnnouncement();
  bool announcing() const { return announce_.active(); }
  void setReloadHook(std::function<void(bool done)> hook) { reload_hook_ = std::move(hook); }
  // Runs in start() once the control socket is open and before the switch
  // to `user:` and the first thread: what must still be done with the
  // privileges ferryd started with (the handover socket; main.cc).
  void setBeforeThreads(std::function<Status()> hook) { before_threads_ = std::move(hook); }

 private:
  std::vector<DataplaneView> views() const;
  void askDataplanesToStop();
  void stopControl();

  Config config_;
  Announcement announce_;
  unsigned count_ = 0;
  std::vector<int> cpus_;
  uint32_t hash_seed_ = 0;  // route mode's ECMP seed (never changes after start)
  std::vector<std::vector<Fd>> sockets_;  // [dataplane][interface]
  std::vector<std::unique_ptr<DataplaneCounters>> counters_;
  std::unique_ptr<Published<ForwardingState>> forwarding_;
  std::unique_ptr<BfdHandoff> bfd_;
  std::unique_ptr<Rescue> rescue_;  // outlives the dataplanes and the watch thread
  std::vector<std::unique_ptr<Dataplane>> dataplanes_;
  std::vector<std::thread> threads_;
  // One per thread in threads_: ready once that thread has left the
  // dataplane (its last step), so a stop can wait for it with a limit.
  std::vector<std::shared_future<void>> ended_;
  std::unique_ptr<Control> control_;
  std::thread control_thread_;
  std::function<void(bool)> reload_hook_;
  std::function<Status()> before_threads_;
  // Dataplanes wait on this after setup: true = run, false = give up.
  std::promise<bool> go_;
  bool go_set_ = false;
};

// The CPUs this process may run on (sched_getaffinity), in order.
std::vector<int> allowedCpus();

}  // namespace ferry
