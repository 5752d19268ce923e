#include "ferry/gen/sender.h"

#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "ferry/gen/clock.h"

namespace ferry::gen {
namespace {

std::string familyName(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

std::string checkInner(const route::Prefix& p, Encap encap, const char* option) {
  if (p.isV6() != (encap == Encap::kIpv6))
    return std::string(option) + ": " + p.toString() + " is " +
           familyName(p.isV6() ? AF_INET6 : AF_INET) + " but --encap is " +
           std::string(toString(encap));
  return {};
}

}  // namespace

std::string validate(const SendConfig& c) {
  if (!c.to.isV4() && !c.to.isV6()) return "--to: missing destination ADDRESS:PORT";
  if (c.from) {
    if (c.from->family() != c.to.family())
      return "--from: " + c.from->host() + " is " + familyName(c.from->family()) + " but --to is " +
             familyName(c.to.family());
    if (c.from->port() != 0 && c.from->port() + uint64_t{c.flows} - 1 > 65535)
      return "--from: port " + std::to_string(c.from->port()) + " + " + std::to_string(c.flows) +
             " flows goes past 65535";
  }
  if (c.flows < 1 || c.flows > 65536)
    return "--flows: expected 1..65536, got " + std::to_string(c.flows);
  if (c.threads < 1 || c.threads > c.flows)
    return "--threads: expected 1..--flows (" + std::to_string(c.flows) +
           "; each thread sends its own flows), got " + std::to_string(c.threads);
  if (!(c.rate_pps >= 0) || !std::isfinite(c.rate_pps))
    return "--rate: expected a positive number of packets per second";
  if (!(c.duration_s >= 0) || !std::isfinite(c.duration_s))
    return "--duration: expected a positive number of seconds";
  if (c.count == 0 && c.duration_s == 0) return "--count/--duration: give at least one bound";
  if (c.sizes.empty()) return "--size: no packet size";
  const size_t min_size = minPacketSize(c.encap);
  for (uint32_t s : c.sizes) {
    if (s < min_size)
      return "--size: " + std::to_string(s) + " is below " + std::to_string(min_size) +
             ", the minimum with --encap " + std::string(toString(c.encap));
    if (s > kMaxPacketSize)
      return "--size: " + std::to_string(s) + " is above " + std::to_string(kMaxPacketSize);
  }
  if (c.gso) {
    if (std::any_of(c.sizes.begin(), c.sizes.end(), [&](uint32_t s) { return s != c.sizes[0]; }))
      return "--gso: needs a single packet size (--size), got " + std::to_string(c.sizes.size());
    if (c.sizes[0] > kGsoMaxBytes)
      return "--gso: size " + std::to_string(c.sizes[0]) + " is above " +
             std::to_string(kGsoMaxBytes);
  }
  if (c.batch < 1 || c.batch > 1024)
    return "--batch: expected 1..1024, got " + std::to_string(c.batch);
  if (c.end_marker_rounds > 100) return "end_marker_rounds: at most 100";
  if (c.encap != Encap::kNone && c.inner) {
    if (auto e = checkInner(c.inner->src, c.encap, "--inner-src"); !e.empty()) return e;
    if (auto e = checkInner(c.inner->dst, c.encap, "--inner-dst"); !e.empty()) return e;
  }
  return {};
}

// Preallocated sendmmsg state: packet slots (zeroed once; only headers are
// ever written, see PacketTemplate), one iovec and one GSO control block per
// message.
struct SendEngine::Buffers {
  struct alignas(cmsghdr) Control {
    uint8_t data[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::vector<uint8_t> arena;
  std::vector<mmsghdr> msgs;
  std::vector<iovec> iovs;
  std::vector<Control> controls;
  size_t stride = 0;
};

SendEngine::SendEngine(const SendConfig& config, std::vector<uint16_t> flows)
    : config_(config), buffers_(std::make_unique<Buffers>()) {
  if (!config_.inner) config_.inner = InnerConfig::defaults(config_.encap);
  const auto& sizes = config_.sizes;
  const size_t max_size = *std::max_element(sizes.begin(), sizes.end());
  size_t messages;
  if (config_.gso) {
    segments_ = std::clamp<size_t>(kGsoMaxBytes / max_size, 1, kGsoMaxSegments);
    messages = kGsoMessages;
    max_burst_ = segments_ * messages;
  } else {
    segments_ = 1;
    messages = config_.batch;
    max_burst_ = config_.batch;
  }
  auto& b = *buffers_;
  b.stride = max_size;
  b.arena.assign(max_burst_ * b.stride, 0);
  b.msgs.assign(messages, mmsghdr{});
  b.iovs.assign(messages, iovec{});
  b.controls.assign(messages, Buffers::Control{});
  for (size_t m = 0; m < messages; ++m) {
    msghdr& h = b.msgs[m].msg_hdr;
    h.msg_iov = &b.iovs[m];
    h.msg_iovlen = 1;
    if (config_.gso) {
      // Every message carries its segment size, so plain sends on the same
      // socket (end markers) are never segmented.
      h.msg_control = b.controls[m].data;
      h.msg_controllen = sizeof(b.controls[m].data);
      cmsghdr* cm = CMSG_FIRSTHDR(&h);
      cm->cmsg_level = SOL_UDP;
      cm->cmsg_type = UDP_SEGMENT;
      cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto seg = static_cast<uint16_t>(max_size);
      std::memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
    }
  }

  for (uint16_t id : flows)
    for (uint32_t size : sizes) templates_.emplace_back(config_.encap, *config_.inner, id, size);

  // Without --from: the wildcard address and port 0, as connect() would bind
  // implicitly.
  SockAddr any = config_.to.isV6() ? *SockAddr::parse("[::]:1") : SockAddr::v4(0, 1);
  any.setPort(0);
  UdpSocketOptions options;
  options.reuse_port = false;
  options.buffer_bytes = config_.sndbuf;
  for (uint16_t id : flows) {
    SockAddr local = config_.from.value_or(any);
    if (local.port() != 0) local.setPort(static_cast<uint16_t>(local.port() + id));
    auto opened = openUdpSocket(local, options);
    if (!opened) throw std::runtime_error(opened.error());
    Fd fd = std::move(opened).take();
    if (::connect(fd.get(), config_.to.sa(), config_.to.len()) != 0)
      throw std::runtime_error("connect " + config_.to.toString() + ": " + std::strerror(errno));
    flows_.push_back(Flow{id, std::move(fd), 0});
  }
}

SendEngine::~SendEngine() = default;

size_t SendEngine::sendBurst(size_t max_packets, uint64_t now_ns) noexcept {
  if (max_packets == 0 || flows_.empty()) return 0;
  const size_t n = std::min(max_packets, max_burst_);
  const size_t flow_index = cursor_;
  Flow& f = flows_[flow_index];
  cursor_ = cursor_ + 1 == flows_.size() ? 0 : cursor_ + 1;

  auto& b = *buffers_;
  const size_t nsizes = config_.sizes.size();
  const PacketTemplate* templates = &templates_[flow_index * nsizes];
  Header h{Kind::kData, f.id, 0, config_.run, now_ns};
  size_t messages;
  if (segments_ == 1) {
    size_t pos = size_pos_;
    for (size_t i = 0; i < n; ++i) {
      const PacketTemplate& t = templates[pos];
      pos = pos + 1 == nsizes ? 0 : pos + 1;
      uint8_t* slot = b.arena.data() + i * b.stride;
      h.seq = static_cast<uint32_t>(f.next_seq + i);
      t.write(h, slot);
      b.iovs[i] = iovec{slot, t.size()};
    }
    messages = n;
  } else {
    const PacketTemplate& t = templates[0];
    for (size_t i = 0; i < n; ++i) {
      h.seq = static_cast<uint32_t>(f.next_seq + i);
      t.write(h, b.arena.data() + i * b.stride);
    }
    messages = (n + segments_ - 1) / segments_;
    for (size_t m = 0; m < messages; ++m) {
      const size_t count = std::min(segments_, n - m * segments_);
      b.iovs[m] = iovec{b.arena.data() + m * segments_ * b.stride, count * b.stride};
    }
  }

  const int r = ::sendmmsg(f.fd.get(), b.msgs.data(), static_cast<unsigned>(messages), 0);
  if (r <= 0) {
    // ECONNREFUSED (an ICMP error from an earlier packet), ENOBUFS: the
    // packets were not sent; the flow sends the same sequence numbers next turn.
    if (r < 0 && errno != EINTR) ++errors_;
    return 0;
  }
  ++syscalls_;
  size_t sent = 0;
  uint64_t bytes = 0;
  for (int m = 0; m < r; ++m) bytes += b.iovs[m].iov_len;
  sent = segments_ == 1 ? static_cast<size_t>(r) : std::min(n, static_cast<size_t>(r) * segments_);
  f.next_seq += sent;
  size_pos_ = (size_pos_ + sent) % nsizes;
  packets_ += sent;
  bytes_ += bytes;
  return sent;
}

void SendEngine::sendEndMarkers(uint32_t total_flows, uint64_t now_ns) noexcept {
  uint8_t marker[kEndMarkerSize];
  uint8_t packet[ip::kIpv6Header + ip::kUdpHeader + kEndMarkerSize];
  for (const Flow& f : flows_) {
    const Header h{Kind::kEnd, f.id, static_cast<uint32_t>(f.next_seq), config_.run, now_ns};
    encodeEndMarker(h, EndMarker{f.next_seq, total_flows}, marker);
    const size_t size = encapsulate(config_.encap, *config_.inner, f.id, marker, packet);
    if (::send(f.fd.get(), packet, size, 0) == static_cast<ssize_t>(size)) ++end_markers_;
  }
}

std::vector<std::pair<uint16_t, uint64_t>> SendEngine::flowPackets() const {
  std::vector<std::pair<uint16_t, uint64_t>> out;
  for (const Flow& f : flows_) out.emplace_back(f.id, f.next_seq);
  return out;
}

Sender::Sender(const SendConfig& config) : config_(config) {
  if (auto error = validate(config_); !error.empty()) throw std::invalid_argument(error);
  if (!config_.inner) config_.inner = InnerConfig::defaults(config_.encap);
  states_ = std::make_unique<ThreadState[]>(config_.threads);
  for (uint32_t t = 0; t < config_.threads; ++t) {
    std::vector<uint16_t> flows;
    for (uint32_t f = t; f < config_.flows; f += config_.threads)
      flows.push_back(static_cast<uint16_t>(f));
    engines_.push_back(std::make_unique<SendEngine>(config_, std::move(flows)));
  }
}

Sender::~Sender() {
  stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Sender::start() {
  start_ns_ = monotonicNs();
  running_.store(config_.threads, std::memory_order_release);
  for (uint32_t t = 0; t < config_.threads; ++t)
    threads_.emplace_back([this, t] { threadMain(t); });
}

void Sender::threadMain(size_t index) noexcept {
  SendEngine& engine = *engines_[index];
  ThreadState& state = states_[index];
  const uint64_t threads = config_.threads;
  const uint64_t quota = config_.count == 0
                             ? std::numeric_limits<uint64_t>::max()
                             : config_.count / threads + (index < config_.count % threads);
  const uint64_t end_ns = config_.duration_s > 0
                              ? start_ns_ + static_cast<uint64_t>(config_.duration_s * 1e9)
                              : std::numeric_limits<uint64_t>::max();
  std::optional<Pacer> pacer;
  if (config_.rate_pps > 0)
    pacer.emplace(config_.rate_pps / static_cast<double>(threads), start_ns_);
  constexpr uint64_t kMaxSleepNs = 100'000'000;  // stop() is noticed within this
  uint64_t sent = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t now = monotonicNs();
    if (now >= end_ns || sent >= quota) break;
    uint64_t want = std::min<uint64_t>(engine.maxBurst(), quota - sent);
    if (pacer) {
      // Wait for a call's worth (up to 2.5 ms of packets) rather than send a
      // trickle of tiny batches.
      const uint64_t threshold = std::min(want, pacer->threshold());
      const uint64_t available = pacer->available(now);
      if (available < threshold) {
        sleepNs(std::min({pacer->waitNs(threshold, now), end_ns - now, kMaxSleepNs}));
        continue;
      }
      want = std::min(want, available);
    }
    const size_t n = engine.sendBurst(want, now);
    if (pacer) pacer->take(n);
    if (n > 0) {
      sent += n;
      state.last_send_ns = now;
      state.packets.store(engine.packets(), std::memory_order_relaxed);
      state.bytes.store(engine.bytes(), std::memory_order_relaxed);
    } else {
      state.errors.store(engine.errors(), std::memory_order_relaxed);
      sleepNs(50'000);  // ENOBUFS and friends: let the queue drain
    }
  }
  for (uint32_t round = 0; round < config_.end_marker_rounds; ++round) {
    if (round > 0) sleepNs(1'000'000);
    engine.sendEndMarkers(config_.flows, monotonicNs());
  }
  state.errors.store(engine.errors(), std::memory_order_relaxed);
  running_.fetch_sub(1, std::memory_order_release);
}

SendProgress Sender::progress() const noexcept {
  SendProgress p;
  for (uint32_t t = 0; t < config_.threads; ++t) {
    p.packets += states_[t].packets.load(std::memory_order_relaxed);
    p.bytes += states_[t].bytes.load(std::memory_order_relaxed);
    p.errors += states_[t].errors.load(std::memory_order_relaxed);
  }
  return p;
}

SendReport Sender::wait() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  SendReport r;
  r.to = config_.to.toString();
  r.run = config_.run;
  r.rate_pps = config_.rate_pps;
  r.flows = config_.flows;
  r.threads = config_.threads;
  r.sizes = config_.sizes;
  r.encap = config_.encap;
  r.gso = config_.gso;
  r.flow_packets.assign(config_.flows, 0);
  uint64_t last_ns = start_ns_;
  for (uint32_t t = 0; t < config_.threads; ++t) {
    const SendEngine& e = *engines_[t];
    r.packets += e.packets();
    r.bytes += e.bytes();
    r.send_errors += e.errors();
    r.syscalls += e.syscalls();
    r.end_markers += e.endMarkers();
    for (const auto& [id, n] : e.flowPackets()) r.flow_packets[id] = n;
    last_ns = std::max(last_ns, states_[t].last_send_ns);
  }
  r.duration_s = static_cast<double>(last_ns - start_ns_) / 1e9;
  if (r.duration_s > 0) {
    r.pps = static_cast<double>(r.packets) / r.duration_s;
    r.bps = static_cast<double>(r.bytes) * 8 / r.duration_s;
  }
  return r;
}

}  // namespace ferry::gen
