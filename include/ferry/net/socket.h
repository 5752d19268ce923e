// UDP sockets for interfaces: one per dataplane per interface, all bound to
// the interface's address with SO_REUSEPORT so the kernel spreads datagrams
// over the dataplanes. Setup code: returns errors as text naming the cause.
#pragma once

#include <sys/un.h>

#include <cstdint>
#include <string>

#include "ferry/net/address.h"
#include "ferry/result.h"

namespace ferry {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

struct UdpSocketOptions {
  bool reuse_port = true;          // SO_REUSEPORT (and SO_REUSEADDR)
  uint32_t buffer_bytes = 4 << 20; // SO_RCVBUF/SO_SNDBUF (…FORCE when permitted)
  bool nonblocking = false;        // io_uring sockets stay blocking; the control thread's not
  // IP_FREEBIND / IPV6_FREEBIND: bind to an address that is not (yet) local,
  // as an `announce:` address is while health gating keeps it withdrawn.
  bool freebind = false;
};

// Opens, configures and binds a UDP socket. Fails saying what and why
// ("bind 127.0.0.1:5000: Address already in use").
Result<Fd> openUdpSocket(const SockAddr& bind, const UdpSocketOptions& options);

// What the kernel granted a socket's buffers, in setsockopt terms (the kernel
// reports twice the value set, for its own bookkeeping; halved back here).
struct SocketBuffers {
  uint32_t receive = 0;
  uint32_t send = 0;
};
Result<SocketBuffers> socketBuffers(int fd);

// "" when `granted` holds `asked` bytes both ways. Otherwise a warning that
// names what was asked and what was granted, and why: without
// CAP_NET_ADMIN the kernel caps the sizes at net.core.rmem_max / wmem_max,
// silently.
std::string bufferShortfall(uint32_t asked, const SocketBuffers& granted);

// SO_REUSEPORT lets any process of the same user join a port group silently,
// so before creating the group ferry checks that nobody holds the address:
// a plain bind (no SO_REUSEPORT) on it must succeed; otherwise fails
// ("127.0.0.1:5000 is already in use by another socket").
// `freebind`: the address need not be local now (UdpSocketOptions::freebind).
Status addressIsFree(const SockAddr& bind, bool freebind = false);

// The address of the Unix socket at `path`; false when the path does not
// fit sun_path (107 bytes and the NUL).
bool unixAddress(const std::string& path, sockaddr_un& addr) noexcept;
// A non-blocking, listening Unix socket of `type` (SOCK_STREAM,
// SOCK_SEQPACKET) bound at `path`, which must not exist, with mode 0660:
// its owner and group may connect. `what` ("control socket") starts every
// failure's message.
Result<Fd> listenUnix(const std::string& path, int type, int backlog, const std::string& what);

// The kernel's count of datagrams dropped on this socket (SO_MEMINFO
// SK_MEMINFO_DROPS): receive-queue overflows and other socket-level drops.
// It is the counter SO_RXQ_OVFL reports, read on demand instead of as a
// control message on every received datagram (which cost the dataplane ~5%).
uint64_t socketDrops(int fd) noexcept;

// eventfd wake-ups: add 1 (wakes whoever polls or reads it), and clear what
// is pending (the descriptor must be non-blocking, or have a wake-up).
void notifyEventFd(int fd) noexcept;
void clearEventFd(int fd) noexcept;

}  // namespace ferry
