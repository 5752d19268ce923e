// StallWatch: tells a stuck dataplane from an idle one. Both show a loop
// counter that does not move; only a stuck one also leaves datagrams waiting
// on its sockets (a healthy dataplane takes them within microseconds). A
// dataplane that made no loop turn while something waited, for `after` in a
// row, is stalled: the traffic the kernel hashes to its sockets is not
// forwarded. It is no longer stalled at its next loop turn, or once nothing
// waits. Pure logic: the control thread passes samples and the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry {

class StallWatch {
 public:
  using Micros = uint64_t;

  StallWatch(std::size_t dataplanes, Micros after) : after_(after), state_(dataplanes) {}

  // One sample of dataplane `dp`: its loop counter, and whether datagrams
  // wait on any of its sockets. Returns true when its stalled state changed.
  bool update(std::size_t dp, uint64_t loops, bool waiting, Micros now) noexcept {
    State& s = state_[dp];
    // The clock starts at the first sample that sees something waiting
    // after one that did not (when it began to wait in between is unknown).
    const bool was_waiting = s.waiting;
    s.waiting = waiting;
    if (!s.seen || loops != s.loops || !waiting || !was_waiting) {
      s.seen = true;
      s.loops = loops;
      s.progress_at = now;
      if (!s.stalled) return false;
      s.stalled = false;
      return true;
    }
    if (s.stalled || now < s.progress_at || now - s.progress_at < after_) return false;
    s.stalled = true;
    ++s.stalls;
    return true;
  }

  std::size_t size() const noexcept { return state_.size(); }
  bool stalled(std::size_t dp) const noexcept { return state_[dp].stalled; }
  // Times it became stalled.
  uint64_t stalls(std::size_t dp) const noexcept { return state_[dp].stalls; }
  // How long it has made no progress (0 when it just did).
  Micros sinceProgress(std::size_t dp, Micros now) const noexcept {
    const State& s = state_[dp];
    return s.seen && now > s.progress_at ? now - s.progress_at : 0;
  }

 private:
  struct State {
    bool seen = false;
    bool stalled = false;
    bool waiting = false;
    uint64_t loops = 0;
    Micros progress_at = 0;
    uint64_t stalls = 0;
  };
  Micros after_;
  std::vector<State> state_;
};

}  // namespace ferry
