// Published<T>: one writer publishes immutable T snapshots; N reader threads
// pick up the current one with one atomic load per batch, never lock, and an
// old snapshot is freed only once no reader can still hold it (epoch-based
// reclamation: an RCU-style hand-over).
//
// Protocol:
//   reader r:  const T* s = enter(r);  ... use s for one batch ...  leave(r);
//   writer:    publish(std::make_unique<T>(...));  reclaim() now and then.
// A reader that is blocked in the kernel between batches has left, so it
// never holds back reclamation.
//
// Why it is safe: enter() stores the epoch it saw (seq_cst) before loading
// the pointer. publish() swaps the pointer, then advances the epoch, and tags
// the old snapshot with the new epoch E. A reader whose stored epoch is ≥ E,
// or who is outside (0), cannot hold the old snapshot: in the single total
// order of seq_cst operations its pointer load comes after the swap.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

namespace ferry {

template <typename T>
class Published {
 public:
  explicit Published(unsigned readers) : slots_(readers) {}
  ~Published() { delete current_.load(); }
  Published(const Published&) = delete;
  Published& operator=(const Published&) = delete;

  // Reader side, one slot per reader thread.
  const T* enter(unsigned reader) noexcept {
    slots_[reader].epoch.store(epoch_.load(std::memory_order_acquire), std::memory_order_seq_cst);
    return current_.load(std::memory_order_seq_cst);
  }
  void leave(unsigned reader) noexcept {
    slots_[reader].epoch.store(0, std::memory_order_release);
  }

  // Writer side (one writer at a time; a mutex makes setup-time publishes from
  // the main thread safe alongside the control thread). With kNow the call
  // also frees what no reader can hold any more; kLater leaves that to a
  // later publish or reclaim(), for a caller that must not spend the time
  // (freeing a large snapshot can take milliseconds: a route table, its
  // counters folding into their successor's). Snapshots are always freed
  // after the writer lock is released, so a publish never waits for them.
  enum class Reclaim : bool { kNow, kLater };
  void publish(std::unique_ptr<const T> next, Reclaim when = Reclaim::kNow) {
    std::vector<Retired> freed;
    {
      std::lock_guard lock(writer_);
      const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
      const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
      if (old != nullptr) retired_.push_back({e, std::unique_ptr<const T>(old)});
      if (when == Reclaim::kNow) takeReclaimableLocked(freed);
    }
  }
  // Frees retired snapshots that no reader can hold; returns how many remain.
  size_t reclaim() {
    std::vector<Retired> freed;
    std::lock_guard lock(writer_);
    takeReclaimableLocked(freed);
    return retired_.size();
  }
  // The current snapshot, for the writer's own reads (stats, ctl socket).
  // Only the writer may call this: it is not protected against reclamation.
  const T* current() const noexcept { return current_.load(std::memory_order_acquire); }
  size_t retiredCount() {
    std::lock_guard lock(writer_);
    return retired_.size();
  }

 private:
  struct Retired;
  // Moves the retired snapshots that no reader can hold into `freed`.
  void takeReclaimableLocked(std::vector<Retired>& freed) {
    uint64_t oldest = UINT64_MAX;
    for (const auto& slot : slots_) {
      const uint64_t e = slot.epoch.load(std::memory_order_seq_cst);
      if (e != 0 && e < oldest) oldest = e;
    }
    const auto keep = std::stable_partition(retired_.begin(), retired_.end(),
                                            [&](const Retired& r) { return r.epoch > oldest; });
    std::move(keep, retired_.end(), std::back_inserter(freed));
    retired_.erase(keep, retired_.end());
  }

  struct alignas(64) Slot {
    std::atomic<uint64_t> epoch{0};  // 0 = outside; else the epoch seen on entry
  };
  struct Retired {
    uint64_t epoch;
    std::unique_ptr<const T> snapshot;
  };

  std::atomic<const T*> current_{nullptr};
  std::atomic<uint64_t> epoch_{1};
  std::vector<Slot> slots_;
  std::mutex writer_;
  std::vector<Retired> retired_;
};

}  // namespace ferry
