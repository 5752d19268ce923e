// The generator: N threads, each with its share of the flows (one UDP socket
// per flow, so each flow has its own source port), sending with sendmmsg
// (and UDP GSO) under a Pacer (rate.h).
//
//   Sender sender(config);     // validates, opens and connects every socket (throws)
//   sender.start();            // threads run until count/duration or stop()
//   ... sender.progress() ...  // live totals, any thread
//   SendReport r = sender.wait();
//
// A run ends with end markers: each flow sends `end_marker_rounds` copies,
// 1 ms apart, of its packet count, so a sink knows the tail it did not see
// (see wire.h). Flows take turns per sendmmsg call: a call carries up to
// `batch` packets (with GSO up to 8 messages of up to 64 segments) of one flow.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/gen/rate.h"
#include "ferry/gen/report.h"
#include "ferry/gen/wire.h"
#include "ferry/net/address.h"
#include "ferry/net/socket.h"

namespace ferry::gen {

struct SendConfig {
  SockAddr to;
  // Source address; port 0 lets the kernel pick each flow's port, port P
  // gives flow f port P + f. Unset: the kernel picks address and ports.
  std::optional<SockAddr> from;
  double rate_pps = 0;                 // 0 = as fast as possible (--bitrate converts, rate.h)
  std::vector<uint32_t> sizes = {64};  // UDP payload bytes, sent in this order, cycling
  uint32_t flows = 1;                  // 1 .. 65536
  uint64_t count = 0;                  // data packets in all; 0 = no count bound
  double duration_s = 0;               // 0 = no time bound; at least one bound is needed
  uint32_t threads = 1;                // 1 .. flows
  Encap encap = Encap::kNone;
  std::optional<InnerConfig> inner;  // unset: InnerConfig::defaults(encap)
  bool gso = false;                  // UDP_SEGMENT; needs a single size
  uint32_t batch = 64;               // packets per sendmmsg without GSO, 1 .. 1024
  uint16_t run = 0;                  // run id in every header
  uint32_t end_marker_rounds = 3;
  uint32_t sndbuf = 4 << 20;  // SO_SNDBUF(FORCE) per socket, bytes; 0 = default
};

// Empty when `config` is usable; else a message that names the CLI option,
// e.g. "--size: 40 is below 64, the minimum with --encap ipv6".
std::string validate(const SendConfig& config);

// GSO limits: segments per message (the kernel's UDP_MAX_SEGMENTS is 64 on
// older kernels) and bytes per message; messages per sendmmsg.
inline constexpr size_t kGsoMaxSegments = 64;
inline constexpr size_t kGsoMaxBytes = 65000;
inline constexpr size_t kGsoMessages = 8;

// One thread's share of a run: its flows' sockets, buffers and sequence
// numbers. Not thread-safe. Exposed so that benchmarks can drive one directly.
class SendEngine {
 public:
  // Opens, binds and connects one socket per flow id in `flows`; throws
  // std::runtime_error naming the address on failure.
  SendEngine(const SendConfig& config, std::vector<uint16_t> flows);
  ~SendEngine();
  SendEngine(const SendEngine&) = delete;
  SendEngine& operator=(const SendEngine&) = delete;

  // The most packets one sendBurst() can send.
  size_t maxBurst() const noexcept { return max_burst_; }

  // Sends up to `max_packets` (<= maxBurst()) data packets, stamped `now_ns`,
  // on the next flow in turn with one sendmmsg. Returns how many the kernel
  // took; 0 after a transient error (counted; the same sequence numbers go
  // out on the flow's next turn).
  size_t sendBurst(size_t max_packets, uint64_t now_ns) noexcept;

  // One end marker for every flow of this engine.
  void sendEndMarkers(uint32_t total_flows, uint64_t now_ns) noexcept;

  uint64_t packets() const noexcept { return packets_; }
  uint64_t bytes() const noexcept { return bytes_; }
  uint64_t errors() const noexcept { return errors_; }
  uint64_t syscalls() const noexcept { return syscalls_; }
  uint64_t endMarkers() const noexcept { return end_markers_; }
  // (flow id, data packets sent) for each flow of this engine.
  std::vector<std::pair<uint16_t, uint64_t>> flowPackets() const;

 private:
  struct Flow {
    uint16_t id;
    Fd fd;
    uint64_t next_seq;
  };
  struct Buffers;

  SendConfig config_;
  std::vector<Flow> flows_;
  std::vector<PacketTemplate> templates_;  // [flow index * sizes + size index]
  std::unique_ptr<Buffers> buffers_;
  size_t max_burst_ = 0;
  size_t segments_ = 1;  // GSO segments per message (1 without GSO)
  size_t cursor_ = 0;    // next flow index
  size_t size_pos_ = 0;  // position in config_.sizes
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;
  uint64_t errors_ = 0;
  uint64_t syscalls_ = 0;
  uint64_t end_markers_ = 0;
};

struct SendProgress {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
};

class Sender {
 public:
  // Validates (std::invalid_argument with validate()'s message) and opens
  // every socket (std::runtime_error).
  explicit Sender(const SendConfig& config);
  ~Sender();  // stops and joins
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void start();
  // Ends the data early; end markers still go out.
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool done() const noexcept { return running_.load(std::memory_order_acquire) == 0; }
  SendProgress progress() const noexcept;
  // Joins the threads; call once.
  SendReport wait();

 private:
  struct alignas(64) ThreadState {
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> errors{0};
    uint64_t last_send_ns = 0;  // written by the thread, read after join
  };
  void threadMain(size_t index) noexcept;

  SendConfig config_;
  std::vector<std::unique_ptr<SendEngine>> engines_;
  std::unique_ptr<ThreadState[]> states_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<uint32_t> running_{0};
  uint64_t start_ns_ = 0;
};

}  // namespace ferry::gen
