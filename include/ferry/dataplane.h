// Dataplane: one event loop on its own thread, its own io_uring ring, its own
// provided-buffer ring and one socket per interface (SO_REUSEPORT peers of the
// other dataplanes' sockets).
//
// Per packet: multishot recvmsg puts the datagram in a provided buffer → the
// loop checks it (size, source, BFD) and picks the egress from the current
// ForwardingState → sendmsg from that same buffer (no copy) → on the send's
// completion the buffer goes back to the ring. All sends and re-arms of one
// loop turn go to the kernel in the single io_uring_submit_and_wait call that
// also waits for the next completions.
//
// Kernel prerequisites: Linux ≥ 6.1 (multishot recvmsg, provided-buffer
// rings, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN); io_uring
// must not be disabled (sysctl kernel.io_uring_disabled = 0).
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/address.h"
#include "ferry/bfd_handoff.h"
#include "ferry/config.h"
#include "ferry/counters.h"
#include "ferry/forwarding.h"
#include "ferry/published.h"
#include "ferry/route/token_bucket.h"
#include "ferry/socket.h"
#include "ferry/user_data.h"

namespace ferry {

struct DataplaneInterface {
  int fd = -1;                    // this dataplane's socket for the interface (not owned)
  std::optional<SockAddr> peer;   // source check and relay destination
  bool bfd_inband = false;        // BFD control packets share the data port
};

struct DataplaneSettings {
  unsigned id = 0;
  int cpu = -1;  // the CPU the thread is pinned to, -1 = not pinned (for stats)
  Tuning tuning;
  uint32_t icmp_rate = 100;  // route mode: ICMP errors per second (this dataplane)
  uint32_t icmp_burst = 50;
};

class Dataplane {
 public:
  // Bytes in front of each datagram in its buffer: the kernel's
  // io_uring_recvmsg_out header and room for the source address.
  static constexpr uint32_t kNameRoom = 32;
  static constexpr uint32_t kHeadroom = sizeof(io_uring_recvmsg_out) + kNameRoom;

  Dataplane(DataplaneSettings settings, std::vector<DataplaneInterface> interfaces,
            Published<ForwardingState>& forwarding, DataplaneCounters& counters,
            BfdHandoff* bfd);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Creates the ring, registers the sockets and the buffer ring. Must run on
  // the thread that then calls run() (the ring is single-issuer). Returns ""
  // or an error naming the cause.
  std::string setup();
  // The event loop. Returns once stop() was called, the receives are
  // cancelled and every in-flight send has completed.
  void run() noexcept;
  // Asks the loop to stop; safe from any thread, idempotent.
  void stop() noexcept;
  // Releases the ring, its registered sockets and the buffers. Call on the
  // dataplane's own thread after run() (or after a failed setup()): the
  // kernel refuses unregistration from another thread of a single-issuer
  // ring, and only then are the sockets released at once.
  void close() noexcept;

  unsigned id() const noexcept { return settings_.id; }
  int cpu() const noexcept { return settings_.cpu; }

 private:
  struct TxSlot {
    msghdr msg;
    iovec iov;
  };
  // UDP GSO: forwards to one egress in one loop turn collect in a Run and
  // leave as one sendmsg with UDP_SEGMENT: every segment the size of the
  // first, the last one no larger (the kernel's rule), at most kMaxSegments
  // and kMaxGsoBytes. The iovec gathers them from their buffers: no copy.
  static constexpr uint32_t kMaxSegments = 64;
  static constexpr uint32_t kMaxGsoBytes = 65000;
  struct Run {
    uint16_t count = 0;
    uint32_t segment = 0;  // size of every datagram but the last
    uint32_t last = 0;     // size of the last one
    uint32_t bytes = 0;
    bool listed = false;  // in pending_runs_
    uint16_t buffers[kMaxSegments];
    uint8_t* data[kMaxSegments];
  };
  struct Batch {
    msghdr msg;
    iovec iov[kMaxSegments];
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))];
    uint16_t count;
    uint16_t buffers[kMaxSegments];
  };

  uint8_t* buffer(uint16_t id) const noexcept { return buffers_ + size_t(id) * stride_; }
  io_uring_sqe* sqe() noexcept;
  void armReceive(uint16_t interface) noexcept;
  void armWake() noexcept;
  void beginStop() noexcept;
  void handle(const io_uring_cqe& cqe, const ForwardingState& state) noexcept;
  void onReceive(uint16_t interface, const io_uring_cqe& cqe, const ForwardingState& state) noexcept;
  void onSent(Op op, uint16_t interface, uint16_t buffer, int result) noexcept;
  void forward(uint16_t ingress, uint16_t buffer, uint8_t* payload, uint32_t length,
               const sockaddr* source, socklen_t source_len, const ForwardingState& state) noexcept;
  void route(uint16_t ingress, uint16_t buffer, uint8_t* payload, uint32_t length,
             const sockaddr* source, socklen_t source_len, const ForwardingState& state) noexcept;
  // Sends `length` bytes of buffer `buffer` from interface `egress`'s socket to
  // `to`; `op` is Op::Send (forwarded) or Op::Local (an ICMP error of ours).
  void send(Op op, uint16_t egress, uint16_t buffer, uint8_t* payload, uint32_t length,
            const sockaddr* to, socklen_t to_len) noexcept;
  // send() of a forwarded datagram to `egress`'s peer, on its own.
  void sendToPeer(uint16_t egress, uint16_t buffer, uint8_t* payload, uint32_t length) noexcept;
  // Forwards through `egress` to its peer: into the egress's GSO run, or sent
  // at once when GSO is off for it.
  void queue(uint16_t egress, uint16_t buffer, uint8_t* payload, uint32_t length) noexcept;
  void flush(uint16_t egress) noexcept;
  void onBatchSent(uint16_t interface, uint16_t batch, int result) noexcept;
  void recycle(uint16_t buffer) noexcept;

  DataplaneSettings settings_;
  std::vector<DataplaneInterface> interfaces_;
  Published<ForwardingState>& forwarding_;
  DataplaneCounters& counters_;
  BfdHandoff* bfd_;

  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  uint32_t stride_ = 0;
  uint32_t buffer_count_ = 0;
  int pending_recycles_ = 0;
  std::vector<TxSlot> tx_;
  msghdr recv_msg_{};  // the multishot template: name and control room sizes

  Fd wake_fd_;
  uint64_t wake_value_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  unsigned active_receives_ = 0;
  uint64_t inflight_sends_ = 0;
  std::vector<uint8_t> rearm_;  // per interface: its multishot receive ended
  std::vector<Run> runs_;        // per interface
  // Per interface: datagrams still to send one by one after the kernel
  // refused a GSO send (0: GSO in use, when tuning.gso is).
  std::vector<uint32_t> gso_off_;
  static constexpr uint32_t kGsoRetryAfter = 4096;
  std::vector<uint16_t> pending_runs_;  // interfaces whose run is not empty
  std::vector<Batch> batches_;
  std::vector<uint16_t> free_batches_;
  route::TokenBucket icmp_bucket_;
};

}  // namespace ferry
