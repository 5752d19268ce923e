// systemd's service notification protocol (sd_notify(3), libsystemd): READY=1
// once every dataplane runs, RELOADING=1 / READY=1 around a reload,
// STOPPING=1 on shutdown, a STATUS= line, and WATCHDOG=1 only while the
// daemon is healthy (watchdogHealthy). Started without NOTIFY_SOCKET (not by
// systemd) every call does nothing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "ferry/control/control.h"

namespace ferry {

// When the watchdog may be petted: the control and BFD threads each made a
// loop turn within `turn_us` (both turn at least once a second), and no
// dataplane has been stalled for longer than `stall_us` (a shorter stall is
// what re-steering covers; a longer one is a wedged daemon to restart).
struct WatchdogLimits {
  uint64_t turn_us = 3'000'000;
  uint64_t stall_us = 10'000'000;
};
bool watchdogHealthy(const Control::Health& health, uint64_t now_us, const WatchdogLimits& limits) noexcept;

class ServiceNotifier {
 public:
  ServiceNotifier();  // reads NOTIFY_SOCKET and WATCHDOG_USEC (sd_watchdog_enabled)

  bool enabled() const noexcept { return enabled_; }
  // The watchdog period systemd asked for (WatchdogSec=), if any.
  std::optional<uint64_t> watchdogUs() const noexcept { return watchdog_us_; }

  void ready(const std::string& status) const;
  void reloading() const;
  void stopping() const;
  void status(const std::string& status) const;
  // One message: the status line, and WATCHDOG=1 when `pet`.
  void tick(const std::string& status, bool pet) const;
  // The service's main process is now `pid` (a takeover's new process).
  void mainPid(pid_t pid) const;

 private:
  void send(const std::string& state) const;
  bool enabled_ = false;
  std::optional<uint64_t> watchdog_us_;
};

}  // namespace ferry
