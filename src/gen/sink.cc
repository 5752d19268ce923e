#include "ferry/gen/sink.h"

#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "ferry/gen/clock.h"

namespace ferry::gen {

std::string validate(const SinkConfig& c) {
  if (!c.listen.isV4() && !c.listen.isV6()) return "--listen: missing ADDRESS:PORT";
  if (!(c.duration_s >= 0) || !std::isfinite(c.duration_s))
    return "--duration: expected a positive number of seconds";
  if (!(c.idle_s >= 0) || !std::isfinite(c.idle_s))
    return "--idle: expected a positive number of seconds";
  if (c.batch < 1 || c.batch > 1024)
    return "--batch: expected 1..1024, got " + std::to_string(c.batch);
  return {};
}

// A buffer per message big enough for any datagram or GRO buffer (64 KiB).
struct Sink::Buffers {
  static constexpr size_t kBufferSize = 65536;
  struct alignas(cmsghdr) Control {
    uint8_t data[CMSG_SPACE(sizeof(int)) * 2];
  };
  std::vector<uint8_t> arena;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<Control> controls;
};

Sink::Sink(const SinkConfig& config)
    : config_(config),
      buffers_(std::make_unique<Buffers>()),
      collector_(CollectorConfig{config.decap, config.run}) {
  if (auto error = validate(config_); !error.empty()) throw std::invalid_argument(error);
  UdpSocketOptions options;
  options.reuse_port = false;
  options.buffer_bytes = config_.rcvbuf;
  auto opened = openUdpSocket(config_.listen, options);
  if (!opened) throw std::runtime_error(opened.error());
  fd_ = std::move(opened).take();
  const int one = 1;
  if (config_.gro && ::setsockopt(fd_.get(), SOL_UDP, UDP_GRO, &one, sizeof(one)) != 0)
    throw std::runtime_error("UDP_GRO on " + config_.listen.toString() + ": " +
                             std::strerror(errno));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  local_ = SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(config_.listen);
  auto& b = *buffers_;
  b.arena.assign(config_.batch * Buffers::kBufferSize, 0);
  b.msgs.assign(config_.batch, mmsghdr{});
  b.iovs.assign(config_.batch, iovec{});
  b.controls.assign(config_.batch, Buffers::Control{});
  for (size_t i = 0; i < config_.batch; ++i) {
    b.iovs[i] = iovec{b.arena.data() + i * Buffers::kBufferSize, Buffers::kBufferSize};
    b.msgs[i].msg_hdr.msg_iov = &b.iovs[i];
    b.msgs[i].msg_hdr.msg_iovlen = 1;
    b.msgs[i].msg_hdr.msg_control = b.controls[i].data;
    b.msgs[i].msg_hdr.msg_controllen = sizeof(b.controls[i].data);
  }
}

Sink::~Sink() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void Sink::start() {
  thread_ = std::thread([this] { threadMain(); });
}

SinkProgress Sink::progress() const noexcept {
  return SinkProgress{packets_.load(std::memory_order_relaxed),
                      bytes_.load(std::memory_order_relaxed), lost_.load(std::memory_order_relaxed),
                      datagrams_.load(std::memory_order_relaxed)};
}

void Sink::handleBatch(int received, uint64_t now_ns) noexcept {
  auto& b = *buffers_;
  for (int i = 0; i < received; ++i) {
    msghdr& h = b.msgs[i].msg_hdr;
    const uint8_t* data = b.arena.data() + static_cast<size_t>(i) * Buffers::kBufferSize;
    const size_t len = b.msgs[i].msg_len;
    if (h.msg_flags & MSG_TRUNC) {
      ++truncated_;
    } else {
      size_t segment = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm != nullptr; cm = CMSG_NXTHDR(&h, cm)) {
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
          int value = 0;
          std::memcpy(&value, CMSG_DATA(cm), sizeof(value));
          if (value > 0) segment = static_cast<size_t>(value);
        }
      }
      if (segment == 0 || len <= segment) {
        collector_.onDatagram({data, len}, now_ns);
      } else {
        // A GRO buffer: datagrams of `segment` bytes, the last one shorter or equal.
        ++gro_buffers_;
        for (size_t off = 0; off < len; off += segment)
          collector_.onDatagram({data + off, std::min(segment, len - off)}, now_ns);
      }
    }
    // The kernel overwrote these; give the next call the full sizes back.
    h.msg_controllen = sizeof(b.controls[i].data);
    h.msg_flags = 0;
  }
  const CollectorTotals& t = collector_.totals();
  packets_.store(t.packets, std::memory_order_relaxed);
  bytes_.store(t.bytes, std::memory_order_relaxed);
  lost_.store(t.lost(), std::memory_order_relaxed);
  datagrams_.store(t.datagrams + truncated_, std::memory_order_relaxed);
}

void Sink::threadMain() noexcept {
  constexpr uint64_t kNever = std::numeric_limits<uint64_t>::max();
  constexpr uint64_t kMaxWaitNs = 100'000'000;  // stop() is noticed within this
  const uint64_t start_ns = monotonicNs();
  const uint64_t end_ns =
      config_.duration_s > 0 ? start_ns + static_cast<uint64_t>(config_.duration_s * 1e9) : kNever;
  const uint64_t idle_ns = config_.idle_s > 0 ? static_cast<uint64_t>(config_.idle_s * 1e9) : 0;
  uint64_t last_rx_ns = 0;  // 0: nothing yet
  auto& b = *buffers_;
  const char* reason = "stopped";
  while (!stop_.load(std::memory_order_relaxed)) {
    const int n = ::recvmmsg(fd_.get(), b.msgs.data(), config_.batch, MSG_DONTWAIT, nullptr);
    const uint64_t now = monotonicNs();
    if (n > 0) {
      handleBatch(n, now);
      last_rx_ns = now;
      if (config_.count && collector_.totals().packets >= config_.count) {
        reason = "count";
        break;
      }
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      error_ = std::string("recvmmsg on ") + local_.toString() + ": " + std::strerror(errno);
      reason = "error";
      break;
    }
    if (now >= end_ns) {
      reason = "duration";
      break;
    }
    if (n > 0) continue;  // more may be queued: read again before waiting
    // Nothing queued: check the quiet-time conditions, then wait for the
    // socket or the nearest deadline.
    uint64_t deadline = std::min(end_ns, now + kMaxWaitNs);
    if (last_rx_ns) {
      if (idle_ns) {
        if (now - last_rx_ns >= idle_ns) {
          reason = "idle";
          break;
        }
        deadline = std::min(deadline, last_rx_ns + idle_ns);
      }
      if (config_.until_end && collector_.complete()) {
        if (now - last_rx_ns >= kEndDrainNs) {
          reason = "end";
          break;
        }
        deadline = std::min(deadline, last_rx_ns + kEndDrainNs);
      }
    }
    pollfd pfd{fd_.get(), POLLIN, 0};
    const uint64_t wait_ns = deadline > now ? deadline - now : 0;
    ::poll(&pfd, 1, static_cast<int>((wait_ns + 999'999) / 1'000'000));
  }
  stop_reason_ = reason;
  done_.store(true, std::memory_order_release);
}

SinkReport Sink::wait() {
  if (thread_.joinable()) thread_.join();
  SinkReport r;
  collector_.fill(r);
  r.listen = local_.toString();
  r.gro_buffers = gro_buffers_;
  r.invalid += truncated_;
  r.datagrams += truncated_;
  r.stop_reason = stop_reason_.empty() ? "stopped" : stop_reason_;
  r.error = error_;
  r.socket_drops = socketDrops(fd_.get());
  return r;
}

}  // namespace ferry::gen
