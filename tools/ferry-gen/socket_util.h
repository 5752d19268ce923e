// Socket set-up shared by the sender and the sink (set-up only: these throw).
#pragma once

#include <string>

namespace ferry::gen::detail {

// Throws std::system_error(errno) with `what` as context.
[[noreturn]] void throwErrno(const std::string& what);

// A blocking UDP socket of `family`, close-on-exec.
int openUdpSocket(int family);

// SO_SNDBUF / SO_RCVBUF of `bytes`: the *FORCE variant first (root may go past
// net.core.[rw]mem_max), then the plain one (capped by the sysctl). bytes <= 0
// leaves the default.
void setSocketBuffer(int fd, bool send, int bytes) noexcept;

}  // namespace ferry::gen::detail
