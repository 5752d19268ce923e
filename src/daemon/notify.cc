#include "ferry/daemon/notify.h"

#include <systemd/sd-daemon.h>

#include <cstdlib>

#include "ferry/control/log.h"

namespace ferry {

bool watchdogHealthy(const Control::Health& health, uint64_t now_us, const WatchdogLimits& limits) noexcept {
  // A time after `now` (another thread stored it since) is as fresh as can be.
  const auto older = [now_us](uint64_t at, uint64_t limit) { return at != 0 && now_us > at && now_us - at > limit; };
  return !older(health.control_turn_us, limits.turn_us) && !older(health.bfd_turn_us, limits.turn_us) &&
         !older(health.stalled_since_us, limits.stall_us);
}

ServiceNotifier::ServiceNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog_us_ = usec;
}

void ServiceNotifier::send(const std::string& state) const {
  if (!enabled_) return;
  if (const int r = sd_notify(0, state.c_str()); r < 0)
    log::warn("sd_notify(" + state.substr(0, state.find('\n')) + "): error " + std::to_string(-r));
}

void ServiceNotifier::ready(const std::string& status) const { send("READY=1\nSTATUS=" + status); }
void ServiceNotifier::reloading() const { send("RELOADING=1"); }
void ServiceNotifier::stopping() const { send("STOPPING=1"); }
void ServiceNotifier::status(const std::string& status) const { send("STATUS=" + status); }
void ServiceNotifier::tick(const std::string& status, bool pet) const {
  send(pet ? "WATCHDOG=1\nSTATUS=" + status : "STATUS=" + status);
}
void ServiceNotifier::mainPid(pid_t pid) const { send("MAINPID=" + std::to_string(pid)); }

}  // namespace ferry
