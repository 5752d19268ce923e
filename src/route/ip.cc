#include "ferry/route/ip.h"

#include <arpa/inet.h>

#include <charconv>

#include "text.h"

namespace ferry::route {

std::optional<Ipv4> parseIpv4(std::string_view text) noexcept {
  // Strict dotted quad: four decimal fields 0..255, no leading zeros (which
  // inet_aton would read as octal), nothing else.
  Ipv4 value = 0;
  const char* p = text.data();
  const char* const end = p + text.size();
  for (int field = 0; field < 4; ++field) {
    if (field > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    const char* const start = p;
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || next == start || octet > 255) return std::nullopt;
    if (next - start > 1 && *start == '0') return std::nullopt;
    if (*start == '+' || *start == '-') return std::nullopt;
    value = value << 8 | octet;
    p = next;
  }
  if (p != end) return std::nullopt;
  return value;
}

std::optional<Ipv6> parseIpv6(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.size() >= sizeof(buf)) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t bytes[16];
  if (inet_pton(AF_INET6, buf, bytes) != 1) return std::nullopt;
  return Ipv6::load(bytes);
}

std::string toString(Ipv4 address) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    if (shift != 24) out += '.';
    out += std::to_string(address >> shift & 0xff);
  }
  return out;
}

std::string toString(const Ipv6& address) {
  uint8_t bytes[16];
  address.store(bytes);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes, buf, sizeof(buf));
  return buf;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text, std::string* error) {
  if (text.find(':') != std::string_view::npos) {
    if (auto v6 = parseIpv6(text)) return IpAddress::v6(*v6);
    setError(error, cat({"'", text, "' is not an IPv6 address"}));
    return std::nullopt;
  }
  if (auto v4 = parseIpv4(text)) return IpAddress::v4(*v4);
  setError(error, cat({"'", text, "' is not an IPv4 address"}));
  return std::nullopt;
}

std::string IpAddress::toString() const {
  return isV4() ? route::toString(v4()) : route::toString(bits_);
}

Prefix Prefix::v4(Ipv4 address, unsigned length) noexcept {
  return Prefix(Family::kIpv4, {0, address}, static_cast<uint8_t>(length > 32 ? 32 : length));
}

Prefix Prefix::v6(const Ipv6& address, unsigned length) noexcept {
  return Prefix(Family::kIpv6, address, static_cast<uint8_t>(length > 128 ? 128 : length));
}

std::optional<Prefix> Prefix::parse(std::string_view text, std::string* error, HostBits host_bits) {
  const std::string quoted = cat({"'", text, "'"});
  const auto slash = text.find('/');
  const std::string_view addr_text = text.substr(0, slash);
  auto address = IpAddress::parse(addr_text);
  if (!address) {
    setError(error, cat({quoted, ": '", addr_text, "' is not an IPv4 or IPv6 address"}));
    return std::nullopt;
  }
  const unsigned max_length = address->isV4() ? 32 : 128;
  unsigned length = max_length;
  if (slash != std::string_view::npos) {
    const std::string_view len_text = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), length);
    if (len_text.empty() || ec != std::errc() || end != len_text.data() + len_text.size() ||
        (len_text.size() > 1 && len_text[0] == '0')) {
      setError(error, cat({quoted, ": prefix length '", len_text, "' is not a number"}));
      return std::nullopt;
    }
    if (length > max_length) {
      setError(error,
               cat({quoted, ": prefix length ", std::to_string(length), " is beyond ",
                    std::to_string(max_length), " for ", address->isV4() ? "IPv4" : "IPv6"}));
      return std::nullopt;
    }
  }
  Prefix prefix =
      address->isV4() ? Prefix::v4(address->v4(), length) : Prefix::v6(address->v6(), length);
  if (host_bits == HostBits::kReject && prefix.hasHostBits()) {
    setError(error, cat({quoted, " has host bits set beyond /", std::to_string(length),
                         " (did you mean ", prefix.masked().toString(), "?)"}));
    return std::nullopt;
  }
  return prefix;
}

bool Prefix::hasHostBits() const noexcept { return masked().bits_ != bits_; }

Prefix Prefix::masked() const noexcept {
  Prefix out = *this;
  if (isV4()) {
    out.bits_.lo = v4() & ipv4Mask(length_);
  } else {
    out.bits_ = bits_ & ipv6Mask(length_);
  }
  return out;
}

std::string Prefix::toString() const {
  return cat(
      {isV4() ? route::toString(v4()) : route::toString(bits_), "/", std::to_string(length_)});
}

}  // namespace ferry::route
