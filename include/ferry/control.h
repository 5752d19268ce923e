// Control: exactly one per daemon, on its own thread. It owns the control
// socket (ferryctl), the BFD sessions and the forwarding snapshots, and reads
// the dataplanes' counters for stats. It never touches a dataplane's ring.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <vector>

#include "ferry/bfd_controller.h"
#include "ferry/bfd_handoff.h"
#include "ferry/config.h"
#include "ferry/counters.h"
#include "ferry/ctl_server.h"
#include "ferry/forwarding.h"
#include "ferry/published.h"
#include "ferry/socket.h"

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
nlohmann::json statsJson(const Config& config, const std::vector<DataplaneView>& dataplanes);
nlohmann::json dataplanesJson(const Config& config, const std::vector<DataplaneView>& dataplanes);
nlohmann::json interfacesJson(const Config& config, const std::vector<DataplaneView>& dataplanes,
                              const ForwardingState* state);
nlohmann::json routesJson(const Config& config,
                          const ForwardingState* state);

class Control {
 public:
  Control(const Config& config, std::vector<DataplaneView> dataplanes,
          Published<ForwardingState>& forwarding, BfdHandoff* bfd);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Opens the control socket and the BFD sockets, and publishes the first
  // liveness (interfaces with BFD start down). Runs on the main thread before
  // any dataplane starts, so a bad path fails startup cleanly. "" or an error.
  std::string setup();
  // The control loop; returns after stop().
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
  void publishLiveness();
  bfd::Micros serviceBfd();

  Config config_;  // the running config (a reload replaces relay, routes, icmp)
  std::vector<DataplaneView> dataplanes_;
  Published<ForwardingState>& forwarding_;
  BfdHandoff* bfd_;
  std::unique_ptr<BfdController> sessions_;  // null when no interface has BFD
  uint64_t published_liveness_ = 0;
  CtlServer ctl_;
  CtlServer metrics_;  // listening only with metrics.listen in the config
  bool metrics_on_ = false;
  Fd stop_fd_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> reload_requested_{false};
};

}  // namespace ferry
