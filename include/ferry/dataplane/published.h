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

#include <atomic>
#include <cstdint>
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
  // the main thread safe alongside the control thread).
  void publish(std::unique_ptr<const T> next) {
    std::lock_guard lock(writer_);
    const T* old = current_.exchange(next.release(), std::memory_order_seq_cst);
    const uint64_t e = epoch_.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (old != nullptr) retired_.push_back({e, std::unique_ptr<const T>(old)});
    reclaimLocked();
  }
  // Frees retired snapshots that no reader can hold; returns how many remain.
  size_t reclaim() {
    std::lock_guard lock(writer_);
    return reclaimLocked();
  }
  // The current snapshot, for the writer's own reads (stats, ctl socket).
  // Only the writer may call this: it is not protected against reclamation.
  const T* current() const noexcept { return current_.load(std::memory_order_acquire); }
  size_t retiredCount() {
    std::lock_guard lock(writer_);
    return retired_.size();
  }

 private:
  size_t reclaimLocked() {
    uint64_t oldest = UINT64_MAX;
    for (const auto& slot : slots_) {
      const uint64_t e = slot.epoch.load(std::memory_order_seq_cst);
      if (e != 0 && e < oldest) oldest = e;
    }
    std::erase_if(retired_, [&](const auto& r) { return r.epoch <= oldest; });
    return retired_.size();
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
