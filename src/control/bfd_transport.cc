#include "ferry/control/bfd_transport.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "ferry/control/log.h"

namespace ferry {

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

BfdTransport::BfdTransport(const Config& config, std::vector<int> send_fds) : config_(config) {
  for (const uint16_t i : bfdInterfaces(config)) {
    const auto& ic = config.interfaces[i];
    Endpoint e;
    e.interface = i;
    e.rfc5881 = ic.bfd->mode == BfdMode::kRfc5881;
    e.destination = *ic.peer;
    if (!e.rfc5881)
      e.send_fd = i < send_fds.size() ? send_fds[i] : -1;
    else e.destination.setPort(kRfc5881Port);
    endpoints_.push_back(std::move(e));
  }
}

void BfdTransport::adoptSockets(std::vector<std::pair<std::string, Fd>> rx,
                                std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx) {
  adopted_rx_ = std::move(rx);
  adopted_tx_ = std::move(tx);
}

std::vector<std::pair<std::string, int>> BfdTransport::receiveSockets() const {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& rx : rx_sockets_) out.emplace_back(rx.bind.toString(), rx.fd.get());
  return out;
}

std::vector<std::pair<takeover::Manifest::BfdTx, int>> BfdTransport::transmitSockets() const {
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> out;
  for (const auto& e : endpoints_) {
    if (!e.tx_socket) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(e.tx_socket.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    const auto local = SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (!local) continue;
    out.push_back({{config(e).name, local->toString()}, e.tx_socket.get()});
  }
  return out;
}

Fd BfdTransport::takeAdoptedTx(const std::string& interface, const SockAddr& bind) {
  for (auto& [where, fd] : adopted_tx_) {
    if (!fd || where.interface != interface) continue;
    const auto local = SockAddr::parse(where.bind);
    if (local && sameHost(*local, bind)) return std::move(fd);
  }
  return Fd();
}

Status BfdTransport::openSockets(const BfdSessions& sessions) {
  for (uint32_t index = 0; index < endpoints_.size(); ++index) {
    Endpoint& e = endpoints_[index];
    if (!e.rfc5881) continue;
    const std::string& name = config(e).name;
    const SockAddr& bind = config(e).bind;
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
      auto opened = openUdpSocket(local, options);
      if (!opened)
        return Status::failure("interface '" + name +
                               "': BFD (rfc5881) receive socket: " + opened.error());
      Fd fd = std::move(opened).take();
      // GTSM (RFC 5881 §5): we need the received TTL / hop limit.
      if (local.isV4() ? setInt(fd.get(), IPPROTO_IP, IP_RECVTTL, 1)
                       : setInt(fd.get(), IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1))
        return Status::failure("interface '" + name + "': IP_RECVTTL: " + std::strerror(errno));
      // GTSM in the kernel (RFC 5082): a packet with TTL / hop limit below
      // 255 is dropped before it is queued, so a flood from afar never
      // fills the BFD socket. Without the filter the check in onReadable()
      // still discards it (and counts bad_ttl).
      if (!attachTtlFilter(fd.get(), local.isV4()))
        log::warn("interface '" + name + "': BFD TTL socket filter not attached (" +
                  std::strerror(errno) + "): off-link BFD packets are dropped in ferry");
      rx_sockets_.push_back({local, std::move(fd)});
    }
    // A takeover keeps the session's socket, and so its source port.
    e.tx_socket = takeAdoptedTx(name, bind);
    // RFC 5881 §4: source port 49152–65535, the same for the session's life.
    const uint32_t pick = sessions.entry(index).session->localDiscriminator();
    std::string last_error;
    for (int attempt = 0; attempt < 64 && !e.tx_socket; ++attempt) {
      SockAddr local = bind;
      local.setPort(static_cast<uint16_t>(49152 + (pick + uint32_t(attempt) * 7919u) % 16384));
      UdpSocketOptions options;
      options.reuse_port = false;
      options.buffer_bytes = 0;
      options.nonblocking = true;
      auto opened = openUdpSocket(local, options);
      if (opened)
        e.tx_socket = std::move(opened).take();
      else
        last_error = opened.error();
    }
    if (!e.tx_socket)
      return Status::failure("interface '" + name +
                             "': no free BFD source port in 49152-65535: " + last_error);
    const int fd = e.tx_socket.get();
    if (bind.isV4() ? setInt(fd, IPPROTO_IP, IP_TTL, 255) : setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255))
      return Status::failure("interface '" + name + "': TTL 255: " + std::strerror(errno));
    // RFC 5881 §4 suggests Internet Control (CS6) precedence.
    if (bind.isV4()) setInt(fd, IPPROTO_IP, IP_TOS, 0xc0);
    else setInt(fd, IPPROTO_IPV6, IPV6_TCLASS, 0xc0);
    e.send_fd = fd;
  }
  // What was handed over and is not used here (an interface removed or
  // moved) closes now; the old process has its own descriptors until it exits.
  adopted_rx_.clear();
  adopted_tx_.clear();
  return {};
}

std::vector<int> BfdTransport::pollFds() const {
  std::vector<int> fds;
  for (const auto& rx : rx_sockets_) fds.push_back(rx.fd.get());
  return fds;
}

void BfdTransport::onReadable(int fd, BfdSessions& sessions, bfd::Micros now) noexcept {
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
    for (uint32_t i = 0; i < endpoints_.size(); ++i) {
      const auto& e = endpoints_[i];
      if (e.rfc5881 &&
          sameHost(*config(e).peer, reinterpret_cast<sockaddr*>(&from), msg.msg_namelen) &&
          sameHost(config(e).bind, rx->bind))
        hint = i;
    }
    if (!hint) {
      ++counters_.unknown_source;
      continue;
    }
    sessions.onDatagram(*hint, std::span<const uint8_t>(data, size_t(n)), now);
  }
}

bool BfdTransport::send(uint32_t session, std::span<const uint8_t> packet) noexcept {
  if (session >= endpoints_.size()) return false;
  const Endpoint& e = endpoints_[session];
  return e.send_fd >= 0 && sendto(e.send_fd, packet.data(), packet.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                                  e.destination.sa(), e.destination.len()) >= 0;
}

}  // namespace ferry
