// Resteer: which dataplanes hand their share of new datagrams to the others,
// from the stall watch's verdicts. A stalled dataplane is moved away while
// at least one dataplane is not stalled; it gets its share back at its next
// loop turn. When every dataplane is stalled there is nowhere to move a share
// to, so nothing changes (never steer to nobody): whoever was away stays
// away, the others keep theirs. Pure logic: the control side attaches the
// programs (steeringProgram) for away().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ferry {

class Resteer {
 public:
  explicit Resteer(std::size_t dataplanes) : away_(dataplanes, false), resteers_(dataplanes, 0) {}

  // The stall verdicts now (`stalled[d]`; shorter: the rest are not
  // stalled). Returns true when away() changed, so programs must be replaced.
  bool update(const std::vector<bool>& stalled) {
    const auto is_stalled = [&](std::size_t d) { return d < stalled.size() && stalled[d]; };
    bool any_healthy = false;
    for (std::size_t d = 0; d < away_.size(); ++d) any_healthy = any_healthy || !is_stalled(d);
    if (!any_healthy) return false;
    bool changed = false;
    for (std::size_t d = 0; d < away_.size(); ++d) {
      if (away_[d] == is_stalled(d)) continue;
      changed = true;
      away_[d] = is_stalled(d);
      if (away_[d]) ++resteers_[d];
    }
    return changed;
  }

  std::size_t size() const noexcept { return away_.size(); }
  const std::vector<bool>& away() const noexcept { return away_; }
  // Times dataplane `d`'s share was moved away from it.
  uint64_t resteers(std::size_t d) const noexcept { return resteers_[d]; }

 private:
  std::vector<bool> away_;
  std::vector<uint64_t> resteers_;
};

// Rescue (dataplane/rescue.h): which dataplane receives on each stalled
// dataplane's sockets. `stalled[d]` are the verdicts now (shorter: the rest
// are not stalled), `before` the last plan (shorter or empty: none). Returns
// per dataplane its rescuer's index, or -1 (not stalled, or every dataplane
// stalled). A stalled dataplane keeps its rescuer while that one is not
// stalled; any other gets the healthy dataplane with the fewest dataplanes
// to rescue so far (the lowest index on ties), so several stalled ones
// spread over the healthy ones. Pure logic.
inline std::vector<int> rescuePlan(const std::vector<bool>& stalled,
                                   const std::vector<int>& before) {
  const std::size_t n = stalled.size();
  std::vector<int> plan(n, -1);
  std::vector<std::size_t> load(n, 0);
  const auto healthy = [&](int d) {
    return d >= 0 && std::size_t(d) < n && !stalled[std::size_t(d)];
  };
  for (std::size_t d = 0; d < n; ++d)
    if (stalled[d] && d < before.size() && healthy(before[d])) {
      plan[d] = before[d];
      ++load[std::size_t(before[d])];
    }
  for (std::size_t d = 0; d < n; ++d) {
    if (!stalled[d] || plan[d] >= 0) continue;
    int best = -1;
    for (std::size_t h = 0; h < n; ++h)
      if (!stalled[h] && (best < 0 || load[h] < load[std::size_t(best)])) best = int(h);
    if (best < 0) break;  // nobody is healthy
    plan[d] = best;
    ++load[std::size_t(best)];
  }
  return plan;
}

}  // namespace ferry
