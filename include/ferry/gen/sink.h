// The sink: one UDP socket read with recvmmsg (UDP_GRO buffers split by their
// segment size) on one thread, feeding a Collector.
//
//   Sink sink(config);            // binds (throws); localAddress() is final now
//   sink.start();
//   ... sink.progress() ...       // live totals, any thread
//   SinkReport r = sink.wait();   // after it ended on count/duration/idle/end or stop()
//
// Ends when the first of these holds:
//   count      `count` unique data packets of the run counted
//   duration   `duration_s` since start()
//   idle       no datagram for `idle_s`, once one has arrived
//   end        (until_end) every flow of the run sent its end marker, and no
//              datagram came for kEndDrainNs after that (late packets of a
//              reordering path still count)
//   stopped    stop() was called
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "ferry/gen/collector.h"
#include "ferry/gen/report.h"
#include "ferry/net/address.h"
#include "ferry/net/socket.h"

namespace ferry::gen {

inline constexpr uint64_t kEndDrainNs = 50'000'000;

struct SinkConfig {
  SockAddr listen;         // port 0: the kernel picks (see localAddress())
  uint64_t count = 0;      // 0 = no count bound
  double duration_s = 0;   // 0 = no time bound
  double idle_s = 0;       // 0 = not ending on idle
  bool until_end = false;  // --expect-from-gen: end with the generator's end markers
  bool decap = false;
  bool gro = true;              // UDP_GRO: the kernel may hand over coalesced buffers
  uint32_t batch = 64;          // datagrams (or GRO buffers) per recvmmsg, 1 .. 1024
  std::optional<uint16_t> run;  // count only this run id
  uint32_t rcvbuf = 32 << 20;   // SO_RCVBUF(FORCE), bytes; room for bursts and scheduling stalls
};

// Empty when usable, else a message naming the CLI option.
std::string validate(const SinkConfig& config);

struct SinkProgress {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t lost = 0;  // running: gaps so far (the tail is known at the end)
  uint64_t datagrams = 0;
};

class Sink {
 public:
  // Validates (std::invalid_argument) and binds (std::runtime_error).
  explicit Sink(const SinkConfig& config);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  const SockAddr& localAddress() const noexcept { return local_; }
  void start();
  void stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
  bool done() const noexcept { return done_.load(std::memory_order_acquire); }
  SinkProgress progress() const noexcept;
  // Joins the thread; call once.
  SinkReport wait();

 private:
  struct Buffers;
  void threadMain() noexcept;
  void handleBatch(int received, uint64_t now_ns) noexcept;

  SinkConfig config_;
  SockAddr local_;
  Fd fd_;
  std::unique_ptr<Buffers> buffers_;
  Collector collector_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};
  std::atomic<uint64_t> packets_{0};
  std::atomic<uint64_t> bytes_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> datagrams_{0};
  uint64_t gro_buffers_ = 0;  // thread-owned until wait()
  uint64_t truncated_ = 0;
  std::string stop_reason_;
  std::string error_;  // what failed when stop_reason_ is "error"
};

}  // namespace ferry::gen
