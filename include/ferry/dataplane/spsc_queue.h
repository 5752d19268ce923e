// SpscQueue<T>: a bounded lock-free queue for exactly one producer thread and
// one consumer thread. push() never blocks: a full queue returns false and the
// producer counts the drop. Capacity is a power of two. T is copied in and out
// (keep it small and trivially copyable).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>

namespace ferry {

template <typename T>
class SpscQueue {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  explicit SpscQueue(uint32_t capacity) : mask_(capacity - 1), slots_(new T[capacity]) {}

  bool push(const T& item) noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ > mask_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ > mask_) return false;
    }
    slots_[tail & mask_] = item;
    tail_.store(tail + 1, std::memory_order_seq_cst);  // seq_cst: pairs with the sleeper check
    return true;
  }

  bool pop(T& item) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head == cached_tail_) return false;
    }
    item = slots_[head & mask_];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_seq_cst);
  }
  uint32_t capacity() const noexcept { return mask_ + 1; }

 private:
  const uint32_t mask_;
  std::unique_ptr<T[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer-owned
  uint64_t cached_tail_ = 0;                    // consumer's view of tail
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer-owned
  uint64_t cached_head_ = 0;                    // producer's view of head
};

}  // namespace ferry
