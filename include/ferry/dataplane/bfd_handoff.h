// BfdHandoff: how BFD control packets get from the dataplanes to the one
// control module. With SO_REUSEPORT a neighbour's BFD packets land on
// whichever dataplane the kernel's hash picks, so every dataplane copies each
// BFD packet (≤ 64 bytes) into its own single-producer queue and moves on; the
// BFD thread drains all queues. A full queue is a counted drop, never a
// wait. The producer writes the BFD thread's eventfd only when the
// BFD thread said it is about to sleep, so a BFD packet costs no syscall
// while the BFD thread is awake.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "ferry/dataplane/spsc_queue.h"
#include "ferry/net/socket.h"

namespace ferry {

struct BfdFrame {
  static constexpr uint32_t kMaxBytes = 64;  // 24-byte header + the longest auth section (28)
  uint16_t interface = 0;  // the interface it arrived on (its peer was checked)
  uint16_t length = 0;
  uint8_t bytes[kMaxBytes];
};

class BfdHandoff {
 public:
  // One queue per dataplane, each `capacity` frames (a power of two).
  BfdHandoff(unsigned dataplanes, uint32_t capacity);

  // Producer: dataplane `dataplane` hands over a packet. False when its queue
  // is full or the packet is longer than kMaxBytes (the caller counts it).
  bool push(unsigned dataplane, uint16_t interface, const uint8_t* data, uint32_t length) noexcept {
    if (length > BfdFrame::kMaxBytes) return false;
    BfdFrame frame;
    frame.interface = interface;
    frame.length = static_cast<uint16_t>(length);
    std::memcpy(frame.bytes, data, length);
    if (!queues_[dataplane]->push(frame)) return false;
    if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false)) notify();
    return true;
  }

  // Consumer: calls f(const BfdFrame&) for every queued frame; returns the count.
  template <typename F>
  size_t drain(F&& f) {
    size_t n = 0;
    BfdFrame frame;
    for (auto& q : queues_) {
      while (q->pop(frame)) {
        f(frame);
        ++n;
      }
    }
    return n;
  }

  // Consumer: whether any frame waits to be drained.
  bool pending() const noexcept {
    for (const auto& q : queues_)
      if (!q->empty()) return true;
    return false;
  }

  // Consumer, before it blocks in poll(): returns false if frames arrived
  // meanwhile (drain instead of sleeping). Pair with awake() after poll().
  bool prepareToSleep() noexcept;
  void awake() noexcept;
  // Readable when a producer woke the consumer.
  int eventFd() const noexcept { return event_fd_.get(); }

 private:
  void notify() noexcept;

  std::vector<std::unique_ptr<SpscQueue<BfdFrame>>> queues_;
  std::atomic<bool> sleeping_{false};
  Fd event_fd_;
};

}  // namespace ferry
