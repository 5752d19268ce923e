#include "ferry/net/address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <charconv>

namespace ferry {
namespace {

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// Parses a decimal port 1..65535 with no sign, spaces or trailing junk.
bool parsePort(std::string_view text, uint16_t& port, std::string* error) {
  if (text.empty()) return fail(error, "missing port after ':'");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return fail(error, "port '" + std::string(text) + "' is not a number");
  if (value == 0 || value > 65535)
    return fail(error, "port " + std::string(text) + " is out of range 1..65535");
  port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

std::optional<SockAddr> SockAddr::parse(std::string_view text, std::string* error) {
  SockAddr out;
  if (text.empty()) {
    fail(error, "empty address, expected ADDRESS:PORT");
    return std::nullopt;
  }
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      fail(error, "'" + std::string(text) + "': missing ']' after IPv6 address");
      return std::nullopt;
    }
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      fail(error, "'" + std::string(text) + "': expected ':PORT' after ']'");
      return std::nullopt;
    }
    std::string host(text.substr(1, close - 1));
    std::string zone;
    if (const auto pct = host.find('%'); pct != std::string::npos) {
      zone = host.substr(pct + 1);
      host.resize(pct);
    }
    auto& in6 = out.storage_.in6;
    in6.sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.c_str(), &in6.sin6_addr) != 1) {
      fail(error, "'" + host + "' is not an IPv6 address");
      return std::nullopt;
    }
    if (!zone.empty()) {
      in6.sin6_scope_id = if_nametoindex(zone.c_str());
      if (in6.sin6_scope_id == 0) {
        fail(error, "IPv6 zone '" + zone + "' is not an interface on this host");
        return std::nullopt;
      }
    }
    uint16_t port = 0;
    if (!parsePort(text.substr(close + 2), port, error)) return std::nullopt;
    in6.sin6_port = htons(port);
    return out;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    fail(error, "'" + std::string(text) + "': expected ADDRESS:PORT");
    return std::nullopt;
  }
  const std::string host(text.substr(0, colon));
  if (host.find(':') != std::string::npos) {
    fail(error, "'" + std::string(text) + "': an IPv6 address needs brackets, as in [2001:db8::1]:50000");
    return std::nullopt;
  }
  auto& in4 = out.storage_.in4;
  in4.sin_family = AF_INET;
  if (inet_pton(AF_INET, host.c_str(), &in4.sin_addr) != 1) {
    fail(error, "'" + host + "' is not an IPv4 address");
    return std::nullopt;
  }
  uint16_t port = 0;
  if (!parsePort(text.substr(colon + 1), port, error)) return std::nullopt;
  in4.sin_port = htons(port);
  return out;
}

std::optional<SockAddr> SockAddr::fromSockaddr(const sockaddr* sa, socklen_t len) noexcept {
  SockAddr out;
  if (sa == nullptr || len < sizeof(sa_family_t)) return std::nullopt;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&out.storage_.in4, sa, sizeof(sockaddr_in));
    return out;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&out.storage_.in6, sa, sizeof(sockaddr_in6));
    return out;
  }
  return std::nullopt;
}

SockAddr SockAddr::v4(uint32_t addr_host_order, uint16_t port) noexcept {
  SockAddr out;
  out.storage_.in4.sin_family = AF_INET;
  out.storage_.in4.sin_addr.s_addr = htonl(addr_host_order);
  out.storage_.in4.sin_port = htons(port);
  return out;
}

uint16_t SockAddr::port() const noexcept {
  if (isV4()) return ntohs(storage_.in4.sin_port);
  if (isV6()) return ntohs(storage_.in6.sin6_port);
  return 0;
}

void SockAddr::setPort(uint16_t port) noexcept {
  if (isV4()) storage_.in4.sin_port = htons(port);
  if (isV6()) storage_.in6.sin6_port = htons(port);
}

std::string SockAddr::host() const {
  char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = {};
  if (isV4()) {
    inet_ntop(AF_INET, &storage_.in4.sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (isV6()) {
    inet_ntop(AF_INET6, &storage_.in6.sin6_addr, buf, sizeof(buf));
    std::string out = buf;
    char zone[IF_NAMESIZE] = {};
    if (storage_.in6.sin6_scope_id != 0 && if_indextoname(storage_.in6.sin6_scope_id, zone))
      out += std::string("%") + zone;
    return out;
  }
  return "unspecified";
}

std::string SockAddr::toString() const {
  if (isV6()) return "[" + host() + "]:" + std::to_string(port());
  if (isV4()) return host() + ":" + std::to_string(port());
  return "unspecified";
}

}  // namespace ferry
