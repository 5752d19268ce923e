#include "ferry/dataplane/bfd_handoff.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <stdexcept>

namespace ferry {

BfdHandoff::BfdHandoff(unsigned dataplanes, uint32_t capacity)
    : event_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_fd_) throw std::runtime_error("eventfd for the BFD hand-off failed");
  for (unsigned i = 0; i < dataplanes; ++i)
    queues_.push_back(std::make_unique<SpscQueue<BfdFrame>>(capacity));
}

bool BfdHandoff::prepareToSleep() noexcept {
  sleeping_.store(true, std::memory_order_seq_cst);
  for (const auto& q : queues_) {
    if (!q->empty()) {
      sleeping_.store(false, std::memory_order_relaxed);
      return false;
    }
  }
  return true;
}

void BfdHandoff::awake() noexcept {
  sleeping_.store(false, std::memory_order_relaxed);
  clearEventFd(event_fd_.get());  // a pending wake-up; nothing to do when there was none
}

void BfdHandoff::notify() noexcept {
  notifyEventFd(event_fd_.get());
}

}  // namespace ferry
