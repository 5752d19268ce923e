// Dataplane: one event loop on its own thread, its own io_uring ring, its own
// provided-buffer ring and one socket per interface (SO_REUSEPORT peers of the
// other dataplanes' sockets).
//
// Per receive: multishot recvmsg puts a datagram — or, with UDP GRO, a train
// of one 4-tuple's datagrams plus their segment size — in a provided buffer →
// the loop checks the train (fit, source) and asks decide() (decide.h) what to
// do with each datagram of it → forwards leave as sendmsg from that same
// buffer (no copy; consecutive datagrams for one egress as one UDP GSO send)
// → the buffer goes back to the ring once every send using it has completed.
// All sends and re-arms of one loop turn go to the kernel in the single
// io_uring_submit_and_wait call that also waits for the next completions.
// When the watch thread asks (rescue.h), the loop also receives on a stalled
// dataplane's sockets, the same way, until it is asked to stop.
//
// Kernel prerequisites: Linux ≥ 6.1 (multishot recvmsg, provided-buffer
// rings, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN); io_uring
// must not be disabled (sysctl kernel.io_uring_disabled = 0).
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/dataplane/counters.h"
#include "ferry/dataplane/decide.h"
#include "ferry/dataplane/forwarding.h"
#include "ferry/dataplane/published.h"
#include "ferry/dataplane/rescue.h"
#include "ferry/dataplane/user_data.h"
#include "ferry/net/address.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"
#include "ferry/route/icmp.h"
#include "ferry/token_bucket.h"

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
  // io_uring_recvmsg_out header, room for the source address and for the
  // UDP_GRO control message (the train's segment size).
  static constexpr uint32_t kNameRoom = 32;
  static constexpr uint32_t kControlRoom = CMSG_SPACE(sizeof(int));
  static constexpr uint32_t kHeadroom = sizeof(io_uring_recvmsg_out) + kNameRoom + kControlRoom;
  // With GRO a buffer holds a whole train: the kernel's UDP GRO merges at most
  // 64 datagrams (UDP_GRO_CNT_MAX) and 64 KiB. A local sender's GSO send
  // reaches a UDP_GRO socket unmerged and whole: up to 128 datagrams
  // (UDP_MAX_SEGMENTS on current kernels; 6.18 refuses 129), still 64 KiB.
  static constexpr uint32_t kGroBufferPayload = 65536;
  static constexpr uint32_t kMaxTrainSegments = 128;

  // `rescue` holds this dataplane's wake eventfd and the other dataplanes'
  // sockets; it must outlive the dataplane.
  Dataplane(DataplaneSettings settings, std::vector<DataplaneInterface> interfaces,
            Published<ForwardingState>& forwarding, DataplaneCounters& counters, BfdHandoff* bfd,
            Rescue& rescue);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Creates the ring, registers the sockets and the buffer ring. Must run on
  // the thread that then calls run() (the ring is single-issuer). Fails
  // with a message naming the dataplane and the cause.
  Status setup();
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
  // Receive buffer memory of this dataplane (the README states it).
  size_t bufferBytes() const noexcept { return buffers_bytes_; }

 private:
  // A send of one datagram (or one datagram of a refused GSO send).
  struct TxSlot {
    msghdr msg;
    iovec iov;
    uint16_t buffer;
  };
  // An ICMP error of ours: built in its own slot (never in a received buffer,
  // where it would overwrite the next datagrams of a train), with a copy of
  // its destination (the received buffer may return to the ring first).
  struct IcmpSlot {
    msghdr msg;
    iovec iov;
    sockaddr_storage to;
    uint8_t data[route::kIcmpMaxPacket];
  };
  static constexpr uint32_t kIcmpSlots = 64;
  // A piece of a GSO send: bytes of one buffer, one or more whole datagrams
  // back to back (a GRO train's segments stay one piece). Each piece holds one
  // reference on its buffer.
  struct Piece {
    uint8_t* data;
    uint32_t length;
    uint16_t buffer;
  };
  // UDP GSO: forwards to one egress in one loop turn collect in a Run and
  // leave as one sendmsg with UDP_SEGMENT: every datagram the size of the
  // first, the last one no larger (the kernel's rule), at most kMaxSegments
  // datagrams and kMaxGsoBytes. The iovec gathers the pieces: no copy.
  static constexpr uint32_t kMaxSegments = 64;
  static constexpr uint32_t kMaxGsoBytes = 65000;
  struct Run {
    uint16_t segments = 0;  // datagrams
    uint16_t pieces = 0;
    uint32_t segment = 0;  // size of every datagram but the last
    uint32_t last = 0;     // size of the last one
    uint32_t bytes = 0;
    bool listed = false;  // in pending_runs_
    Piece piece[kMaxSegments];
  };
  struct Batch {
    msghdr msg;
    iovec iov[kMaxSegments];
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))];
    uint16_t pieces;
    uint16_t segments;
    uint32_t segment;
    uint16_t buffers[kMaxSegments];
  };

  uint8_t* buffer(uint16_t id) const noexcept { return buffers_ + size_t(id) * stride_; }
  io_uring_sqe* sqe() noexcept;
  void armReceive(uint16_t interface) noexcept;
  void armWake() noexcept;
  void beginStop() noexcept;
  void handle(const io_uring_cqe& cqe, const ForwardingState& state) noexcept;
  // A receive completion of this dataplane's socket for `interface`, or of
  // a stalled dataplane's (`rescued`).
  void onReceive(uint16_t interface, const io_uring_cqe& cqe, const ForwardingState& state,
                 bool rescued) noexcept;
  // Rescue: reads the watch thread's requests (after a wake), arms the
  // receives asked for and cancels those no longer asked for.
  void readRescueRequests() noexcept;
  void armRescues() noexcept;
  void cancelRescues() noexcept;
  void onRescueReceive(const io_uring_cqe& cqe, UserData tag,
                       const ForwardingState& state) noexcept;
  // Carries out decide()'s action for one datagram of buffer `buffer`.
  void act(const Action& action, uint16_t ingress, uint16_t buffer, uint8_t* datagram,
           uint32_t length, const sockaddr* source, socklen_t source_len,
           const ForwardingState& state) noexcept;
  void answerIcmp(const Action& action, uint16_t ingress, const uint8_t* datagram, uint32_t length,
                  const sockaddr* source, socklen_t source_len, const ForwardingState& state) noexcept;
  // Sends one datagram from buffer `buffer` to `egress`'s peer; takes a
  // reference on the buffer until the send completes.
  void sendOne(uint16_t egress, uint16_t buffer, uint8_t* datagram, uint32_t length) noexcept;
  // Fills `msg` for a send of iov[0..iov_count) (and `control`, if any) to
  // `to` and queues it as sendmsg on the socket of `tag.interface`, tagged
  // `tag`. `msg` and what it points to must stay put until the send completes.
  void submitSend(io_uring_sqe* s, UserData tag, msghdr& msg, const sockaddr* to, socklen_t to_len,
                  iovec* iov, size_t iov_count, void* control = nullptr,
                  size_t control_len = 0) noexcept;
  // sendOne() for each `segment`-sized datagram of `length` bytes at `data`.
  void sendEach(uint16_t egress, uint16_t buffer, uint8_t* data, uint32_t length,
                uint32_t segment) noexcept;
  // Forwards through `egress` to its peer: into the egress's GSO run, or sent
  // at once when GSO is off for it.
  void queue(uint16_t egress, uint16_t buffer, uint8_t* datagram, uint32_t length) noexcept;
  void flush(uint16_t egress) noexcept;
  void onSent(uint16_t interface, uint16_t slot, int result) noexcept;
  void onIcmpSent(uint16_t interface, uint16_t slot, int result) noexcept;
  void onBatchSent(uint16_t interface, uint16_t batch, int result) noexcept;
  void hold(uint16_t buffer) noexcept { ++refs_[buffer]; }
  // Drops one reference; the last one returns the buffer to the ring.
  void release(uint16_t buffer) noexcept;
  void recycle(uint16_t buffer) noexcept;  // back to the ring (no reference left)

  DataplaneSettings settings_;
  std::vector<DataplaneInterface> interfaces_;
  Published<ForwardingState>& forwarding_;
  DataplaneCounters& counters_;
  BfdHandoff* bfd_;
  Rescue& rescue_;

  io_uring ring_{};
  bool ring_ready_ = false;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_bytes_ = 0;
  uint32_t stride_ = 0;
  uint32_t buffer_count_ = 0;
  int pending_recycles_ = 0;
  // Per buffer: references held by sends in flight (and by the loop while it
  // decides a receive's datagrams). At most kMaxTrainSegments + 1.
  std::vector<uint16_t> refs_;
  // Single sends: one slot per datagram that can be in flight (every
  // datagram of every buffer), so a free slot always exists.
  std::vector<TxSlot> tx_;
  std::vector<uint16_t> free_tx_;
  std::vector<IcmpSlot> icmp_;
  std::vector<uint16_t> free_icmp_;
  msghdr recv_msg_{};  // the multishot template: name and control room sizes

  int wake_fd_ = -1;  // rescue_'s eventfd for this dataplane
  uint64_t wake_value_ = 0;
  std::atomic<bool> stop_requested_{false};
  bool stopping_ = false;
  unsigned active_receives_ = 0;
  uint64_t inflight_sends_ = 0;
  std::vector<uint8_t> rearm_;  // per interface: its multishot receive ended
  // The stalled dataplanes whose sockets this one receives on (rescue.h).
  enum RescueReceive : uint8_t { kIdle, kArmed, kCancelled };
  struct Rescued {
    uint16_t stalled;                  // its id
    bool asked;                        // the watch thread still asks for it
    std::vector<RescueReceive> state;  // per interface
  };
  std::vector<Rescued> rescued_;
  bool starved_ = false;         // a receive ended with ENOBUFS: re-armed once buffers return
  std::vector<Run> runs_;        // per interface
  // Per interface: datagrams still to send one by one after the kernel
  // refused a GSO send (0: GSO in use, when tuning.gso is).
  std::vector<uint32_t> gso_retry_countdown_;
  static constexpr uint32_t kGsoRetryAfter = 4096;
  std::vector<uint16_t> pending_runs_;  // interfaces whose run is not empty
  std::vector<Batch> batches_;
  std::vector<uint16_t> free_batches_;
  // ICMP errors and echo replies each have their own budget of the
  // configured rate and burst, as on Linux, whose ICMP rate limit leaves
  // echo replies out: a ping flood to ferry's address cannot silence its
  // errors (traceroute through it), nor an error storm its pings.
  TokenBucket icmp_bucket_;
  TokenBucket echo_bucket_;
};

}  // namespace ferry
