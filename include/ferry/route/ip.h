// IP address and prefix value types for route mode: IPv4 and IPv6 addresses as
// host-order integers (cheap to compare, mask and shift on the per-packet path),
// text parsing for the config (packet byte access: ferry/net/byte_order.h). Parsing and printing allocate; everything else is noexcept and pure.
#pragma once

#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/net/byte_order.h"

namespace ferry::route {

// ---- Addresses. ----

enum class Family : uint8_t { kIpv4 = 4, kIpv6 = 6 };

// An IPv4 address in host order: 10.0.0.1 is 0x0a000001. A plain integer so
// that masks and table indices are one instruction.
using Ipv4 = uint32_t;

// An IPv6 address as two host-order halves: `hi` holds bytes 0..7 (the routing
// prefix end), `lo` bytes 8..15. Ordering is numeric, i.e. the same as memcmp of
// the 16 wire bytes.
struct Ipv6 {
  uint64_t hi = 0;
  uint64_t lo = 0;

  static Ipv6 load(const uint8_t* bytes16) noexcept {
    return {loadBe64(bytes16), loadBe64(bytes16 + 8)};
  }
  void store(uint8_t* bytes16) const noexcept {
    storeBe64(bytes16, hi);
    storeBe64(bytes16 + 8, lo);
  }
  friend constexpr auto operator<=>(const Ipv6&, const Ipv6&) = default;
};

// The network mask of a prefix length, host order (length 0 → 0, 32 → all ones).
constexpr Ipv4 ipv4Mask(unsigned length) noexcept {
  return length == 0 ? 0 : ~Ipv4{0} << (32 - (length > 32 ? 32 : length));
}
constexpr Ipv6 ipv6Mask(unsigned length) noexcept {
  if (length >= 128) return {~uint64_t{0}, ~uint64_t{0}};
  if (length > 64) return {~uint64_t{0}, ~uint64_t{0} << (128 - length)};
  if (length == 0) return {0, 0};
  return {~uint64_t{0} << (64 - length), 0};
}
constexpr Ipv6 operator&(const Ipv6& a, const Ipv6& b) noexcept {
  return {a.hi & b.hi, a.lo & b.lo};
}

// Parses dotted-quad IPv4 ("192.0.2.1"; no leading zeros, no shorthand).
std::optional<Ipv4> parseIpv4(std::string_view text) noexcept;
// Parses IPv6 text as inet_pton does (RFC 4291 §2.2, "::", embedded IPv4; no zone).
std::optional<Ipv6> parseIpv6(std::string_view text) noexcept;
std::string toString(Ipv4 address);
std::string toString(const Ipv6& address);  // RFC 5952 form, as inet_ntop prints it.

// An IPv4 or IPv6 address (config values such as the ICMP source address).
class IpAddress {
 public:
  IpAddress() noexcept = default;  // IPv4 0.0.0.0
  static IpAddress v4(Ipv4 address) noexcept { return IpAddress(Family::kIpv4, {0, address}); }
  static IpAddress v6(const Ipv6& address) noexcept { return IpAddress(Family::kIpv6, address); }
  // Either family: IPv6 when the text contains ':'. On failure returns nullopt
  // and, if `error` is given, says what is wrong.
  static std::optional<IpAddress> parse(std::string_view text, std::string* error = nullptr);

  Family family() const noexcept { return family_; }
  bool isV4() const noexcept { return family_ == Family::kIpv4; }
  bool isV6() const noexcept { return family_ == Family::kIpv6; }
  Ipv4 v4() const noexcept { return static_cast<Ipv4>(bits_.lo); }  // meaningful when isV4()
  const Ipv6& v6() const noexcept { return bits_; }                 // meaningful when isV6()
  std::string toString() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;

 private:
  IpAddress(Family family, const Ipv6& bits) noexcept : family_(family), bits_(bits) {}
  Family family_ = Family::kIpv4;
  Ipv6 bits_;  // IPv4 lives in the low 32 bits of lo
};

// ---- Prefixes. ----

// What Prefix::parse does with an address that has bits set beyond the prefix
// length ("10.2.0.1/16"). The config decides whether that is an error or a
// warning: kReject fails with a message; kKeep returns the prefix as written, and
// hasHostBits() / masked() let the caller warn and canonicalise.
enum class HostBits : uint8_t { kReject, kKeep };

// An IPv4 or IPv6 prefix: address + length ("10.2.0.0/16", "2001:db8::/32").
// A value type; ordering is (family, address, length).
class Prefix {
 public:
  Prefix() noexcept = default;  // 0.0.0.0/0
  // `length` is clamped to the family's width (32 or 128).
  static Prefix v4(Ipv4 address, unsigned length) noexcept;
  static Prefix v6(const Ipv6& address, unsigned length) noexcept;

  // Parses "ADDRESS/LENGTH"; a bare address means a host route (/32, /128).
  // Errors say which part is wrong: the address, the length (not a number, or
  // beyond 32/128), or — with HostBits::kReject — the host bits, naming the
  // canonical prefix ("10.2.0.1/16 has host bits set (did you mean 10.2.0.0/16?)").
  static std::optional<Prefix> parse(std::string_view text, std::string* error = nullptr,
                                     HostBits host_bits = HostBits::kReject);

  Family family() const noexcept { return family_; }
  bool isV4() const noexcept { return family_ == Family::kIpv4; }
  bool isV6() const noexcept { return family_ == Family::kIpv6; }
  unsigned length() const noexcept { return length_; }
  // The address as written, host bits included (see masked()).
  Ipv4 v4() const noexcept { return static_cast<Ipv4>(bits_.lo); }
  const Ipv6& v6() const noexcept { return bits_; }
  IpAddress address() const noexcept { return isV4() ? IpAddress::v4(v4()) : IpAddress::v6(bits_); }

  // True when the address has bits set beyond length() (only possible for
  // prefixes parsed with HostBits::kKeep or built with v4()/v6()).
  bool hasHostBits() const noexcept;
  // The same prefix with its host bits cleared: the canonical form.
  Prefix masked() const noexcept;

  // Whether `address` (same family) lies in this prefix; host bits of the prefix
  // are ignored. A different family never matches.
  bool contains(Ipv4 address) const noexcept {
    return isV4() && ((address ^ v4()) & ipv4Mask(length_)) == 0;
  }
  bool contains(const Ipv6& address) const noexcept {
    const Ipv6 m = ipv6Mask(length_);
    return isV6() && ((address.hi ^ bits_.hi) & m.hi) == 0 && ((address.lo ^ bits_.lo) & m.lo) == 0;
  }
  bool contains(const IpAddress& address) const noexcept {
    return address.isV4() ? contains(address.v4()) : contains(address.v6());
  }
  // Whether `other` (same family) is equal to or more specific than this prefix.
  bool contains(const Prefix& other) const noexcept {
    return other.family_ == family_ && other.length_ >= length_ &&
           (isV4() ? contains(other.v4()) : contains(other.v6()));
  }

  // "10.2.0.0/16", "2001:db8::/32" (as stored: host bits appear if kept).
  std::string toString() const;

  friend bool operator==(const Prefix&, const Prefix&) = default;
  friend auto operator<=>(const Prefix& a, const Prefix& b) noexcept {
    if (a.family_ != b.family_) return a.family_ <=> b.family_;
    if (a.bits_ != b.bits_) return a.bits_ <=> b.bits_;
    return a.length_ <=> b.length_;
  }

 private:
  Prefix(Family family, const Ipv6& bits, uint8_t length) noexcept
      : family_(family), length_(length), bits_(bits) {}
  Family family_ = Family::kIpv4;
  uint8_t length_ = 0;
  Ipv6 bits_;  // IPv4 lives in the low 32 bits of lo
};

}  // namespace ferry::route
