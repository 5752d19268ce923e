// DataplaneWatch: the supervisor of the dataplanes, on its own thread
// ("ferry-watch"), so that neither a slow control request nor a reload of a
// large route table can delay it. Every kSampleUs it samples each
// dataplane's loop counter and whether datagrams wait on its sockets
// (StallWatch); a dataplane stalled for kStallAfterUs has its share of new
// datagrams moved to the healthy dataplanes (Resteer) by replacing the
// steering program of every interface's reuseport group, and gets it back at
// its next loop turn. Worst case from the moment a dataplane stops turning
// while datagrams wait to the new program: a sample to see them wait, the
// threshold rounded up to a sample, 2 * kSampleUs + kStallAfterUs = 600 ms,
// plus scheduling delay (the thread asks for SCHED_FIFO, as BFD's does).
// At the same sample a healthy dataplane is asked to receive what waits on
// the stalled one's sockets (Rescue, dataplane/rescue.h) until the stalled
// one turns its loop again; the watch wakes a rescued dataplane at every
// sample, so one that runs again shows a loop turn within a sample even
// though the rescuer leaves nothing for it to receive.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/control/resteer.h"
#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/rescue.h"
#include "ferry/dataplane/stall_watch.h"

namespace ferry {

// What the control side may see of one dataplane.
struct DataplaneView {
  unsigned id = 0;
  int cpu = -1;
  const DataplaneCounters* counters = nullptr;
  std::vector<int> fds;  // per interface: the dataplane's socket
};

// How logs name a dataplane: "dataplane 1 (CPU 3)".
std::string dataplaneName(unsigned id, int cpu);

// One dataplane's health as reported by `show dataplanes`.
struct DataplaneHealth {
  bool stalled = false;       // no loop turn for kStallAfterUs while datagrams wait
  uint64_t stalls = 0;        // times it became stalled
  bool steered_away = false;  // its share of new datagrams goes to the others now
  uint64_t resteers = 0;      // times its share was moved away
  int rescued_by = -1;        // the dataplane receiving on its sockets now (-1: none)
};

class DataplaneWatch {
 public:
  static constexpr uint64_t kSampleUs = 100'000;
  static constexpr uint64_t kStallAfterUs = 400'000;

  // `dataplanes[0].fds[i]` stands for interface i's reuseport group.
  // `rescue`: null turns rescuing off (the shares still move).
  DataplaneWatch(Steering steering, std::vector<DataplaneView> dataplanes, Rescue* rescue);
  DataplaneWatch(const DataplaneWatch&) = delete;
  DataplaneWatch& operator=(const DataplaneWatch&) = delete;

  // Samples every dataplane at `now_us` (monotonic), logs what changed and
  // replaces the steering programs when the set moved away changed (or a
  // replacement failed before: it is retried at every sample).
  void sample(uint64_t now_us);
  // sample() every kSampleUs until stop(); the watch thread's body.
  void run() noexcept;
  void stop() noexcept;
  // A copy, for stats; any thread.
  std::vector<DataplaneHealth> health() const;
  // How long the longest current stall has lasted at `now_us` (0: none is
  // stalled), for the service watchdog; any thread.
  uint64_t longestStallUs(uint64_t now_us) const;

 private:
  bool attach(const std::vector<bool>& away);
  std::string who(std::size_t d) const;
  // Asks for rescuePlan(stalled)'s changes, and wakes every rescued dataplane.
  void rescueStalled(const std::vector<bool>& stalled);

  const Steering steering_;
  const std::vector<DataplaneView> dataplanes_;
  Rescue* const rescue_;
  std::vector<int> cpus_;
  mutable std::mutex mu_;  // the state below; sample() holds it for microseconds
  StallWatch stalls_;
  Resteer resteer_;
  std::vector<bool> applied_;      // the away set the attached programs implement
  std::vector<bool> unbuildable_;  // an away set whose program was too long
  std::vector<int> rescuers_;      // per dataplane: who receives on its sockets (-1: none)
  bool all_stalled_logged_ = false;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
};

}  // namespace ferry
