// Test helpers: build IPv4/IPv6 packets field by field, with correct checksums.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "ferry/net/checksum.h"
#include "ferry/route/ip.h"

namespace ferry::route::testing {

struct V4Spec {
  Ipv4 source = 0x0a000001;       // 10.0.0.1
  Ipv4 destination = 0x0a020304;  // 10.2.3.4
  uint8_t ttl = 64;
  uint8_t protocol = 17;
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  uint16_t fragment = 0;     // flags + offset word (0x2000 = MF)
  uint8_t option_words = 0;  // IHL = 5 + option_words
  uint16_t source_port = 1000;
  uint16_t destination_port = 2000;
  size_t payload = 12;  // bytes after the IP header (ports are the first 4)
};

inline void fixIpv4Checksum(std::vector<uint8_t>& p) {
  const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  p[10] = p[11] = 0;
  storeBe16(&p[10], checksum::compute(std::span(p).first(ihl)));
}

inline std::vector<uint8_t> makeV4(const V4Spec& s) {
  const size_t ihl = 20 + size_t{s.option_words} * 4;
  std::vector<uint8_t> p(ihl + s.payload, 0);
  p[0] = static_cast<uint8_t>(0x40 | (5 + s.option_words));
  p[1] = s.tos;
  storeBe16(&p[2], static_cast<uint16_t>(p.size()));
  storeBe16(&p[4], s.id);
  storeBe16(&p[6], s.fragment);
  p[8] = s.ttl;
  p[9] = s.protocol;
  storeBe32(&p[12], s.source);
  storeBe32(&p[16], s.destination);
  for (size_t i = 20; i < ihl; ++i) p[i] = 1;  // NOP options
  if (s.payload >= 4) {
    storeBe16(&p[ihl], s.source_port);
    storeBe16(&p[ihl + 2], s.destination_port);
  }
  for (size_t i = ihl + 4; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  fixIpv4Checksum(p);
  return p;
}

struct V6Spec {
  Ipv6 source{0x20010db800000000, 1};       // 2001:db8::1
  Ipv6 destination{0x20010db800020000, 4};  // 2001:db8:2::4
  uint8_t hop_limit = 64;
  uint8_t next_header = 17;
  uint16_t source_port = 1000;
  uint16_t destination_port = 2000;
  // Extension headers to put before the transport header, in order: each is a
  // protocol number (0, 43, 60: 8 bytes each; 44: fragment header with
  // `fragment_offset`).
  std::vector<uint8_t> extensions;
  uint16_t fragment_offset = 0;  // in 8-byte units
  size_t payload = 12;           // transport bytes (ports are the first 4)
};

inline std::vector<uint8_t> makeV6(const V6Spec& s) {
  std::vector<uint8_t> p(40 + s.extensions.size() * 8 + s.payload, 0);
  p[0] = 0x60;
  storeBe16(&p[4], static_cast<uint16_t>(p.size() - 40));
  p[6] = s.extensions.empty() ? s.next_header : s.extensions.front();
  p[7] = s.hop_limit;
  s.source.store(&p[8]);
  s.destination.store(&p[24]);
  size_t offset = 40;
  for (size_t i = 0; i < s.extensions.size(); ++i) {
    p[offset] = i + 1 < s.extensions.size() ? s.extensions[i + 1] : s.next_header;
    p[offset + 1] = 0;  // 8 bytes (for the fragment header: reserved)
    if (s.extensions[i] == 44)
      storeBe16(&p[offset + 2], static_cast<uint16_t>(s.fragment_offset << 3));
    offset += 8;
  }
  if (s.payload >= 4) {
    storeBe16(&p[offset], s.source_port);
    storeBe16(&p[offset + 2], s.destination_port);
  }
  for (size_t i = offset + 4; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i);
  return p;
}

// ICMP echo requests (or another ICMP `type`) on makeV4/makeV6: `data` bytes
// after the 8-byte header (identifier 0x4242, sequence 7), the ICMP or
// ICMPv6 checksum set (ICMPv6: behind any extension headers, with the
// pseudo-header of RFC 8200 §8.1).
inline std::vector<uint8_t> makeEchoV4(V4Spec s, size_t data = 16, uint8_t type = 8) {
  s.protocol = 1;
  s.payload = 8 + data;
  auto p = makeV4(s);
  const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  p[ihl] = type;
  p[ihl + 1] = 0;
  storeBe16(&p[ihl + 2], 0);
  storeBe16(&p[ihl + 4], 0x4242);
  storeBe16(&p[ihl + 6], 7);
  storeBe16(&p[ihl + 2], checksum::compute(std::span(p).subspan(ihl)));
  return p;
}

inline std::vector<uint8_t> makeEchoV6(V6Spec s, size_t data = 16, uint8_t type = 128) {
  s.next_header = 58;
  s.payload = 8 + data;
  auto p = makeV6(s);
  const size_t at = 40 + s.extensions.size() * 8;
  p[at] = type;
  p[at + 1] = 0;
  storeBe16(&p[at + 2], 0);
  storeBe16(&p[at + 4], 0x4242);
  storeBe16(&p[at + 6], 7);
  uint32_t sum = checksum::add(0, std::span(p).subspan(8, 32));
  sum = checksum::add16(sum, static_cast<uint16_t>(p.size() - at));
  sum = checksum::add16(sum, 58);
  storeBe16(&p[at + 2], checksum::fold(checksum::add(sum, std::span(p).subspan(at))));
  return p;
}

}  // namespace ferry::route::testing
