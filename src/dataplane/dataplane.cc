#include "ferry/dataplane.h"

#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <netinet/udp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ferry/route/icmp.h"
#include "ferry/user_data.h"

namespace ferry {
namespace {

// All of a dataplane's sockets share one provided-buffer group.
constexpr uint16_t kBufferGroup = 0;

std::string errnoText(int err) { return std::strerror(err); }

uint64_t monotonicNanos() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

Drop dropFor(route::Verdict verdict) noexcept {
  switch (verdict) {
    case route::Verdict::kBadInnerHeader: return Drop::BadInnerHeader;
    case route::Verdict::kTtlExceeded: return Drop::TtlExceeded;
    case route::Verdict::kMartian: return Drop::Martian;
    case route::Verdict::kNoRoute: return Drop::NoRoute;
    case route::Verdict::kAllNextHopsDown: return Drop::AllNextHopsDown;
    case route::Verdict::kForward: break;
  }
  return Drop::BadInnerHeader;
}

}  // namespace

Dataplane::Dataplane(DataplaneSettings settings, std::vector<DataplaneInterface> interfaces,
                     Published<ForwardingState>& forwarding, DataplaneCounters& counters,
                     BfdHandoff* bfd)
    : settings_(settings),
      interfaces_(std::move(interfaces)),
      forwarding_(forwarding),
      counters_(counters),
      bfd_(bfd),
      rearm_(interfaces_.size(), 0),
      icmp_bucket_(settings_.icmp_rate, settings_.icmp_burst, monotonicNanos()) {}

Dataplane::~Dataplane() { close(); }

void Dataplane::close() noexcept {
  if (ring_ready_) {
    if (buf_ring_ != nullptr) io_uring_unregister_buf_ring(&ring_, kBufferGroup);
    // The ring's own teardown is asynchronous in the kernel; unregistering the
    // sockets first drops its references now, so the ports are free as soon
    // as the daemon has exited.
    io_uring_unregister_files(&ring_);
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
  }
  if (buf_ring_ != nullptr) munmap(buf_ring_, buf_ring_bytes_);
  if (buffers_ != nullptr) munmap(buffers_, buffers_bytes_);
  buf_ring_ = nullptr;
  buffers_ = nullptr;
}

std::string Dataplane::setup() {
  const std::string who = "dataplane " + std::to_string(settings_.id) + ": ";
  const Tuning& t = settings_.tuning;
  buffer_count_ = t.buffers;
  // Cache-line multiples keep every datagram's start aligned.
  stride_ = (kHeadroom + t.max_datagram + 63) & ~63u;

  wake_fd_ = Fd(eventfd(0, EFD_CLOEXEC));
  if (!wake_fd_) return who + "eventfd: " + errnoText(errno);

  io_uring_params params{};
  // One thread owns the ring: completions run only when it asks
  // (DEFER_TASKRUN), which keeps task work off the receive path.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL;
  // Each buffer yields at most a receive and a send completion at a time.
  params.cq_entries = 2 * buffer_count_ + 2 * t.ring_entries;
  int ret = io_uring_queue_init_params(t.ring_entries, &ring_, &params);
  if (ret < 0) {
    std::string hint;
    if (ret == -ENOSYS || ret == -EPERM)
      hint = " (io_uring unavailable: check sysctl kernel.io_uring_disabled and seccomp)";
    else if (ret == -EINVAL)
      hint = " (needs Linux >= 6.1 for SINGLE_ISSUER|DEFER_TASKRUN)";
    else if (ret == -ENOMEM)
      hint = " (locked-memory limit too low? see ulimit -l)";
    return who + "io_uring_queue_init: " + errnoText(-ret) + hint;
  }
  ring_ready_ = true;
  if (!(params.features & IORING_FEAT_NODROP))
    return who + "this kernel's io_uring may drop completions (no IORING_FEAT_NODROP); needs Linux >= 5.19";

  std::vector<int> fds;
  for (const auto& i : interfaces_) fds.push_back(i.fd);
  ret = io_uring_register_files(&ring_, fds.data(), static_cast<unsigned>(fds.size()));
  if (ret < 0) return who + "io_uring_register_files: " + errnoText(-ret);

  // The buffers, and the ring through which the kernel takes them.
  buffers_bytes_ = size_t(stride_) * buffer_count_;
  void* mem = mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED) return who + "mmap of " + std::to_string(buffers_bytes_) + " buffer bytes: " + errnoText(errno);
  buffers_ = static_cast<uint8_t*>(mem);
  madvise(buffers_, buffers_bytes_, MADV_HUGEPAGE);  // fewer TLB misses when THP is on

  buf_ring_bytes_ = sizeof(io_uring_buf) * buffer_count_;
  mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return who + "mmap of the buffer ring: " + errnoText(errno);
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = buffer_count_;
  reg.bgid = kBufferGroup;
  ret = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (ret < 0) {
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    return who + "io_uring_register_buf_ring: " + errnoText(-ret) + " (needs Linux >= 5.19)";
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(buffer_count_);
  for (uint32_t i = 0; i < buffer_count_; ++i)
    io_uring_buf_ring_add(buf_ring_, buffer(uint16_t(i)), stride_, uint16_t(i), mask, int(i));
  io_uring_buf_ring_advance(buf_ring_, int(buffer_count_));

  tx_.resize(buffer_count_);
  runs_.resize(interfaces_.size());
  gso_off_.assign(interfaces_.size(), 0);
  pending_runs_.reserve(interfaces_.size());
  if (t.gso) {
    // Every batch holds at least two buffers.
    batches_.resize(std::min<uint32_t>(buffer_count_ / 2, 1024));
    for (size_t i = batches_.size(); i > 0; --i) free_batches_.push_back(uint16_t(i - 1));
  }
  recv_msg_.msg_namelen = kNameRoom;
  return {};
}

io_uring_sqe* Dataplane::sqe() noexcept {
  io_uring_sqe* s = io_uring_get_sqe(&ring_);
  if (s == nullptr) {
    // The submission queue is full mid-batch: hand what we have to the kernel.
    io_uring_submit(&ring_);
    s = io_uring_get_sqe(&ring_);
  }
  return s;
}

void Dataplane::armReceive(uint16_t interface) noexcept {
  io_uring_sqe* s = sqe();
  if (s == nullptr) {
    rearm_[interface] = 1;  // try again next turn
    return;
  }
  // Multishot recvmsg needs Linux >= 6.0; one request serves many datagrams.
  io_uring_prep_recvmsg_multishot(s, interface, &recv_msg_, 0);
  s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, UserData{Op::Recv, interface, 0}.pack());
  rearm_[interface] = 0;
  ++active_receives_;
}

void Dataplane::armWake() noexcept {
  io_uring_sqe* s = sqe();
  if (s == nullptr) return;
  io_uring_prep_read(s, wake_fd_.get(), &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(s, UserData{Op::Wake, 0, 0}.pack());
}

void Dataplane::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  if (wake_fd_) {
    notifyEventFd(wake_fd_.get());
  }
}

void Dataplane::beginStop() noexcept {
  if (stopping_) return;
  stopping_ = true;
  // Cancel each multishot receive; datagrams already received are still
  // forwarded, and sends in flight complete before run() returns.
  for (uint16_t i = 0; i < interfaces_.size(); ++i) {
    io_uring_sqe* s = sqe();
    if (s == nullptr) continue;
    io_uring_prep_cancel64(s, UserData{Op::Recv, i, 0}.pack(), 0);
    io_uring_sqe_set_data64(s, UserData{Op::Cancel, i, 0}.pack());
  }
}

void Dataplane::run() noexcept {
  for (uint16_t i = 0; i < interfaces_.size(); ++i) armReceive(i);
  armWake();
  if (stop_requested_.load(std::memory_order_acquire)) beginStop();

  while (true) {
    const int ret = io_uring_submit_and_wait(&ring_, 1);
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // Not expected with a healthy ring; counted so it is visible, and the
      // loop goes on (the next turn retries).
      counters_.ring_errors.add();
    }
    const ForwardingState* state = forwarding_.enter(settings_.id);
    unsigned head;
    unsigned handled = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      handle(*cqe, *state);
      ++handled;
    }
    io_uring_cq_advance(&ring_, handled);
    forwarding_.leave(settings_.id);
    for (uint16_t egress : pending_runs_) {
      flush(egress);
      runs_[egress].listed = false;
    }
    pending_runs_.clear();

    if (pending_recycles_ != 0) {
      io_uring_buf_ring_advance(buf_ring_, pending_recycles_);
      pending_recycles_ = 0;
    }
    if (!stopping_) {
      for (uint16_t i = 0; i < interfaces_.size(); ++i)
        if (rearm_[i]) armReceive(i);
    }
    counters_.loops.add();
    counters_.cqes.add(handled);
    if (stopping_ && active_receives_ == 0 && inflight_sends_ == 0) break;
  }
}

void Dataplane::handle(const io_uring_cqe& cqe, const ForwardingState& state) noexcept {
  const UserData ud = UserData::unpack(cqe.user_data);
  switch (ud.op) {
    case Op::Recv:
      onReceive(ud.interface, cqe, state);
      break;
    case Op::Send:
    case Op::Local:
      onSent(ud.op, ud.interface, ud.buffer, cqe.res);
      break;
    case Op::Wake:
      if (stop_requested_.load(std::memory_order_acquire))
        beginStop();
      else
        armWake();
      break;
    case Op::SendBatch:
      onBatchSent(ud.interface, ud.buffer, cqe.res);
      break;
    case Op::Cancel:
      break;
  }
}

void Dataplane::onReceive(uint16_t interface, const io_uring_cqe& cqe,
                          const ForwardingState& state) noexcept {
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    // The multishot request ended (error, cancel, or the kernel gave up):
    // re-armed after this batch unless we are stopping.
    --active_receives_;
    rearm_[interface] = 1;
  }
  InterfaceCounters& c = counters_.per_interface[interface];
  if (cqe.res < 0) {
    // ENOBUFS: every buffer is in flight. The datagram waits in the socket
    // queue; receiving resumes when sends complete and buffers return.
    if (cqe.res == -ENOBUFS) c.drop(Drop::NoBuffer);
    return;
  }
  if (!(cqe.flags & IORING_CQE_F_BUFFER)) return;
  const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t* buf = buffer(id);
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_msg_);
  if (out == nullptr) {
    c.drop(Drop::Truncated);
    recycle(id);
    return;
  }
  c.rx_packets.add();
  c.rx_bytes.add(out->payloadlen);
  if ((out->flags & MSG_TRUNC) || out->payloadlen > settings_.tuning.max_datagram) {
    c.drop(Drop::Truncated);
    recycle(id);
    return;
  }
  const DataplaneInterface& in = interfaces_[interface];
  const auto* name = static_cast<const sockaddr*>(io_uring_recvmsg_name(out));
  const socklen_t name_len = out->namelen < kNameRoom ? out->namelen : kNameRoom;
  if (in.peer && !in.peer->sameEndpoint(name, name_len)) {
    c.drop(Drop::BadSource);
    recycle(id);
    return;
  }
  auto* payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &recv_msg_));
  const uint32_t length = out->payloadlen;
  // In-band BFD: version 1 in the top 3 bits of the first byte (0x20–0x3F),
  // a Length field (byte 3) of 24..datagram, and at most 64 bytes. IPv4
  // starts 0x4_, IPv6 0x6_, so route-mode data never looks like this; in
  // relay mode only a short datagram that also has a plausible Length does.
  if (in.bfd_inband && length >= 24 && length <= BfdFrame::kMaxBytes && (payload[0] >> 5) == 1 &&
      payload[3] >= 24 && payload[3] <= length) {
    if (bfd_ == nullptr || !in.peer) {
      c.drop(Drop::BadBfd);
    } else if (!bfd_->push(settings_.id, interface, *in.peer, payload, length)) {
      c.drop(Drop::BfdQueueFull);
    } else {
      c.bfd_rx.add();
    }
    recycle(id);
    return;
  }
  forward(interface, id, payload, length, name, name_len, state);
}

void Dataplane::forward(uint16_t ingress, uint16_t buffer_id, uint8_t* payload, uint32_t length,
                        const sockaddr* source, socklen_t source_len,
                        const ForwardingState& state) noexcept {
  if (state.mode == Mode::Route) {
    route(ingress, buffer_id, payload, length, source, source_len, state);
    return;
  }
  InterfaceCounters& c = counters_.per_interface[ingress];
  const uint16_t egress = state.relay_to[ingress];
  if (egress == ForwardingState::kNoInterface) {
    c.drop(Drop::NoRoute);
    recycle(buffer_id);
    return;
  }
  if (!state.up[egress]) {
    c.drop(Drop::EgressDown);
    recycle(buffer_id);
    return;
  }
  queue(egress, buffer_id, payload, length);
}

void Dataplane::route(uint16_t ingress, uint16_t buffer_id, uint8_t* payload, uint32_t length,
                      const sockaddr* source, socklen_t source_len,
                      const ForwardingState& state) noexcept {
  InterfaceCounters& c = counters_.per_interface[ingress];
  const route::Decision d = state.routes->forward({payload, length}, state.up_mask);
  if (d.verdict == route::Verdict::kForward) {
    state.route_counters->at(settings_.id, d.route).add();
    queue(uint16_t(d.interface), buffer_id, payload, d.length);
    return;
  }
  c.drop(dropFor(d.verdict));
  // An ICMP error goes back the way the packet came: to the ingress
  // interface's peer, or (no peer) to the datagram's source. It is built in
  // place in the received buffer, which stays ours until the send completes.
  const auto& icmp_source = d.family == route::Family::kIpv4 ? state.icmp_source_v4 : state.icmp_source_v6;
  if (d.icmp && icmp_source) {
    if (!icmp_bucket_.tryTake(monotonicNanos())) {
      c.icmp_rate_limited.add();
    } else {
      const size_t room = stride_ - size_t(payload - buffer(buffer_id));
      const size_t n = route::buildIcmpError(*d.icmp, *icmp_source, {payload, length}, {payload, room});
      if (n != 0) {
        const DataplaneInterface& in = interfaces_[ingress];
        if (in.peer)
          send(Op::Local, ingress, buffer_id, payload, uint32_t(n), in.peer->sa(), in.peer->len());
        else
          send(Op::Local, ingress, buffer_id, payload, uint32_t(n), source, source_len);
        return;
      }
    }
  }
  recycle(buffer_id);
}

void Dataplane::send(Op op, uint16_t egress, uint16_t buffer_id, uint8_t* payload,
                     uint32_t length, const sockaddr* to, socklen_t to_len) noexcept {
  io_uring_sqe* s = sqe();
  if (s == nullptr) {
    counters_.per_interface[egress].drop(Drop::SendError);
    recycle(buffer_id);
    return;
  }
  TxSlot& slot = tx_[buffer_id];
  slot.iov.iov_base = payload;
  slot.iov.iov_len = length;
  slot.msg = {};
  slot.msg.msg_name = const_cast<sockaddr*>(to);
  slot.msg.msg_namelen = to_len;
  slot.msg.msg_iov = &slot.iov;
  slot.msg.msg_iovlen = 1;
  io_uring_prep_sendmsg(s, egress, &slot.msg, 0);
  s->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(s, UserData{op, egress, buffer_id}.pack());
  ++inflight_sends_;
}

void Dataplane::sendToPeer(uint16_t egress, uint16_t buffer_id, uint8_t* payload,
                           uint32_t length) noexcept {
  const SockAddr& to = *interfaces_[egress].peer;
  send(Op::Send, egress, buffer_id, payload, length, to.sa(), to.len());
}

void Dataplane::queue(uint16_t egress, uint16_t buffer_id, uint8_t* payload,
                      uint32_t length) noexcept {
  if (!settings_.tuning.gso || gso_off_[egress] != 0) {
    // After a refusal, GSO is tried again once kGsoRetryAfter datagrams went
    // one by one: the path may have changed (an MTU raised again).
    if (gso_off_[egress] != 0) --gso_off_[egress];
    sendToPeer(egress, buffer_id, payload, length);
    return;
  }
  Run& r = runs_[egress];
  if (r.count > 0 && (length > r.segment || r.last != r.segment || r.count == kMaxSegments ||
                      r.bytes + length > kMaxGsoBytes))
    flush(egress);
  if (r.count == 0) {
    r.segment = length;
    r.bytes = 0;
    if (!r.listed) {
      r.listed = true;
      pending_runs_.push_back(egress);  // capacity reserved: never allocates
    }
  }
  r.buffers[r.count] = buffer_id;
  r.data[r.count] = payload;
  r.last = length;
  r.bytes += length;
  ++r.count;
}

void Dataplane::flush(uint16_t egress) noexcept {
  Run& r = runs_[egress];
  if (r.count == 0) return;
  const uint16_t count = r.count;
  r.count = 0;
  if (count == 1 || free_batches_.empty()) {
    for (uint16_t i = 0; i < count; ++i)
      sendToPeer(egress, r.buffers[i], r.data[i], i + 1 == count ? r.last : r.segment);
    return;
  }
  const SockAddr& to = *interfaces_[egress].peer;
  io_uring_sqe* s = sqe();
  if (s == nullptr) {
    counters_.per_interface[egress].drop(Drop::SendError, count);
    for (uint16_t i = 0; i < count; ++i) recycle(r.buffers[i]);
    return;
  }
  const uint16_t slot = free_batches_.back();
  free_batches_.pop_back();
  Batch& b = batches_[slot];
  b.count = count;
  for (uint16_t i = 0; i < count; ++i) {
    b.buffers[i] = r.buffers[i];
    b.iov[i].iov_base = r.data[i];
    b.iov[i].iov_len = i + 1 == count ? r.last : r.segment;
  }
  b.msg = {};
  b.msg.msg_name = const_cast<sockaddr*>(to.sa());
  b.msg.msg_namelen = to.len();
  b.msg.msg_iov = b.iov;
  b.msg.msg_iovlen = count;
  b.msg.msg_control = b.control;
  b.msg.msg_controllen = sizeof(b.control);
  cmsghdr* cm = CMSG_FIRSTHDR(&b.msg);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const auto segment = static_cast<uint16_t>(r.segment);
  std::memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
  io_uring_prep_sendmsg(s, egress, &b.msg, 0);
  s->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(s, UserData{Op::SendBatch, egress, slot}.pack());
  ++inflight_sends_;
}

void Dataplane::onBatchSent(uint16_t interface, uint16_t slot, int result) noexcept {
  --inflight_sends_;
  Batch& b = batches_[slot];
  InterfaceCounters& c = counters_.per_interface[interface];
  if (result >= 0) {
    c.tx_packets.add(b.count);
    c.tx_bytes.add(uint64_t(result));
    c.tx_gso_batches.add();
    for (uint16_t i = 0; i < b.count; ++i) recycle(b.buffers[i]);
  } else if (result == -EINVAL || result == -EMSGSIZE || result == -EIO || result == -EOPNOTSUPP) {
    // The kernel refused segmentation on this path (a segment above the
    // route's MTU, an old kernel): GSO is off for this egress for the next
    // kGsoRetryAfter datagrams and these go again one by one, so nothing is
    // lost to the attempt.
    gso_off_[interface] = kGsoRetryAfter;
    c.tx_gso_refused.add();
    for (uint16_t i = 0; i < b.count; ++i)
      sendToPeer(interface, b.buffers[i], static_cast<uint8_t*>(b.iov[i].iov_base),
                 uint32_t(b.iov[i].iov_len));
  } else {
    c.drop(Drop::SendError, b.count);
    for (uint16_t i = 0; i < b.count; ++i) recycle(b.buffers[i]);
  }
  free_batches_.push_back(slot);
}

void Dataplane::onSent(Op op, uint16_t interface, uint16_t buffer_id, int result) noexcept {
  --inflight_sends_;
  InterfaceCounters& c = counters_.per_interface[interface];
  if (result < 0) {
    if (op == Op::Send) c.drop(Drop::SendError);
  } else if (op == Op::Local) {
    c.icmp_tx.add();
  } else {
    c.tx_packets.add();
    c.tx_bytes.add(uint64_t(result));
  }
  recycle(buffer_id);
}

void Dataplane::recycle(uint16_t buffer_id) noexcept {
  io_uring_buf_ring_add(buf_ring_, buffer(buffer_id), stride_, buffer_id,
                        io_uring_buf_ring_mask(buffer_count_), pending_recycles_++);
}

}  // namespace ferry
