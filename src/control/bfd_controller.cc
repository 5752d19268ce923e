#include "ferry/control/bfd_controller.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "ferry/control/log.h"

namespace ferry {

bool gateClosed(const std::vector<uint16_t>& depends_on, const std::vector<uint8_t>& liveness) noexcept {
  if (depends_on.empty()) return false;
  for (const uint16_t i : depends_on)
    if (i < liveness.size() && liveness[i] != 0) return false;
  return true;
}

bfd::Micros slowestDetection(const bfd::Session& session, bfd::Micros interval_us) noexcept {
  const bfd::Micros configured = bfd::Micros(session.detectMult()) * interval_us;
  const bfd::Micros theirs = bfd::Micros(session.detectMult()) * session.txInterval();
  return std::max({configured, theirs, session.detectionTime()});
}

namespace {

// Accepts only datagrams whose IP TTL (IPv4) or hop limit (IPv6) is 255: a
// classic BPF socket filter reading the network header (SKF_NET_OFF). Not
// IP_MINTTL / IPV6_MINHOPCOUNT: Linux accepts them on UDP sockets but
// enforces them only for TCP (checked on 6.18: a TTL 64 datagram still
// arrives).
bool attachTtlFilter(int fd, bool v4) {
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, uint32_t(SKF_NET_OFF + (v4 ? 8 : 7))),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 255, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffff),  // the whole datagram
      BPF_STMT(BPF_RET | BPF_K, 0),           // dropped
  };
  const sock_fprog program{static_cast<unsigned short>(std::size(code)), code};
  return ::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) == 0;
}

bfd::SessionConfig sessionConfig(const BfdConfig& c) {
  bfd::SessionConfig s;
  s.desired_min_tx_us = bfd::Micros(c.interval_ms) * 1000;
  s.required_min_rx_us = bfd::Micros(c.interval_ms) * 1000;
  s.detect_mult = c.detect_mult;
  s.admin_down = c.admin_down;
  s.auth.type = c.auth.type;
  s.auth.key_id = c.auth.key_id;
  s.auth.secret = c.auth.secret;
  return s;
}

bool sameHost(const SockAddr& a, const sockaddr* b, socklen_t len) {
  if (len < sizeof(sa_family_t) || b->sa_family != a.family()) return false;
  if (a.isV4())
    return len >= sizeof(sockaddr_in) &&
           reinterpret_cast<const sockaddr_in*>(b)->sin_addr.s_addr == a.in4().sin_addr.s_addr;
  return len >= sizeof(sockaddr_in6) &&
         std::memcmp(&reinterpret_cast<const sockaddr_in6*>(b)->sin6_addr, &a.in6().sin6_addr,
                     sizeof(in6_addr)) == 0;
}

bool sameHost(const SockAddr& a, const SockAddr& b) { return sameHost(a, b.sa(), b.len()); }

int setInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value));
}

}  // namespace

BfdController::BfdController(const Config& config, std::vector<int> send_fds, uint64_t seed)
    : config_(config),
      session_of_interface_(config.interfaces.size(), -1),
      discriminators_(seed),
      liveness_(config.interfaces.size(), 1) {
  uint64_t session_seed = seed ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < config.interfaces.size(); ++i) {
    const auto& ic = config.interfaces[i];
    if (!ic.bfd || !ic.peer) continue;
    Entry e;
    e.interface = static_cast<uint16_t>(i);
    e.name = ic.name;
    e.peer = *ic.peer;
    e.mode = ic.bfd->mode;
    e.interval_us = bfd::Micros(ic.bfd->interval_ms) * 1000;
    e.hold.setHold(bfd::Micros(ic.bfd->hold_up_ms) * 1000);
    e.depends_on = ic.bfd->depends_on_index;
    const auto index = static_cast<uint32_t>(sessions_.size());
    const uint32_t disc = discriminators_.allocate(index);
    session_seed = session_seed * 6364136223846793005ull + 1442695040888963407ull;
    e.session = std::make_unique<bfd::Session>(sessionConfig(*ic.bfd), disc, session_seed);
    if (e.mode == BfdMode::InBand) {
      e.send_fd = i < send_fds.size() ? send_fds[i] : -1;
      e.destination = *ic.peer;
    } else {
      e.destination = *ic.peer;
      e.destination.setPort(kRfc5881Port);
    }
    session_of_interface_[i] = int(index);
    // Until a session says otherwise, an interface with BFD is not usable.
    liveness_[i] = 0;
    sessions_.push_back(std::move(e));
  }
}

void BfdController::adoptSockets(std::vector<std::pair<std::string, Fd>> rx,
                                 std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx) {
  adopted_rx_ = std::move(rx);
  adopted_tx_ = std::move(tx);
}

std::vector<std::pair<std::string, int>> BfdController::receiveSockets() const {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& rx : rx_sockets_) out.emplace_back(rx.bind.toString(), rx.fd.get());
  return out;
}

std::vector<std::pair<takeover::Manifest::BfdTx, int>> BfdController::transmitSockets() const {
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> out;
  for (const auto& e : sessions_) {
    if (!e.tx_socket) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(e.tx_socket.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    const auto local = SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (!local) continue;
    out.push_back({{e.name, local->toString()}, e.tx_socket.get()});
  }
  return out;
}

Fd BfdController::takeAdoptedTx(const std::string& interface, const SockAddr& bind) {
  for (auto& [where, fd] : adopted_tx_) {
    if (!fd || where.interface != interface) continue;
    const auto local = SockAddr::parse(where.bind);
    if (local && sameHost(*local, bind)) return std::move(fd);
  }
  return Fd();
}

std::string BfdController::setup(bool start) {
  for (auto& e : sessions_) {
    if (e.mode != BfdMode::Rfc5881) continue;
    const SockAddr& bind = config_.interfaces[e.interface].bind;
    // One receive socket per local address, shared by its sessions.
    bool have_rx = false;
    for (const auto& rx : rx_sockets_) have_rx = have_rx || sameHost(rx.bind, bind);
    if (!have_rx) {
      SockAddr local = bind;
      local.setPort(kRfc5881Port);
      for (auto& [address, fd] : adopted_rx_) {
        if (fd && address == local.toString()) {
          rx_sockets_.push_back({local, std::move(fd)});
          have_rx = true;
          break;
        }
      }
    }
    if (!have_rx) {
      SockAddr local = bind;
      local.setPort(kRfc5881Port);
      UdpSocketOptions options;
      options.reuse_port = false;
      options.buffer_bytes = 1 << 20;
      options.nonblocking = true;
      std::string why;
      Fd fd = openUdpSocket(local, options, &why);
      if (!fd) return "interface '" + e.name + "': BFD (rfc5881) receive socket: " + why;
      // GTSM (RFC 5881 §5): we need the received TTL / hop limit.
      if (local.isV4() ? setInt(fd.get(), IPPROTO_IP, IP_RECVTTL, 1)
                       : setInt(fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1))
        return "interface '" + e.name + "': IP_RECVTTL: " + std::strerror(errno);
      // GTSM in the kernel (RFC 5082): a packet with TTL / hop limit below
      // 255 is dropped before it is queued, so a flood from afar never
      // fills the BFD socket. Without the filter the check in receive()
      // still discards it (and counts bad_ttl).
      if (!attachTtlFilter(fd.get(), local.isV4()))
        log::warn("interface '" + e.name + "': BFD TTL socket filter not attached (" +
                  std::strerror(errno) + "): off-link BFD packets are dropped in ferry");
      rx_sockets_.push_back({local, std::move(fd)});
    }
    // A takeover keeps the session's socket, and so its source port.
    e.tx_socket = takeAdoptedTx(e.name, bind);
    // RFC 5881 §4: source port 49152–65535, the same for the session's life.
    uint32_t pick = e.session->localDiscriminator();
    std::string last_error;
    for (int attempt = 0; attempt < 64 && !e.tx_socket; ++attempt) {
      SockAddr local = bind;
      local.setPort(static_cast<uint16_t>(49152 + (pick + uint32_t(attempt) * 7919u) % 16384));
      UdpSocketOptions options;
      options.reuse_port = false;
      options.buffer_bytes = 0;
      options.nonblocking = true;
      e.tx_socket = openUdpSocket(local, options, &last_error);
    }
    if (!e.tx_socket)
      return "interface '" + e.name + "': no free BFD source port in 49152-65535: " + last_error;
    const int fd = e.tx_socket.get();
    if (bind.isV4() ? setInt(fd, IPPROTO_IP, IP_TTL, 255) : setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255))
      return "interface '" + e.name + "': TTL 255: " + std::strerror(errno);
    // RFC 5881 §4 suggests Internet Control (CS6) precedence.
    if (bind.isV4()) setInt(fd, IPPROTO_IP, IP_TOS, 0xc0);
    else setInt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0);
    e.send_fd = fd;
  }
  // What was handed over and is not used here (an interface removed or
  // moved) closes now; the old process has its own descriptors until it exits.
  adopted_rx_.clear();
  adopted_tx_.clear();
  if (!start) return {};
  const bfd::Micros now = monotonicMicros();
  applyGates(now);  // every session starts Down: gated ones are held from the start
  for (uint32_t i = 0; i < sessions_.size(); ++i) reschedule(i);
  service(now);
  return {};
}

takeover::BfdState BfdController::save() const {
  takeover::BfdState state;
  for (const auto& e : sessions_) {
    takeover::SessionRecord r;
    r.interface = e.name;
    r.mode = uint8_t(e.mode);
    r.session = e.session->saveState();
    r.hold = e.hold.save();
    r.link_usable = liveness_[e.interface] != 0;
    r.rx_frames = e.rx_frames;
    r.tx_errors = e.tx_errors;
    r.expiries_deferred = e.expiries_deferred;
    state.sessions.push_back(std::move(r));
  }
  return state;
}

size_t BfdController::restore(const takeover::BfdState& state, bfd::Micros now) {
  // Which record each session takes over (nullptr: none, it starts afresh).
  std::vector<const takeover::SessionRecord*> from(sessions_.size(), nullptr);
  for (uint32_t i = 0; i < sessions_.size(); ++i)
    for (const auto& r : state.sessions)
      if (r.interface == sessions_[i].name && r.mode == uint8_t(sessions_[i].mode)) from[i] = &r;
  // The carried discriminators first, then fresh ones for new sessions, so
  // that no random pick can take a carried value.
  for (const auto& e : sessions_) discriminators_.release(e.session->localDiscriminator());
  for (uint32_t i = 0; i < sessions_.size(); ++i)
    if (from[i] && !discriminators_.insert(from[i]->session.local_disc, i)) from[i] = nullptr;
  size_t taken = 0;
  uint64_t seed = now ^ 0x5bd1e995u;
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    const BfdConfig& cfg = *config_.interfaces[e.interface].bfd;
    if (!from[i]) {
      const uint32_t disc = discriminators_.allocate(i);
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      e.session = std::make_unique<bfd::Session>(sessionConfig(cfg), disc, seed);
      continue;
    }
    const takeover::SessionRecord& r = *from[i];
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    e.session = std::make_unique<bfd::Session>(sessionConfig(cfg), r.session.local_disc, seed);
    e.session->restoreState(r.session);
    // The configured timers: a change is a Poll Sequence while Up (§6.8.3).
    e.session->setTimers(e.interval_us, e.interval_us, cfg.detect_mult, now);
    if (cfg.admin_down != (r.session.state == bfd::State::kAdminDown))
      e.session->setAdminDown(cfg.admin_down, now);
    e.hold.restore(r.hold);
    e.rx_frames = r.rx_frames;
    e.tx_errors = r.tx_errors;
    e.expiries_deferred = r.expiries_deferred;
    liveness_[e.interface] = r.link_usable ? 1 : 0;
    ++taken;
    if (e.session->pollActive())
      log::info("bfd " + e.name + ": taken over; timers changed, Poll Sequence started");
  }
  for (uint32_t i = 0; i < sessions_.size(); ++i) refreshLiveness(i, now);
  ++liveness_version_;
  applyGates(now);  // holds are this process's own, decided from the liveness taken over
  for (uint32_t i = 0; i < sessions_.size(); ++i) reschedule(i);
  service(now);
  return taken;
}

std::vector<int> BfdController::pollFds() const {
  std::vector<int> fds;
  for (const auto& rx : rx_sockets_) fds.push_back(rx.fd.get());
  return fds;
}

void BfdController::onFrame(const BfdFrame& frame, bfd::Micros now) noexcept {
  std::optional<uint32_t> hint;
  if (frame.interface < session_of_interface_.size() && session_of_interface_[frame.interface] >= 0)
    hint = uint32_t(session_of_interface_[frame.interface]);
  if (hint) ++sessions_[*hint].rx_frames;
  deliver(hint, frame.bytes, frame.length, now);
}

void BfdController::onReadable(int fd, bfd::Micros now) noexcept {
  const RxSocket* rx = nullptr;
  for (const auto& r : rx_sockets_)
    if (r.fd.get() == fd) rx = &r;
  if (rx == nullptr) return;
  for (int budget = 0; budget < 256; ++budget) {
    uint8_t data[256];
    sockaddr_storage from{};
    alignas(cmsghdr) uint8_t control[64];
    iovec iov{data, sizeof(data)};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) return;
    int ttl = -1;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
          (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT)) {
        int v;
        std::memcpy(&v, CMSG_DATA(cm), sizeof(v));
        ttl = v;
      }
    }
    if (ttl != 255) {  // RFC 5881 §5: without auth, MUST discard unless 255
      ++counters_.bad_ttl;
      continue;
    }
    // The session whose peer sent this (any source port: §4 fixes only the
    // range) and whose local address received it.
    std::optional<uint32_t> hint;
    for (uint32_t i = 0; i < sessions_.size(); ++i) {
      const auto& e = sessions_[i];
      if (e.mode == BfdMode::Rfc5881 && sameHost(e.peer, reinterpret_cast<sockaddr*>(&from), msg.msg_namelen) &&
          sameHost(config_.interfaces[e.interface].bind, rx->bind))
        hint = i;
    }
    if (!hint) {
      ++counters_.unknown_source;
      continue;
    }
    ++sessions_[*hint].rx_frames;
    deliver(hint, data, size_t(n), now);
  }
}

void BfdController::deliver(std::optional<uint32_t> hint, const uint8_t* data, size_t length,
                            bfd::Micros now) noexcept {
  bfd::ControlPacket packet;
  const std::span<const uint8_t> wire(data, length);
  const bfd::DecodeResult r = bfd::decode(wire, packet);
  if (r != bfd::DecodeResult::kOk) {
    ++counters_.decode_errors[size_t(r) & 15];
    return;
  }
  const bfd::Selection sel = bfd::select(packet, discriminators_, hint);
  if (!sel.session) {
    if (sel.discard == bfd::RxDiscard::kUnknownDiscriminator) ++counters_.unknown_discriminator;
    else ++counters_.no_session_for_peer;
    return;
  }
  const uint32_t index = *sel.session;
  const bfd::RxResult result = sessions_[index].session->onPacket(packet, now, wire);
  if (sessions_[index].session->detectionDeadline() > now) sessions_[index].deferred_since = bfd::kNever;
  if (result.state_changed) {
    const auto& s = *sessions_[index].session;
    log::info("bfd " + sessions_[index].name + ": " + bfd::toString(s.state()) + " (diag " +
              bfd::toString(s.localDiag()) + ", remote " + bfd::toString(s.remoteState()) + ")");
  }
  if (result.liveness_changed) refreshLiveness(index, now);
  if (result.transmit_now) transmit(index, now);
  reschedule(index);
  applyGates(now);
}

void BfdController::service(bfd::Micros now) noexcept {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const uint32_t index = timers_.begin()->second;
    timers_.erase(timers_.begin());
    sessions_[index].queued = bfd::kNever;
    bfd::Session& s = *sessions_[index].session;
    const bfd::Change change = deferExpiry(index, now) ? bfd::Change{} : s.tick(now);
    if (change.state_changed)
      log::info("bfd " + sessions_[index].name + ": " + bfd::toString(s.state()) + " (diag " +
                bfd::toString(s.localDiag()) + ")");
    if (change.liveness_changed || sessions_[index].hold.deadline() <= now) refreshLiveness(index, now);
    transmit(index, now);
    reschedule(index);
    applyGates(now);
  }
}

void BfdController::applyGates(bfd::Micros now) noexcept {
  if (draining_) return;  // every session is held with diag 4 until the end
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    const bool closed = gateClosed(e.depends_on, liveness_);
    if (closed == e.gated) continue;
    e.gated = closed;
    if (closed) ++e.gate_holds;
    const bfd::Change change = e.session->holdDown(closed, bfd::Diag::kConcatenatedPathDown, now);
    std::string deps;
    for (const uint16_t d : e.depends_on) deps += (deps.empty() ? "" : ", ") + config_.interfaces[d].name;
    if (closed)
      log::warn("bfd " + e.name + ": held Down (diag concatenated_path_down): every interface it depends on (" +
                deps + ") is down");
    else
      log::info("bfd " + e.name + ": released (an interface it depends on is up: " + deps + ")");
    if (change.liveness_changed) refreshLiveness(i, now);
    transmit(i, now);
    reschedule(i);
  }
}

bool BfdController::canForward() const noexcept {
  bool any_gated_session = false;
  for (const auto& e : sessions_) {
    if (e.depends_on.empty()) continue;
    any_gated_session = true;
    if (!e.gated) return true;
  }
  return !any_gated_session;
}

bfd::Micros BfdController::beginDrain(bfd::Micros now) noexcept {
  bfd::Micros slowest = 0;
  // Only peers that see us Up send traffic our way and have it to move; a
  // session not Up needs no drain (its 1 s slow rate would make it 6 s).
  for (const auto& e : sessions_)
    if (e.session->state() == bfd::State::kUp)
      slowest = std::max(slowest, slowestDetection(*e.session, e.interval_us));
  draining_ = true;
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    e.session->holdDown(true, bfd::Diag::kForwardingPlaneReset, now);
    log::info("bfd " + e.name + ": Down (diag forwarding_plane_reset): stopping");
    transmit(i, now);
    reschedule(i);
  }
  return slowest;
}

bool BfdController::deferExpiry(uint32_t index, bfd::Micros now) {
  constexpr uint64_t kNoTurnOwed = ~0ull;
  Entry& e = sessions_[index];
  const bool due = e.session->detectionDeadline() <= now;
  if (!due || e.mode != BfdMode::InBand || receive_path_ == nullptr) {
    e.deferred_since = bfd::kNever;
    return false;
  }
  const ReceivePath& path = *receive_path_;
  const bool starting = e.deferred_since == bfd::kNever;
  if (starting) e.turns_owed.assign(path.dataplanes(), kNoTurnOwed);
  bool behind = path.handedOver();
  for (unsigned d = 0; d < e.turns_owed.size(); ++d) {
    const uint64_t turns = path.turns(d);
    // Runnable when the detection time ran out: the turn under way (maybe
    // preempted after it read the peer's packet) must end first. Only at
    // the start, so a dataplane kept busy by traffic delays nothing beyond
    // that one turn.
    if (starting && path.runnable(d)) e.turns_owed[d] = turns;
    // Waiting now: the turn under way may have started before it arrived,
    // so the one after it is the first that surely reads and hands it over.
    if (path.waiting(d, e.interface)) e.turns_owed[d] = turns + 1;
    if (e.turns_owed[d] != kNoTurnOwed && turns <= e.turns_owed[d]) behind = true;
  }
  if (starting) {
    if (!behind) return false;
    e.deferred_since = now;
    ++e.expiries_deferred;
  } else if (!behind || now - e.deferred_since >= kMaxBacklogDeferUs) {
    e.deferred_since = bfd::kNever;
    return false;
  }
  e.recheck_at = now + kBacklogRecheckUs;
  return true;
}

void BfdController::transmit(uint32_t index, bfd::Micros now) noexcept {
  Entry& e = sessions_[index];
  // Bounded: a session owes at most a Final and a periodic packet at once.
  for (int n = 0; n < 4 && e.session->transmitDue(now); ++n) {
    uint8_t buf[bfd::kMaxPacketLength];
    const size_t len = e.session->writePacket(now, buf);
    if (len == 0) break;
    if (e.send_fd < 0 ||
        sendto(e.send_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, e.destination.sa(), e.destination.len()) < 0) {
      ++e.tx_errors;
      ++counters_.tx_errors;
    }
  }
}

void BfdController::reschedule(uint32_t index) noexcept {
  Entry& e = sessions_[index];
  bfd::Micros next = e.session->nextDeadline();
  if (e.deferred_since != bfd::kNever && e.session->detectionDeadline() <= next) {
    // The expiry waits (deferExpiry): the next recheck, or what else is due.
    next = e.recheck_at;
    if (e.session->periodicTxEnabled()) next = std::min(next, e.session->nextPeriodicTx());
  }
  next = std::min(next, e.hold.deadline());
  if (next == e.queued) return;
  if (e.queued != bfd::kNever) timers_.erase({e.queued, index});
  e.queued = next;
  if (next != bfd::kNever) timers_.insert({next, index});
}

bfd::Micros BfdController::nextDeadline() const noexcept {
  return timers_.empty() ? bfd::kNever : timers_.begin()->first;
}

void BfdController::refreshLiveness(uint32_t index, bfd::Micros now) noexcept {
  // Draining: our own Down must not stop the dataplanes forwarding what
  // still arrives while the peers move their traffic away.
  if (draining_) return;
  Entry& e = sessions_[index];
  const bool session_usable = e.session->forwardingUsable();
  const uint64_t damped = e.hold.damped();
  const bool was_held = e.hold.deadline() != bfd::kNever;
  const uint8_t usable = e.hold.update(session_usable, now) ? 1 : 0;
  if (e.hold.damped() != damped)
    log::info("interface " + e.name + ": BFD went down within its " +
              std::to_string(e.hold.hold() / 1000) + " ms up hold-down (flap kept out of forwarding)");
  else if (!was_held && e.hold.deadline() != bfd::kNever)
    log::info("interface " + e.name + ": BFD up, held out of forwarding for " +
              std::to_string(e.hold.hold() / 1000) + " ms");
  if (liveness_[e.interface] != usable) {
    liveness_[e.interface] = usable;
    ++liveness_version_;
    log::info("interface " + e.name + (usable ? " is up (BFD)" : " is down (BFD)"));
  }
}

nlohmann::json BfdController::showJson(bfd::Micros now) const {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& e : sessions_) {
    const bfd::SessionStatus st = e.session->status();
    nlohmann::json j;
    j["interface"] = e.name;
    j["peer"] = e.peer.toString();
    j["mode"] = toString(e.mode);
    j["auth"] = bfd::toString(st.auth_type);  // the type only, never the secret
    j["state"] = bfd::toString(st.state);
    j["remote_state"] = bfd::toString(st.remote_state);
    j["forwarding_usable"] = st.forwarding_usable;
    // The link itself: the session's usability after the up hold-down.
    j["link_usable"] = liveness_[e.interface] != 0;
    j["hold_up_ms"] = e.hold.hold() / 1000;
    j["hold_left_ms"] = e.hold.deadline() == bfd::kNever || e.hold.deadline() <= now
                            ? 0
                            : (e.hold.deadline() - now + 999) / 1000;
    j["flaps_damped"] = e.hold.damped();
    j["local_discriminator"] = st.local_disc;
    j["remote_discriminator"] = st.remote_disc;
    j["tx_interval_us"] = st.tx_interval_us;
    j["detection_time_us"] = st.detection_time_us;
    j["last_diagnostic"] = bfd::toString(st.local_diag);
    j["remote_diagnostic"] = bfd::toString(st.remote_diag);
    j["transitions"] = st.transitions;
    j["since_last_change_ms"] = (now - st.last_change_us) / 1000;
    j["last_change_monotonic_us"] = st.last_change_us;
    j["desired_min_tx_us"] = st.desired_min_tx_us;
    j["required_min_rx_us"] = st.required_min_rx_us;
    j["detect_mult"] = st.detect_mult;
    j["remote_desired_min_tx_us"] = st.remote_desired_min_tx_us;
    j["remote_required_min_rx_us"] = st.remote_required_min_rx_us;
    j["remote_detect_mult"] = st.remote_detect_mult;
    j["poll_active"] = st.poll_active;
    j["remote_demand"] = st.remote_demand;
    j["rx_packets"] = e.rx_frames;
    j["rx_accepted"] = st.counters.rx_accepted;
    j["tx_packets"] = st.counters.tx_packets;
    j["tx_errors"] = e.tx_errors;
    j["polls_completed"] = st.counters.polls_completed;
    j["detection_expiries"] = st.counters.detection_expiries;
    j["expiries_deferred"] = e.expiries_deferred;
    nlohmann::json deps = nlohmann::json::array();
    for (const uint16_t d : e.depends_on) deps.push_back(config_.interfaces[d].name);
    j["depends_on"] = std::move(deps);
    j["held_down"] = e.session->heldDown();  // gated, or stopping (diag 6 / diag 4)
    j["gate_closed"] = e.gated;
    j["gate_holds"] = e.gate_holds;
    nlohmann::json discards = nlohmann::json::object();
    for (size_t k = 1; k < bfd::kRxDiscardCount; ++k)
      discards[bfd::toString(static_cast<bfd::RxDiscard>(k))] = st.counters.rx_discarded[k];
    j["discards"] = std::move(discards);
    sessions.push_back(std::move(j));
  }
  nlohmann::json unmatched;
  nlohmann::json decode = nlohmann::json::object();
  for (size_t k = 1; k < 16; ++k) {
    const char* name = bfd::toString(static_cast<bfd::DecodeResult>(k));
    if (std::string(name) != "unknown") decode[name] = counters_.decode_errors[k];
  }
  unmatched["decode_errors"] = std::move(decode);
  unmatched["unknown_discriminator"] = counters_.unknown_discriminator;
  unmatched["no_session_for_peer"] = counters_.no_session_for_peer;
  unmatched["bad_ttl"] = counters_.bad_ttl;
  unmatched["unknown_source"] = counters_.unknown_source;
  unmatched["tx_errors"] = counters_.tx_errors;
  nlohmann::json out;
  out["sessions"] = std::move(sessions);
  out["unmatched"] = std::move(unmatched);
  return out;
}

std::string BfdController::set(const std::string& interface, const std::string& key,
                               const std::string& value, bfd::Micros now) {
  const int i = config_.interfaceIndex(interface);
  if (i < 0) return "unknown interface '" + interface + "'";
  const int index = session_of_interface_[size_t(i)];
  if (index < 0) return "interface '" + interface + "' has no BFD session";
  Entry& e = sessions_[size_t(index)];
  bfd::Session& s = *e.session;
  auto number = [&](uint64_t min, uint64_t max, uint64_t& out) -> std::string {
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out < min || out > max)
      return key + ": expected a whole number " + std::to_string(min) + ".." + std::to_string(max) +
             ", got '" + value + "'";
    return {};
  };
  if (key == "interval_ms") {
    uint64_t ms = 0;
    if (auto why = number(1, 4'294'967, ms); !why.empty()) return why;
    if (!s.setTimers(ms * 1000, ms * 1000, s.detectMult(), now)) return "interval refused";
    e.interval_us = ms * 1000;
  } else if (key == "detect_mult") {
    uint64_t m = 0;
    if (auto why = number(1, 255, m); !why.empty()) return why;
    if (!s.setTimers(e.interval_us, e.interval_us, uint8_t(m), now)) return "detect_mult refused";
  } else if (key == "admin_down") {
    if (value != "true" && value != "false") return "admin_down: expected true or false";
    const bfd::Change c = s.setAdminDown(value == "true", now);
    if (c.liveness_changed) refreshLiveness(uint32_t(index), now);
    applyGates(now);
  } else if (key == "hold_up_ms") {
    uint64_t ms = 0;
    if (auto why = number(0, kMaxHoldUpMs, ms); !why.empty()) return why;
    e.hold.setHold(ms * 1000);
    refreshLiveness(uint32_t(index), now);
    applyGates(now);
  } else {
    return "unknown key '" + key + "' (expected interval_ms, detect_mult, admin_down or hold_up_ms)";
  }
  log::info("bfd " + e.name + ": " + key + " set to " + value);
  transmit(uint32_t(index), now);
  reschedule(uint32_t(index));
  return {};
}

}  // namespace ferry
