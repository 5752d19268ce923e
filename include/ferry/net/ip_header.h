// Sizes and protocol numbers of the IP, UDP and ICMP headers that route mode
// and ferry-gen read and write (RFC 791, RFC 8200, RFC 768, RFC 792/4443;
// protocol numbers as IANA assigns them).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::ip {

inline constexpr size_t kIpv4MinHeader = 20;  // without options (IHL 5)
inline constexpr size_t kIpv6Header = 40;     // the fixed header
inline constexpr size_t kUdpHeader = 8;
inline constexpr size_t kIcmpHeader = 8;      // ICMPv4 and ICMPv6 alike

// IPv4 Protocol / IPv6 Next Header values.
inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoDccp = 33;
inline constexpr uint8_t kProtoRouting = 43;
inline constexpr uint8_t kProtoFragment = 44;
inline constexpr uint8_t kProtoAh = 51;
inline constexpr uint8_t kProtoIcmpV6 = 58;
inline constexpr uint8_t kProtoDestOpts = 60;
inline constexpr uint8_t kProtoSctp = 132;
inline constexpr uint8_t kProtoUdpLite = 136;

}  // namespace ferry::ip
