#include "ferry/control/dataplane_watch.h"

#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <chrono>

#include "ferry/clock.h"
#include "ferry/control/log.h"
#include "ferry/net/steering.h"

namespace ferry {

DataplaneWatch::DataplaneWatch(Steering steering, std::vector<DataplaneView> dataplanes,
                               Rescue* rescue)
    : steering_(steering),
      dataplanes_(std::move(dataplanes)),
      rescue_(rescue),
      stalls_(dataplanes_.size(), kStallAfterUs),
      resteer_(dataplanes_.size()),
      applied_(dataplanes_.size(), false),
      rescuers_(dataplanes_.size(), -1) {
  for (const auto& dp : dataplanes_) cpus_.push_back(dp.cpu);
}

std::string dataplaneName(unsigned id, int cpu) {
  return "dataplane " + std::to_string(id) + " (CPU " + std::to_string(cpu) + ")";
}

std::string DataplaneWatch::who(std::size_t d) const {
  return dataplaneName(dataplanes_[d].id, dataplanes_[d].cpu);
}

bool DataplaneWatch::attach(const std::vector<bool>& away) {
  if (dataplanes_.empty()) return true;
  std::vector<sock_filter> program;
  try {
    program = steeringProgram(steering_, unsigned(dataplanes_.size()), cpus_, away);
  } catch (const std::exception& e) {
    // Not retried: the same set would fail the same way.
    log::error(std::string("cannot re-steer: ") + e.what());
    unbuildable_ = away;
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < dataplanes_[0].fds.size(); ++i) {
    const Status attached = attachSteering(dataplanes_[0].fds[i], program);
    if (!attached) {
      log::error("re-steering interface " + std::to_string(i) + ": " + attached.error() +
                 " (retried in " + std::to_string(kSampleUs / 1000) + " ms)");
      ok = false;
    }
  }
  return ok;
}

void DataplaneWatch::sample(uint64_t now) {
  // The kernel's view first, without the lock.
  std::vector<uint64_t> loops(dataplanes_.size());
  std::vector<bool> waiting(dataplanes_.size(), false);
  for (std::size_t d = 0; d < dataplanes_.size(); ++d) {
    loops[d] = dataplanes_[d].counters->loops.get();
    for (int fd : dataplanes_[d].fds) {
      int bytes = 0;  // UDP: the size of the next datagram, 0 when none waits
      if (fd >= 0 && ioctl(fd, FIONREAD, &bytes) == 0 && bytes > 0) waiting[d] = true;
    }
  }
  std::lock_guard lock(mu_);
  std::vector<bool> stalled(dataplanes_.size());
  for (std::size_t d = 0; d < dataplanes_.size(); ++d) {
    // While a rescuer empties its queues, only a loop turn ends a stall: an
    // empty queue would end it at once, and the share would flap back and
    // forth.
    const bool changed = stalls_.update(d, loops[d], waiting[d] || rescuers_[d] >= 0, now);
    stalled[d] = stalls_.stalled(d);
    if (!changed) continue;
    if (stalled[d])
      log::warn(who(d) + " stalled: no loop turn for " +
                std::to_string(stalls_.sinceProgress(d, now) / 1000) +
                " ms while datagrams wait on its sockets");
    else
      log::info(who(d) + " is making progress again");
  }
  rescueStalled(stalled);
  const std::vector<bool> before = resteer_.away();
  resteer_.update(stalled);
  bool all_stalled = !stalled.empty();
  for (bool s : stalled) all_stalled = all_stalled && s;
  if (all_stalled && !all_stalled_logged_)
    log::warn(
        "every dataplane is stalled: there is nowhere to move a share to, the steering stays as it "
        "is");
  all_stalled_logged_ = all_stalled;
  if (resteer_.away() == applied_ || resteer_.away() == unbuildable_) return;
  if (!attach(resteer_.away())) return;
  applied_ = resteer_.away();
  std::string healthy;
  for (std::size_t d = 0; d < applied_.size(); ++d)
    if (!applied_[d]) healthy += (healthy.empty() ? "" : ", ") + std::to_string(dataplanes_[d].id);
  for (std::size_t d = 0; d < applied_.size(); ++d) {
    if (applied_[d] && !before[d])
      log::warn(who(d) + ": its share of new datagrams moved to dataplane(s) " + healthy +
                " (no loop turn seen for " + std::to_string(stalls_.sinceProgress(d, now) / 1000) +
                " ms)");
    else if (!applied_[d] && before[d])
      log::info(who(d) + ": its share of new datagrams moved back to it");
  }
}

void DataplaneWatch::rescueStalled(const std::vector<bool>& stalled) {
  if (rescue_ == nullptr) return;
  const std::vector<int> plan = rescuePlan(stalled, rescuers_);
  for (std::size_t d = 0; d < plan.size(); ++d) {
    if (plan[d] == rescuers_[d]) continue;
    if (const int was = rescuers_[d]; was >= 0) {
      rescue_->ask(unsigned(was), unsigned(d), false);
      rescue_->wake(unsigned(was));
      log::info(who(d) + ": dataplane " + std::to_string(dataplanes_[std::size_t(was)].id) +
                " no longer receives on its sockets");
    }
    if (const int now = plan[d]; now >= 0) {
      rescue_->ask(unsigned(now), unsigned(d), true);
      rescue_->wake(unsigned(now));
      log::warn(who(d) + ": dataplane " + std::to_string(dataplanes_[std::size_t(now)].id) +
                " receives what waits on its sockets until it runs again");
    }
  }
  rescuers_ = plan;
  // A rescued dataplane that runs again finds nothing to receive: the wake
  // makes it turn its loop, which ends the stall.
  for (std::size_t d = 0; d < plan.size(); ++d)
    if (plan[d] >= 0) rescue_->wake(unsigned(d));
}

void DataplaneWatch::run() noexcept {
  pthread_setname_np(pthread_self(), "ferry-watch");
  // Like the BFD thread: a low real-time priority so that busy dataplanes
  // and other processes cannot hold the decision back; it sleeps between
  // samples. Without the privilege it runs as an ordinary thread.
  sched_param param{};
  param.sched_priority = 5;
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  std::unique_lock lock(stop_mu_);
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    lock.unlock();
    sample(monotonicMicros());
    lock.lock();
    next += std::chrono::microseconds(kSampleUs);
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: no burst of samples to catch up
    stop_cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

void DataplaneWatch::stop() noexcept {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
}

std::vector<DataplaneHealth> DataplaneWatch::health() const {
  std::lock_guard lock(mu_);
  std::vector<DataplaneHealth> out(dataplanes_.size());
  for (std::size_t d = 0; d < out.size(); ++d) {
    out[d].stalled = stalls_.stalled(d);
    out[d].stalls = stalls_.stalls(d);
    out[d].steered_away = applied_[d];
    out[d].resteers = resteer_.resteers(d);
    out[d].rescued_by = rescuers_[d] >= 0 ? int(dataplanes_[std::size_t(rescuers_[d])].id) : -1;
  }
  return out;
}

uint64_t DataplaneWatch::longestStallUs(uint64_t now_us) const {
  std::lock_guard lock(mu_);
  uint64_t longest = 0;
  for (std::size_t d = 0; d < dataplanes_.size(); ++d)
    if (stalls_.stalled(d)) longest = std::max<uint64_t>(longest, stalls_.sinceProgress(d, now_us));
  return longest;
}

}  // namespace ferry
