// Per-dataplane, per-interface counters. Each block has exactly one writer
// (its dataplane thread) and is read by the control thread for stats, so an
// increment is a relaxed load + store (no locked instruction on the hot path)
// and a reader sees each 64-bit value whole. Blocks are cache-line aligned so
// two dataplanes never write the same line.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace ferry {

// Why a datagram was not forwarded. Every datagram a dataplane receives is
// either sent, handed to the control module (BFD), or counted under exactly
// one of these.
enum class Drop : uint8_t {
  kNoRoute,          // relay: no rule for the ingress interface; route: no matching prefix
  kBadSource,        // the interface has a peer and the datagram came from elsewhere
  kTruncated,        // larger than tuning.max_datagram (MSG_TRUNC)
  kSendError,        // the kernel refused the send (the error is in the send CQE)
  kEgressDown,       // relay: the egress interface's BFD session is down
  kBfdQueueFull,     // the hand-off queue to the control module was full
  kBadBfd,           // an in-band BFD packet with no BFD session to take it (defensive)
  kBadInnerHeader,   // route: the inner IPv4/IPv6 header is invalid
  kTtlExceeded,      // route: inner TTL / hop limit ≤ 1
  kMartian,          // route: inner source or destination that must never be routed
  kAllNextHopsDown,  // route: every next hop of the matching route is down
  kEgressFull,       // the egress socket's send buffer was full (EAGAIN): tail drop
  kBlackhole,        // route: the matching route is `drop: blackhole` (silent)
  kUnreachable,      // route: the matching route is `drop: unreachable` (ICMP answered)
  kProhibited,       // route: the matching route is `drop: prohibit` (ICMP answered)
  kLocal,            // route: to ferry's own address (its ICMP source); echo requests answered
  kCount
};
inline constexpr size_t kDropCount = static_cast<size_t>(Drop::kCount);

// snake_case names, used as JSON keys and in the README.
const char* toString(Drop drop) noexcept;

// A single-writer counter.
class Counter {
 public:
  void add(uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For values that are copies of a kernel counter (a gauge).
  void set(uint64_t n) noexcept { value_.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

struct alignas(64) InterfaceCounters {
  Counter rx_packets;
  Counter rx_bytes;
  Counter tx_packets;
  Counter tx_bytes;
  Counter bfd_rx;  // BFD packets handed to the control module
  Counter tx_gso_batches;     // sendmsg calls that carried several datagrams (UDP GSO)
  Counter tx_gso_refused;     // times the kernel refused GSO and it went off (batches resent one by one)
  Counter rx_gro_trains;      // receives with GRO on: rx_packets / rx_gro_trains = datagrams per train
  Counter rx_gro_cut;         // GRO trains larger than their buffer (cut by the kernel; dropped, counted as truncated)
  // Times the provided-buffer ring ran dry: receiving paused until sends
  // returned buffers. Not a drop: the datagrams wait in the socket queue
  // (if that overflows, the kernel counts it: rx_queue_overflow).
  Counter rx_no_buffer;
  // Datagrams (of rx_packets) this dataplane received on a stalled
  // dataplane's socket for this interface (rescue.h).
  Counter rx_rescued;
  Counter icmp_tx;            // route: ICMP errors sent back through this interface
  Counter icmp_rate_limited;  // route: ICMP errors the rate limit suppressed
  Counter icmp_send_errors;   // route: ICMP errors built but not sent (the kernel refused the send)
  std::array<Counter, kDropCount> drops;

  void drop(Drop reason, uint64_t n = 1) noexcept { drops[static_cast<size_t>(reason)].add(n); }
};

struct alignas(64) DataplaneCounters {
  explicit DataplaneCounters(size_t interfaces) : per_interface(interfaces) {}
  std::vector<InterfaceCounters> per_interface;
  Counter loops;  // event-loop turns: a heartbeat for the supervisor and a batch-size denominator
  Counter cqes;   // completions handled
  Counter ring_errors;  // io_uring_submit_and_wait failures (not expected; visible if they happen)
  // The dataplane thread's id (gettid), set when its loop starts: the BFD
  // thread asks the kernel whether that thread is runnable (ReceivePath).
  std::atomic<int> thread_id{0};
};

// route mode: packets forwarded per route of one route table, per dataplane
// (each dataplane writes only its own row). It belongs to the table's
// forwarding snapshots, so a liveness change keeps it. A new table (reload,
// FPM batch) gets new counters that carry each kept prefix's count over
// (carryOver), so a prefix's total never goes back while the prefix stays:
// exact, although dataplanes may still count on the old table for a batch.
//
//   carryOver:  next.carried[r] = old.total(i) = old.handed[i]   (i = from[r])
//   total(r)    = carried[r] + Σ own[r] + (old alive ? old.total(i) − old.handed[i] : 0)
//   ~old:       next.carried[r] += old.total(i) − old.handed[i]; unlinks
//
// The old counters live until no snapshot refers to them (Published<>
// reclamation, so no dataplane can count on them any more); they keep their
// successor alive until then. total() and the hand-over share one mutex,
// which dataplanes never take (at() is a plain relaxed add).
class RouteCounters {
 public:
  RouteCounters(unsigned dataplanes, size_t routes);
  ~RouteCounters();
  RouteCounters(const RouteCounters&) = delete;
  RouteCounters& operator=(const RouteCounters&) = delete;

  Counter& at(unsigned dataplane, uint32_t route) noexcept {
    return counts_[size_t(dataplane) * routes_ + route];
  }
  // Packets of `route`: this table's, and what the tables before it counted
  // for the same prefix.
  uint64_t total(uint32_t route) const;
  // Called once, before `next`'s table is published, when it replaces the
  // one `previous` counts for: from[r] is `previous`'s index of `next`'s
  // route r (RouteTable::indicesIn), UINT32_MAX for a new prefix. A null
  // `previous`, or one replaced before, carries nothing.
  static void carryOver(const std::shared_ptr<RouteCounters>& previous,
                        const std::shared_ptr<RouteCounters>& next, std::vector<uint32_t> from);

 private:
  uint64_t totalLocked(uint32_t route) const;

  size_t routes_;
  std::vector<Counter> counts_;
  // Under the mutex:
  std::vector<uint64_t> carried_;  // per route: from earlier tables
  // While the replaced table's counters live:
  RouteCounters* previous_ = nullptr;         // they clear it when they go
  std::vector<uint32_t> from_;                // per route: its index there
  std::vector<uint64_t> handed_;              // per route: the total carried over
  std::shared_ptr<RouteCounters> successor_;  // kept alive until this folds into it
};

// A plain snapshot of counters, summed however the caller likes.
struct CounterTotals {
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, bfd_rx = 0;
  uint64_t icmp_tx = 0, icmp_rate_limited = 0, tx_gso_batches = 0, tx_gso_refused = 0;
  uint64_t rx_gro_trains = 0, rx_gro_cut = 0, rx_no_buffer = 0, icmp_send_errors = 0;
  uint64_t rx_rescued = 0;
  std::array<uint64_t, kDropCount> drops{};

  void add(const InterfaceCounters& c) noexcept {
    rx_packets += c.rx_packets.get();
    rx_bytes += c.rx_bytes.get();
    tx_packets += c.tx_packets.get();
    tx_bytes += c.tx_bytes.get();
    bfd_rx += c.bfd_rx.get();
    icmp_tx += c.icmp_tx.get();
    tx_gso_batches += c.tx_gso_batches.get();
    tx_gso_refused += c.tx_gso_refused.get();
    rx_gro_trains += c.rx_gro_trains.get();
    rx_gro_cut += c.rx_gro_cut.get();
    rx_no_buffer += c.rx_no_buffer.get();
    rx_rescued += c.rx_rescued.get();
    icmp_rate_limited += c.icmp_rate_limited.get();
    icmp_send_errors += c.icmp_send_errors.get();
    for (size_t i = 0; i < kDropCount; ++i) drops[i] += c.drops[i].get();
  }
  uint64_t droppedTotal() const noexcept {
    uint64_t sum = 0;
    for (auto d : drops) sum += d;
    return sum;
  }
};

}  // namespace ferry
