// SockAddr: an IPv4 or IPv6 UDP endpoint (address + port), as written in the
// config ("192.0.2.1:50000", "[2001:db8::1]:50000") and as the kernel hands it
// to us in a recvmsg name. Plain value type; comparisons are cheap enough for
// the per-packet source check.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

class SockAddr {
 public:
  SockAddr() noexcept { std::memset(&storage_, 0, sizeof(storage_)); }

  // Parses "A.B.C.D:PORT" or "[IPV6]:PORT" (an IPv6 zone, "[fe80::1%eth0]:P",
  // is accepted). Port 0 is refused: every dataplane must bind the same port.
  // On failure returns nullopt and, if `error` is given, says what is wrong.
  static std::optional<SockAddr> parse(std::string_view text, std::string* error = nullptr);

  // Copies a kernel-provided address; nullopt unless it is AF_INET/AF_INET6
  // with a length that fits.
  static std::optional<SockAddr> fromSockaddr(const sockaddr* sa, socklen_t len) noexcept;

  static SockAddr v4(uint32_t addr_host_order, uint16_t port) noexcept;

  int family() const noexcept { return storage_.any.sa_family; }
  bool isV4() const noexcept { return family() == AF_INET; }
  bool isV6() const noexcept { return family() == AF_INET6; }
  uint16_t port() const noexcept;
  void setPort(uint16_t port) noexcept;

  const sockaddr* sa() const noexcept { return &storage_.any; }
  sockaddr* sa() noexcept { return &storage_.any; }
  socklen_t len() const noexcept {
    return isV4() ? sizeof(sockaddr_in) : isV6() ? sizeof(sockaddr_in6) : 0;
  }
  const sockaddr_in& in4() const noexcept { return storage_.in4; }
  const sockaddr_in6& in6() const noexcept { return storage_.in6; }

  // The address without the port: "192.0.2.1", "2001:db8::1".
  std::string host() const;
  // The form parse() accepts: "192.0.2.1:50000", "[2001:db8::1]:50000".
  std::string toString() const;

  // Same family, address, port (and IPv6 scope). The hot-path source check:
  // `sa` is the raw name from recvmsg.
  bool sameEndpoint(const sockaddr* sa, socklen_t len) const noexcept {
    if (len < sizeof(sa_family_t) || sa->sa_family != family()) return false;
    if (isV4()) {
      if (len < sizeof(sockaddr_in)) return false;
      const auto* o = reinterpret_cast<const sockaddr_in*>(sa);
      return o->sin_port == storage_.in4.sin_port &&
             o->sin_addr.s_addr == storage_.in4.sin_addr.s_addr;
    }
    if (len < sizeof(sockaddr_in6)) return false;
    const auto* o = reinterpret_cast<const sockaddr_in6*>(sa);
    return o->sin6_port == storage_.in6.sin6_port &&
           std::memcmp(&o->sin6_addr, &storage_.in6.sin6_addr, sizeof(in6_addr)) == 0 &&
           o->sin6_scope_id == storage_.in6.sin6_scope_id;
  }

  bool operator==(const SockAddr& other) const noexcept { return sameEndpoint(other.sa(), other.len()); }

 private:
  union Storage {
    sockaddr any;
    sockaddr_in in4;
    sockaddr_in6 in6;
  } storage_;
};

}  // namespace ferry
