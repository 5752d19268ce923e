#include "ferry/dataplane/counters.h"

#include <mutex>

#include "ferry/route/lpm.h"

namespace ferry {

namespace {
// One for every RouteCounters: hand-overs and totals are control-plane work.
std::mutex& carryMutex() {
  static std::mutex mu;
  return mu;
}
// What RouteTable::indicesIn gives for a prefix the old table lacks.
constexpr uint32_t kNone = route::kNoRouteIndex;
}  // namespace

RouteCounters::RouteCounters(unsigned dataplanes, size_t routes)
    : routes_(routes), counts_(size_t(dataplanes) * routes), carried_(routes) {}

RouteCounters::~RouteCounters() {
  std::lock_guard lock(carryMutex());
  if (successor_) {
    // No dataplane counts here any more: what came after the hand-over
    // moves to the successor for good.
    RouteCounters& next = *successor_;
    for (size_t r = 0; r < next.routes_; ++r) {
      const uint32_t i = next.from_[r];
      if (i != kNone) next.carried_[r] += totalLocked(i) - handed_[i];
    }
    next.previous_ = nullptr;
    next.from_ = {};
  }
  // A predecessor keeps its successor alive (successor_), so whichever
  // table pointed back here (previous_) has just been unlinked above.
}

uint64_t RouteCounters::total(uint32_t route) const {
  std::lock_guard lock(carryMutex());
  return totalLocked(route);
}

uint64_t RouteCounters::totalLocked(uint32_t route) const {
  uint64_t sum = carried_[route];
  for (size_t i = route; i < counts_.size(); i += routes_) sum += counts_[i].get();
  if (previous_ != nullptr && from_[route] != kNone)
    sum += previous_->totalLocked(from_[route]) - previous_->handed_[from_[route]];
  return sum;
}

void RouteCounters::carryOver(const std::shared_ptr<RouteCounters>& previous,
                              const std::shared_ptr<RouteCounters>& next,
                              std::vector<uint32_t> from) {
  if (!previous || !next || previous == next || from.size() != next->routes_) return;
  std::lock_guard lock(carryMutex());
  RouteCounters& old = *previous;
  if (old.successor_) return;
  old.handed_.assign(old.routes_, 0);
  for (size_t r = 0; r < next->routes_; ++r) {
    const uint32_t i = from[r];
    if (i == kNone || i >= old.routes_) {
      from[r] = kNone;
      continue;
    }
    const uint64_t t = old.totalLocked(i);
    old.handed_[i] = t;
    next->carried_[r] = t;
  }
  next->from_ = std::move(from);
  next->previous_ = &old;
  old.successor_ = next;
}

const char* toString(Drop drop) noexcept {
  switch (drop) {
    case Drop::kNoRoute:
      return "no_route";
    case Drop::kBadSource:
      return "bad_source";
    case Drop::kTruncated:
      return "truncated";
    case Drop::kSendError:
      return "send_error";
    case Drop::kEgressDown:
      return "egress_down";
    case Drop::kBfdQueueFull:
      return "bfd_queue_full";
    case Drop::kBadBfd:
      return "bad_bfd";
    case Drop::kBadInnerHeader:
      return "bad_inner_header";
    case Drop::kTtlExceeded:
      return "ttl_exceeded";
    case Drop::kMartian:
      return "martian";
    case Drop::kAllNextHopsDown:
      return "all_next_hops_down";
    case Drop::kEgressFull:
      return "egress_full";
    case Drop::kBlackhole:
      return "blackhole";
    case Drop::kUnreachable:
      return "unreachable";
    case Drop::kProhibited:
      return "prohibited";
    case Drop::kLocal:
      return "local";
    case Drop::kCount: break;
  }
  return "unknown";
}

}  // namespace ferry
