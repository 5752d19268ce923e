#include "ferry/net/socket.h"

#include <fcntl.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

// Linux 4.15; glibc's <netinet/in.h> does not name it yet.
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

namespace ferry {

void Fd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

namespace {

std::string errnoText(int err) { return std::strerror(err); }

bool setInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

}  // namespace

Result<Fd> openUdpSocket(const SockAddr& bind, const UdpSocketOptions& options) {
  const int flags = SOCK_DGRAM | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  Fd fd(::socket(bind.family(), flags, IPPROTO_UDP));
  if (!fd) return Result<Fd>::failure("socket: " + errnoText(errno));
  auto fail = [&](const std::string& what) {
    const int err = errno;
    return Result<Fd>::failure(what + " on " + bind.toString() + ": " + errnoText(err));
  };
  if (options.reuse_port) {
    if (!setInt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1)) return fail("SO_REUSEADDR");
    if (!setInt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1)) return fail("SO_REUSEPORT");
  }
  if (bind.isV6() && !setInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1)) return fail("IPV6_V6ONLY");
  if (options.freebind && !(bind.isV6() ? setInt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, 1)
                                        : setInt(fd.get(), IPPROTO_IP, IP_FREEBIND, 1)))
    return fail("IP_FREEBIND");
  if (options.buffer_bytes != 0) {
    const int bytes = static_cast<int>(options.buffer_bytes);
    // The FORCE variants pass net.core.[rw]mem_max (root only); fall back quietly.
    if (!setInt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, bytes) &&
        !setInt(fd.get(), SOL_SOCKET, SO_RCVBUF, bytes))
      return fail("SO_RCVBUF");
    if (!setInt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, bytes) &&
        !setInt(fd.get(), SOL_SOCKET, SO_SNDBUF, bytes))
      return fail("SO_SNDBUF");
  }
  if (::bind(fd.get(), bind.sa(), bind.len()) != 0)
    return Result<Fd>::failure("bind " + bind.toString() + ": " + errnoText(errno));
  return fd;
}

Result<SocketBuffers> socketBuffers(int fd) {
  SocketBuffers out;
  for (auto [option, into] :
       {std::pair{SO_RCVBUF, &out.receive}, std::pair{SO_SNDBUF, &out.send}}) {
    int value = 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0)
      return Result<SocketBuffers>::failure(
          std::string(option == SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF") + ": " + errnoText(errno));
    *into = static_cast<uint32_t>(value > 0 ? value / 2 : 0);
  }
  return out;
}

std::string bufferShortfall(uint32_t asked, const SocketBuffers& granted) {
  if (granted.receive >= asked && granted.send >= asked) return "";
  return "tuning.socket_buffer is " + std::to_string(asked) + " bytes, but the kernel granted " +
         std::to_string(granted.receive) + " to receive and " + std::to_string(granted.send) +
         " to send: without CAP_NET_ADMIN it caps them at net.core.rmem_max and wmem_max. "
         "Bursts above that are dropped (rx_queue_overflow); grant CAP_NET_ADMIN or raise "
         "those sysctls";
}

Status addressIsFree(const SockAddr& bind, bool freebind) {
  Fd fd(::socket(bind.family(), SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP));
  if (!fd) return Status::failure("socket: " + errnoText(errno));
  if (bind.isV6()) setInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (freebind) {
    if (bind.isV6()) setInt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, 1);
    else setInt(fd.get(), IPPROTO_IP, IP_FREEBIND, 1);
  }
  if (::bind(fd.get(), bind.sa(), bind.len()) == 0) return {};
  const int err = errno;
  return Status::failure(err == EADDRINUSE
                             ? bind.toString() + " is already in use by another socket"
                             : "bind " + bind.toString() + ": " + errnoText(err));
}

uint64_t socketDrops(int fd) noexcept {
  uint32_t meminfo[SK_MEMINFO_VARS] = {};
  socklen_t len = sizeof(meminfo);
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &len) != 0) return 0;
  if (len < sizeof(uint32_t) * (SK_MEMINFO_DROPS + 1)) return 0;
  return meminfo[SK_MEMINFO_DROPS];
}

void notifyEventFd(int fd) noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof(one));
}

void clearEventFd(int fd) noexcept {
  uint64_t value;
  [[maybe_unused]] const ssize_t n = ::read(fd, &value, sizeof(value));
}

bool unixAddress(const std::string& path, sockaddr_un& addr) noexcept {
  if (path.size() >= sizeof(addr.sun_path)) return false;
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

Result<Fd> listenUnix(const std::string& path, int type, int backlog, const std::string& what) {
  auto fail = [&](const std::string& why) { return Result<Fd>::failure(what + ": " + why); };
  sockaddr_un addr;
  if (!unixAddress(path, addr)) return fail("path '" + path + "' is too long");
  Fd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail("socket: " + errnoText(errno));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    return fail("bind " + path + ": " + errnoText(errno));
  if (::chmod(path.c_str(), 0660) != 0) return fail("chmod " + path + ": " + errnoText(errno));
  if (::listen(fd.get(), backlog) != 0) return fail("listen: " + errnoText(errno));
  return fd;
}

}  // namespace ferry
