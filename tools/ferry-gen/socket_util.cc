#include "socket_util.h"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace ferry::gen::detail {

void throwErrno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int openUdpSocket(int family) {
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throwErrno("socket");
  return fd;
}

void setSocketBuffer(int fd, bool send, int bytes) noexcept {
  if (bytes <= 0) return;
  if (::setsockopt(fd, SOL_SOCKET, send ? SO_SNDBUFFORCE : SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0)
    return;
  // Not privileged: the plain option, silently capped by the sysctl.
  (void)::setsockopt(fd, SOL_SOCKET, send ? SO_SNDBUF : SO_RCVBUF, &bytes, sizeof(bytes));
}

}  // namespace ferry::gen::detail
