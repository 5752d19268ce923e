#include "ferry/dataplane/dataplane.h"

#include <netinet/udp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ferry/clock.h"
#include "ferry/dataplane/user_data.h"
#include "ferry/route/icmp.h"

namespace ferry {
namespace {

// All of a dataplane's sockets share one provided-buffer group.
constexpr uint16_t kBufferGroup = 0;

std::string errnoText(int err) { return std::strerror(err); }

// Why a refused data send lost its datagrams: EAGAIN is a full egress send
// buffer (the sends never wait: MSG_DONTWAIT), anything else the kernel's
// refusal.
Drop sendFailure(int result) noexcept {
  return result == -EAGAIN ? Drop::kEgressFull : Drop::kSendError;
}

}  // namespace

Dataplane::Dataplane(DataplaneSettings settings, std::vector<DataplaneInterface> interfaces,
                     Published<ForwardingState>& forwarding, DataplaneCounters& counters,
                     BfdHandoff* bfd, Rescue& rescue)
    : settings_(settings),
      interfaces_(std::move(interfaces)),
      forwarding_(forwarding),
      counters_(counters),
      bfd_(bfd),
      rescue_(rescue),
      wake_fd_(rescue.wakeFd(settings_.id)),
      rearm_(interfaces_.size(), 0),
      icmp_bucket_(static_cast<double>(settings_.icmp_rate),
                   static_cast<double>(settings_.icmp_burst), monotonicNs(),
                   TokenBucket::Start::kFull),
      echo_bucket_(static_cast<double>(settings_.icmp_rate),
                   static_cast<double>(settings_.icmp_burst), monotonicNs(),
                   TokenBucket::Start::kFull) {}

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

Status Dataplane::setup() {
  const std::string who = "dataplane " + std::to_string(settings_.id) + ": ";
  const Tuning& t = settings_.tuning;
  // With GRO a buffer holds a whole train (64 KiB); without, one datagram.
  buffer_count_ = t.gro ? t.gro_buffers : t.buffers;
  const uint32_t payload_room = t.gro ? std::max(kGroBufferPayload, t.max_datagram) : t.max_datagram;
  // Cache-line multiples keep every datagram's start aligned.
  stride_ = (kHeadroom + payload_room + 63) & ~63u;

  io_uring_params params{};
  // One thread owns the ring: completions run only when it asks
  // (DEFER_TASKRUN), which keeps task work off the receive path.
  // CLAMP: the largest settings (buffers and ring_entries 32768) ask for more
  // than the kernel's 65536 completion entries; they get 65536 instead of
  // EINVAL. A full completion queue loses nothing (NODROP, checked below).
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                 IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CLAMP;
  // Room for a receive and a send completion per buffer and two per
  // submission entry. More at once (a train's datagrams sent one by one) wait
  // in the kernel's overflow list (NODROP) and end the multishot receives,
  // which the next loop turn re-arms.
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
    return Status::failure(who + "io_uring_queue_init: " + errnoText(-ret) + hint);
  }
  ring_ready_ = true;
  if (!(params.features & IORING_FEAT_NODROP))
    return Status::failure(
        who +
        "this kernel's io_uring may drop completions (no IORING_FEAT_NODROP); needs Linux >= 5.19");

  std::vector<int> fds;
  for (const auto& i : interfaces_) {
    fds.push_back(i.fd);
    // UDP GRO needs Linux >= 5.0; without the option no train is ever formed.
    const int on = 1;
    if (t.gro && setsockopt(i.fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) != 0)
      return Status::failure(who + "setsockopt UDP_GRO: " + errnoText(errno) +
                             " (set tuning.gro: false on this kernel)");
  }
  ret = io_uring_register_files(&ring_, fds.data(), static_cast<unsigned>(fds.size()));
  if (ret < 0) return Status::failure(who + "io_uring_register_files: " + errnoText(-ret));

  // The buffers, and the ring through which the kernel takes them.
  buffers_bytes_ = size_t(stride_) * buffer_count_;
  void* mem = mmap(nullptr, buffers_bytes_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (mem == MAP_FAILED)
    return Status::failure(who + "mmap of " + std::to_string(buffers_bytes_) +
                           " buffer bytes: " + errnoText(errno));
  buffers_ = static_cast<uint8_t*>(mem);
  madvise(buffers_, buffers_bytes_, MADV_HUGEPAGE);  // fewer TLB misses when THP is on

  buf_ring_bytes_ = sizeof(io_uring_buf) * buffer_count_;
  mem = mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED)
    return Status::failure(who + "mmap of the buffer ring: " + errnoText(errno));
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = buffer_count_;
  reg.bgid = kBufferGroup;
  ret = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (ret < 0) {
    munmap(buf_ring_, buf_ring_bytes_);
    buf_ring_ = nullptr;
    return Status::failure(who + "io_uring_register_buf_ring: " + errnoText(-ret) +
                           " (needs Linux >= 5.19)");
  }
  io_uring_buf_ring_init(buf_ring_);
  const int mask = io_uring_buf_ring_mask(buffer_count_);
  for (uint32_t i = 0; i < buffer_count_; ++i)
    io_uring_buf_ring_add(buf_ring_, buffer(uint16_t(i)), stride_, uint16_t(i), mask, int(i));
  io_uring_buf_ring_advance(buf_ring_, int(buffer_count_));

  refs_.assign(buffer_count_, 0);
  // Every datagram in every buffer can be in flight as a single send at once
  // (route mode sending each datagram of a train elsewhere, a refused GSO
  // send resent one by one), so with one slot each a free slot always exists.
  const uint32_t per_buffer = t.gro ? kMaxTrainSegments : 1;
  tx_.resize(size_t(buffer_count_) * per_buffer);
  free_tx_.reserve(tx_.size());
  for (size_t i = tx_.size(); i > 0; --i) free_tx_.push_back(uint16_t(i - 1));
  icmp_.resize(kIcmpSlots);
  for (size_t i = icmp_.size(); i > 0; --i) free_icmp_.push_back(uint16_t(i - 1));
  runs_.resize(interfaces_.size());
  gso_retry_countdown_.assign(interfaces_.size(), 0);
  pending_runs_.reserve(interfaces_.size());
  if (t.gso) {
    // Every batch holds at least two buffers.
    // A GRO train often leaves as a batch of its own (several per train in
    // route mode when its datagrams go to several egresses).
    batches_.resize(t.gro ? std::min<uint32_t>(buffer_count_ * 4, 2048)
                          : std::min<uint32_t>(buffer_count_ / 2, 1024));
    for (size_t i = batches_.size(); i > 0; --i) free_batches_.push_back(uint16_t(i - 1));
  }
  recv_msg_.msg_namelen = kNameRoom;
  // Room for the UDP_GRO control message (a train's segment size).
  recv_msg_.msg_controllen = t.gro ? kControlRoom : 0;
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
  // MSG_TRUNC: payloadlen is the datagram's (or train's) whole length even
  // when it did not fit, so a cut one is counted in full.
  io_uring_prep_recvmsg_multishot(s, interface, &recv_msg_, MSG_TRUNC);
  s->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
  s->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(s, UserData{Op::kRecv, interface, 0}.pack());
  rearm_[interface] = 0;
  ++active_receives_;
}

void Dataplane::armWake() noexcept {
  io_uring_sqe* s = sqe();
  if (s == nullptr) return;
  io_uring_prep_read(s, wake_fd_, &wake_value_, sizeof(wake_value_), 0);
  io_uring_sqe_set_data64(s, UserData{Op::kWake, 0, 0}.pack());
}

void Dataplane::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  rescue_.wake(settings_.id);
}

void Dataplane::readRescueRequests() noexcept {
  const unsigned self = settings_.id;
  for (unsigned d = 0; d < rescue_.dataplanes(); ++d) {
    if (d == self) continue;
    const bool asked = !stopping_ && rescue_.asked(self, d);
    auto it = std::find_if(rescued_.begin(), rescued_.end(),
                           [d](const Rescued& r) { return r.stalled == d; });
    if (it != rescued_.end())
      it->asked = asked;
    else if (asked)
      // Armed by armRescues() at the end of this loop turn. Not the hot
      // path: this runs only when the watch thread wakes the loop.
      rescued_.push_back(
          Rescued{uint16_t(d), true, std::vector<RescueReceive>(interfaces_.size(), kIdle)});
  }
  cancelRescues();
}

void Dataplane::cancelRescues() noexcept {
  for (Rescued& r : rescued_) {
    if (r.asked) continue;
    for (uint16_t i = 0; i < r.state.size(); ++i) {
      if (r.state[i] != kArmed) continue;
      io_uring_sqe* s = sqe();
      if (s == nullptr) continue;  // tried again at the next wake
      io_uring_prep_cancel64(s, UserData{Op::kRecvRescue, i, r.stalled}.pack(), 0);
      io_uring_sqe_set_data64(s, UserData{Op::kCancel, i, r.stalled}.pack());
      r.state[i] = kCancelled;
    }
  }
}

void Dataplane::armRescues() noexcept {
  for (Rescued& r : rescued_) {
    if (!r.asked) continue;
    for (uint16_t i = 0; i < r.state.size(); ++i) {
      if (r.state[i] != kIdle) continue;
      io_uring_sqe* s = sqe();
      if (s == nullptr) return;  // tried again next turn
      // Not a registered file: the socket is the stalled dataplane's. The
      // request holds its own reference until it ends.
      io_uring_prep_recvmsg_multishot(s, rescue_.socket(r.stalled, i), &recv_msg_, MSG_TRUNC);
      s->flags |= IOSQE_BUFFER_SELECT;
      s->buf_group = kBufferGroup;
      io_uring_sqe_set_data64(s, UserData{Op::kRecvRescue, i, r.stalled}.pack());
      r.state[i] = kArmed;
      ++active_receives_;
    }
  }
  // Those no longer asked for, and whose receives have all ended, go.
  std::erase_if(rescued_, [](const Rescued& r) {
    return !r.asked &&
           std::all_of(r.state.begin(), r.state.end(), [](RescueReceive s) { return s == kIdle; });
  });
}

void Dataplane::onRescueReceive(const io_uring_cqe& cqe, UserData tag,
                                const ForwardingState& state) noexcept {
  if (!(cqe.flags & IORING_CQE_F_MORE)) {
    // Ended (cancelled, or the kernel gave up): armRescues() arms it again
    // if it is still asked for.
    --active_receives_;
    for (Rescued& r : rescued_)
      if (r.stalled == tag.buffer && tag.interface < r.state.size()) r.state[tag.interface] = kIdle;
  }
  if (tag.interface < interfaces_.size()) onReceive(tag.interface, cqe, state, true);
}

void Dataplane::beginStop() noexcept {
  if (stopping_) return;
  stopping_ = true;
  // Cancel each multishot receive; datagrams already received are still
  // forwarded, and sends in flight complete before run() returns.
  for (uint16_t i = 0; i < interfaces_.size(); ++i) {
    io_uring_sqe* s = sqe();
    if (s == nullptr) continue;
    io_uring_prep_cancel64(s, UserData{Op::kRecv, i, 0}.pack(), 0);
    io_uring_sqe_set_data64(s, UserData{Op::kCancel, i, 0}.pack());
  }
  for (Rescued& r : rescued_) r.asked = false;
  cancelRescues();
}

void Dataplane::run() noexcept {
  counters_.thread_id.store(int(gettid()), std::memory_order_relaxed);
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

    const bool buffers_back = pending_recycles_ != 0;
    if (buffers_back) {
      io_uring_buf_ring_advance(buf_ring_, pending_recycles_);
      pending_recycles_ = 0;
    }
    // After the buffer ring ran dry, a receive re-armed before a buffer came
    // back fails again at once and the loop would spin: it waits for the
    // sends in flight, whose completions return the buffers.
    if (starved_ && (buffers_back || inflight_sends_ == 0)) starved_ = false;
    if (!stopping_ && !starved_) {
      for (uint16_t i = 0; i < interfaces_.size(); ++i)
        if (rearm_[i]) armReceive(i);
      if (!rescued_.empty()) armRescues();
    }
    counters_.loops.add();
    counters_.cqes.add(handled);
    if (stopping_ && active_receives_ == 0 && inflight_sends_ == 0) break;
  }
}

void Dataplane::handle(const io_uring_cqe& cqe, const ForwardingState& state) noexcept {
  const UserData ud = UserData::unpack(cqe.user_data);
  switch (ud.op) {
    case Op::kRecv:
      if (!(cqe.flags & IORING_CQE_F_MORE)) {
        // The multishot request ended (error, cancel, or the kernel gave
        // up): re-armed after this batch unless we are stopping.
        --active_receives_;
        rearm_[ud.interface] = 1;
      }
      onReceive(ud.interface, cqe, state, false);
      break;
    case Op::kRecvRescue:
      onRescueReceive(cqe, ud, state);
      break;
    case Op::kSend:
      onSent(ud.interface, ud.buffer, cqe.res);
      break;
    case Op::kIcmpReply:
      onIcmpSent(ud.interface, ud.buffer, cqe.res);
      break;
    case Op::kWake:
      if (stop_requested_.load(std::memory_order_acquire)) {
        beginStop();
      } else {
        armWake();
        readRescueRequests();
      }
      break;
    case Op::kSendBatch:
      onBatchSent(ud.interface, ud.buffer, cqe.res);
      break;
    case Op::kCancel:
      break;
  }
}

namespace {

// The segment size of a GRO train, from its UDP_GRO control message; 0 when
// the kernel delivered a plain datagram (no message).
uint32_t groSegment(io_uring_recvmsg_out* out, msghdr* msg) noexcept {
  for (cmsghdr* cm = io_uring_recvmsg_cmsg_firsthdr(out, msg); cm != nullptr;
       cm = io_uring_recvmsg_cmsg_nexthdr(out, msg, cm)) {
    if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO &&
        cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(cm), sizeof(size));
      return size > 0 ? uint32_t(size) : 0;
    }
  }
  return 0;
}

}  // namespace

void Dataplane::onReceive(uint16_t interface, const io_uring_cqe& cqe, const ForwardingState& state,
                          bool rescued) noexcept {
  InterfaceCounters& c = counters_.per_interface[interface];
  if (cqe.res < 0) {
    // ENOBUFS: every buffer is in flight. Not a drop: the datagram waits in
    // the socket queue, and receiving resumes when buffers return.
    if (cqe.res == -ENOBUFS) {
      c.rx_no_buffer.add();
      starved_ = true;
    }
    return;
  }
  if (!(cqe.flags & IORING_CQE_F_BUFFER)) return;
  const auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
  uint8_t* buf = buffer(id);
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_msg_);
  if (out == nullptr) {
    c.drop(Drop::kTruncated);
    recycle(id);
    return;
  }
  // A plain datagram, or a GRO train: datagrams of `segment` bytes back to
  // back, the last one no longer. payloadlen is the whole length, also when
  // the kernel had to cut it (the receive asks with MSG_TRUNC), so the count
  // is right either way.
  const uint32_t total = out->payloadlen;
  uint32_t segment = settings_.tuning.gro ? groSegment(out, &recv_msg_) : 0;
  if (segment == 0 || segment > total) segment = total;
  const uint32_t segments = segment == 0 ? 1 : (total + segment - 1) / segment;
  c.rx_packets.add(segments);
  c.rx_bytes.add(total);
  if (rescued) c.rx_rescued.add(segments);
  if (settings_.tuning.gro) c.rx_gro_trains.add();
  if (out->flags & MSG_TRUNC) {
    // It did not fit the buffer: never forwarded in part. With GRO a buffer
    // holds 64 KiB, more than the kernel merges, so a cut train means a
    // kernel that merges more (counted apart: rx_gro_cut).
    c.drop(Drop::kTruncated, segments);
    if (segments > 1) c.rx_gro_cut.add();
    recycle(id);
    return;
  }
  const DataplaneInterface& in = interfaces_[interface];
  const auto* name = static_cast<const sockaddr*>(io_uring_recvmsg_name(out));
  const socklen_t name_len = out->namelen < kNameRoom ? out->namelen : kNameRoom;
  // The source check is made once per receive: GRO merges datagrams of one
  // 4-tuple only, so every datagram of a train has this source.
  if (in.peer && !in.peer->sameEndpoint(name, name_len)) {
    c.drop(Drop::kBadSource, segments);
    recycle(id);
    return;
  }
  auto* payload = static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &recv_msg_));
  const Ingress ingress{interface, in.bfd_inband, in.peer.has_value()};
  hold(id);  // the loop's own reference while it decides: no send can return it early
  if (segments == 1) {
    const Action action = decide(ingress, {payload, total}, settings_.tuning.max_datagram, state);
    act(action, interface, id, payload, total, name, name_len, state);
  } else {
    // A train is decided kMaxTrainSegments (the kernel's largest) at a
    // time, so route mode looks its destinations up in one batch, and then
    // carried out segment by segment in order.
    std::span<uint8_t> datagrams[kMaxTrainSegments];
    Action actions[kMaxTrainSegments];
    for (uint32_t first = 0; first < segments; first += kMaxTrainSegments) {
      const uint32_t n = std::min(segments - first, kMaxTrainSegments);
      for (uint32_t i = 0; i < n; ++i) {
        const uint32_t offset = (first + i) * segment;
        datagrams[i] = {payload + offset, std::min(segment, total - offset)};
      }
      decide(ingress, std::span<const std::span<uint8_t>>(datagrams, n),
             settings_.tuning.max_datagram, state, std::span<Action>(actions, n));
      for (uint32_t i = 0; i < n; ++i)
        act(actions[i], interface, id, datagrams[i].data(), uint32_t(datagrams[i].size()), name,
            name_len, state);
    }
  }
  release(id);
}

void Dataplane::act(const Action& action, uint16_t ingress, uint16_t buffer_id, uint8_t* datagram,
                    uint32_t length, const sockaddr* source, socklen_t source_len,
                    const ForwardingState& state) noexcept {
  InterfaceCounters& c = counters_.per_interface[ingress];
  switch (action.kind) {
    case Action::Kind::kForward:
      if (action.route_index != route::kNoRouteIndex)
        state.route_counters->at(settings_.id, action.route_index).add();
      queue(action.egress, buffer_id, datagram, action.length);
      return;
    case Action::Kind::kBfd:
      // Copied into the hand-off queue: the buffer is not kept.
      if (bfd_ == nullptr)
        c.drop(Drop::kBadBfd);
      else if (!bfd_->push(settings_.id, ingress, datagram, length))
        c.drop(Drop::kBfdQueueFull);
      else
        c.bfd_rx.add();
      return;
    case Action::Kind::kDrop:
      c.drop(action.drop);
      if (action.route_index != route::kNoRouteIndex)  // a drop route
        state.route_counters->at(settings_.id, action.route_index).add();
      return;
    case Action::Kind::kIcmp:
    case Action::Kind::kEcho:
      c.drop(action.drop);
      if (action.route_index != route::kNoRouteIndex)
        state.route_counters->at(settings_.id, action.route_index).add();
      answerIcmp(action, ingress, datagram, length, source, source_len, state);
      return;
  }
}

void Dataplane::answerIcmp(const Action& action, uint16_t ingress, const uint8_t* datagram,
                           uint32_t length, const sockaddr* source, socklen_t source_len,
                           const ForwardingState& state) noexcept {
  InterfaceCounters& c = counters_.per_interface[ingress];
  const auto& from = action.family == route::Family::kIpv4 ? state.icmp_source_v4 : state.icmp_source_v6;
  if (!from) return;
  // Every slot in flight means more than kIcmpSlots errors are queued in the
  // kernel: suppressed like the rate limit does.
  TokenBucket& bucket = action.kind == Action::Kind::kEcho ? echo_bucket_ : icmp_bucket_;
  if (free_icmp_.empty() || !bucket.tryTake(monotonicNs())) {
    c.icmp_rate_limited.add();
    return;
  }
  const uint16_t slot = free_icmp_.back();
  IcmpSlot& s = icmp_[slot];
  const size_t n =
      action.kind == Action::Kind::kEcho
          ? route::buildEchoReply(*from, {datagram, length}, {s.data, sizeof(s.data)})
          : route::buildIcmpError(action.icmp, *from, {datagram, length}, {s.data, sizeof(s.data)});
  if (n == 0) return;  // the builder declined (an error about an ICMP error, …)
  io_uring_sqe* e = sqe();
  if (e == nullptr) {
    c.icmp_send_errors.add();
    return;
  }
  free_icmp_.pop_back();
  // An ICMP error goes back the way the packet came: to the ingress
  // interface's peer, or (no peer) to the datagram's source.
  const DataplaneInterface& in = interfaces_[ingress];
  const sockaddr* to = in.peer ? in.peer->sa() : source;
  socklen_t to_len = in.peer ? in.peer->len() : source_len;
  to_len = std::min<socklen_t>(to_len, sizeof(s.to));
  std::memcpy(&s.to, to, to_len);
  s.iov.iov_base = s.data;
  s.iov.iov_len = n;
  submitSend(e, UserData{Op::kIcmpReply, ingress, slot}, s.msg, reinterpret_cast<sockaddr*>(&s.to),
             to_len, &s.iov, 1);
}

void Dataplane::onIcmpSent(uint16_t interface, uint16_t slot, int result) noexcept {
  --inflight_sends_;
  // A refused send (a full send buffer: MSG_DONTWAIT, a firewall's drop, no
  // route back) loses the error: counted, never retried.
  if (result >= 0)
    counters_.per_interface[interface].icmp_tx.add();
  else
    counters_.per_interface[interface].icmp_send_errors.add();
  free_icmp_.push_back(slot);
}

void Dataplane::sendOne(uint16_t egress, uint16_t buffer_id, uint8_t* datagram,
                        uint32_t length) noexcept {
  InterfaceCounters& c = counters_.per_interface[egress];
  // No free slot cannot happen while a buffer holds at most
  // kMaxTrainSegments datagrams (the most one receive can hold); counted if
  // it does.
  io_uring_sqe* s = free_tx_.empty() ? nullptr : sqe();
  if (s == nullptr) {
    c.drop(Drop::kSendError);
    return;
  }
  const uint16_t slot = free_tx_.back();
  free_tx_.pop_back();
  TxSlot& t = tx_[slot];
  const SockAddr& to = *interfaces_[egress].peer;
  t.iov.iov_base = datagram;
  t.iov.iov_len = length;
  t.buffer = buffer_id;
  hold(buffer_id);
  submitSend(s, UserData{Op::kSend, egress, slot}, t.msg, to.sa(), to.len(), &t.iov, 1);
}

void Dataplane::submitSend(io_uring_sqe* s, UserData tag, msghdr& msg, const sockaddr* to,
                           socklen_t to_len, iovec* iov, size_t iov_count, void* control,
                           size_t control_len) noexcept {
  msg = {};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = to_len;
  msg.msg_iov = iov;
  msg.msg_iovlen = iov_count;
  msg.msg_control = control;
  msg.msg_controllen = control_len;
  // MSG_DONTWAIT: an egress whose send buffer is full (its link or qdisc
  // holds socket_buffer bytes) refuses at once with EAGAIN, and the datagrams
  // are dropped there and counted (egress_full), as a router's full output
  // queue tail-drops. Waiting for room instead would hold the buffers, and
  // one congested egress would stop the dataplane receiving on every
  // interface.
  io_uring_prep_sendmsg(s, tag.interface, &msg, MSG_DONTWAIT);
  s->flags |= IOSQE_FIXED_FILE;
  io_uring_sqe_set_data64(s, tag.pack());
  ++inflight_sends_;
}

void Dataplane::sendEach(uint16_t egress, uint16_t buffer_id, uint8_t* data, uint32_t length,
                         uint32_t segment) noexcept {
  for (uint32_t offset = 0; offset < length; offset += segment)
    sendOne(egress, buffer_id, data + offset, std::min(segment, length - offset));
}

void Dataplane::onSent(uint16_t interface, uint16_t slot, int result) noexcept {
  --inflight_sends_;
  InterfaceCounters& c = counters_.per_interface[interface];
  if (result < 0) {
    c.drop(sendFailure(result));
  } else {
    c.tx_packets.add();
    c.tx_bytes.add(uint64_t(result));
  }
  release(tx_[slot].buffer);
  free_tx_.push_back(slot);
}

void Dataplane::queue(uint16_t egress, uint16_t buffer_id, uint8_t* datagram,
                      uint32_t length) noexcept {
  // An empty datagram never joins a run: UDP_SEGMENT 0 would send one
  // datagram for all of them.
  if (!settings_.tuning.gso || gso_retry_countdown_[egress] != 0 || length == 0) {
    // After a refusal, GSO is tried again once kGsoRetryAfter datagrams went
    // one by one: the path may have changed (an MTU raised again).
    if (gso_retry_countdown_[egress] != 0) --gso_retry_countdown_[egress];
    // Datagrams already gathered for this egress leave first, in order.
    flush(egress);
    sendOne(egress, buffer_id, datagram, length);
    return;
  }
  Run& r = runs_[egress];
  if (r.segments > 0 && (length > r.segment || r.last != r.segment || r.segments == kMaxSegments ||
                         r.bytes + length > kMaxGsoBytes))
    flush(egress);
  if (r.segments == 0) {
    r.segment = length;
    r.bytes = 0;
    if (!r.listed) {
      r.listed = true;
      pending_runs_.push_back(egress);  // capacity reserved: never allocates
    }
  }
  Piece* last = r.pieces > 0 ? &r.piece[r.pieces - 1] : nullptr;
  if (last != nullptr && last->buffer == buffer_id && last->data + last->length == datagram) {
    last->length += length;  // right behind the previous one: a train stays one piece
  } else {
    r.piece[r.pieces++] = Piece{datagram, length, buffer_id};
    hold(buffer_id);
  }
  r.last = length;
  r.bytes += length;
  ++r.segments;
}

void Dataplane::flush(uint16_t egress) noexcept {
  Run& r = runs_[egress];
  if (r.segments == 0) return;
  const uint16_t segments = r.segments;
  const uint16_t pieces = r.pieces;
  r.segments = 0;
  r.pieces = 0;
  // GSO off for this egress since the run was gathered (a refusal came
  // back meanwhile) goes one by one as well.
  io_uring_sqe* s = segments > 1 && !free_batches_.empty() && gso_retry_countdown_[egress] == 0
                        ? sqe()
                        : nullptr;
  if (s == nullptr) {
    // One datagram, or no batch slot free: one by one.
    for (uint16_t i = 0; i < pieces; ++i) {
      sendEach(egress, r.piece[i].buffer, r.piece[i].data, r.piece[i].length, r.segment);
      release(r.piece[i].buffer);
    }
    return;
  }
  const SockAddr& to = *interfaces_[egress].peer;
  const uint16_t slot = free_batches_.back();
  free_batches_.pop_back();
  Batch& b = batches_[slot];
  b.pieces = pieces;
  b.segments = segments;
  b.segment = r.segment;
  for (uint16_t i = 0; i < pieces; ++i) {
    b.buffers[i] = r.piece[i].buffer;
    b.iov[i].iov_base = r.piece[i].data;
    b.iov[i].iov_len = r.piece[i].length;
  }
  auto* cm = reinterpret_cast<cmsghdr*>(b.control);  // the first (and only) message
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  const auto segment = static_cast<uint16_t>(r.segment);
  std::memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
  submitSend(s, UserData{Op::kSendBatch, egress, slot}, b.msg, to.sa(), to.len(), b.iov, pieces,
             b.control, sizeof(b.control));
}

void Dataplane::onBatchSent(uint16_t interface, uint16_t slot, int result) noexcept {
  --inflight_sends_;
  Batch& b = batches_[slot];
  InterfaceCounters& c = counters_.per_interface[interface];
  if (result >= 0) {
    c.tx_packets.add(b.segments);
    c.tx_bytes.add(uint64_t(result));
    c.tx_gso_batches.add();
  } else if (result == -EINVAL || result == -EMSGSIZE || result == -EIO || result == -EOPNOTSUPP) {
    // The kernel refused segmentation on this path (a segment above the
    // route's MTU, an old kernel): GSO is off for this egress for the next
    // kGsoRetryAfter datagrams and these go again one by one, so nothing is
    // lost to the attempt. Counted once per time GSO goes off: a batch
    // submitted before the first refusal came back (the next loop turn's,
    // on a slow machine) is refused and resent too, but is the same event.
    if (gso_retry_countdown_[interface] == 0) c.tx_gso_refused.add();
    gso_retry_countdown_[interface] = kGsoRetryAfter;
    for (uint16_t i = 0; i < b.pieces; ++i)
      sendEach(interface, b.buffers[i], static_cast<uint8_t*>(b.iov[i].iov_base),
               uint32_t(b.iov[i].iov_len), b.segment);
  } else {
    c.drop(sendFailure(result), b.segments);
  }
  for (uint16_t i = 0; i < b.pieces; ++i) release(b.buffers[i]);
  free_batches_.push_back(slot);
}

void Dataplane::release(uint16_t buffer_id) noexcept {
  if (--refs_[buffer_id] == 0) recycle(buffer_id);
}

void Dataplane::recycle(uint16_t buffer_id) noexcept {
  io_uring_buf_ring_add(buf_ring_, buffer(buffer_id), stride_, buffer_id,
                        io_uring_buf_ring_mask(buffer_count_), pending_recycles_++);
}

}  // namespace ferry
