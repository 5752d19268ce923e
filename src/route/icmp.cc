#include "ferry/route/icmp.h"

#include <algorithm>
#include <cstring>

#include "ferry/net/checksum.h"
#include "ferry/net/ip_header.h"
#include "ferry/route/inner.h"

namespace ferry::route {
namespace {

using namespace ip;  // header sizes and protocol numbers
constexpr uint8_t kTtl = 64;

// An IPv4 header without options for an ICMP message ferry sends: ID 0 with
// DF (RFC 6864 atomic datagram), TTL 64, its checksum.
void writeIpv4Header(std::span<uint8_t> out, uint8_t tos, size_t total, Ipv4 from,
                     Ipv4 to) noexcept {
  uint8_t* ip = out.data();
  ip[0] = 0x45;
  ip[1] = tos;
  storeBe16(ip + 2, static_cast<uint16_t>(total));
  storeBe16(ip + 4, 0);       // ID
  storeBe16(ip + 6, 0x4000);  // DF, offset 0
  ip[8] = kTtl;
  ip[9] = kProtoIcmp;
  storeBe16(ip + 10, 0);
  storeBe32(ip + 12, from);
  storeBe32(ip + 16, to);
  storeBe16(ip + 10, checksum::compute(out.first(kIpv4MinHeader)));
}

// An IPv6 header for an ICMPv6 message ferry sends: traffic class 0, flow
// label 0, hop limit 64.
void writeIpv6Header(std::span<uint8_t> out, size_t payload, const Ipv6& from,
                     const Ipv6& to) noexcept {
  uint8_t* ip = out.data();
  storeBe32(ip, 0x60000000);
  storeBe16(ip + 4, static_cast<uint16_t>(payload));
  ip[6] = kProtoIcmpV6;
  ip[7] = kTtl;
  from.store(ip + 8);
  to.store(ip + 24);
}

// The ICMPv6 pseudo-header's sum (RFC 8200 §8.1): the 32 address bytes
// starting at `addresses`, the 32-bit upper-layer length, 24 zero bits and
// the next header.
uint32_t pseudoHeaderV6(std::span<const uint8_t> addresses, size_t length) noexcept {
  uint32_t sum = checksum::add(0, addresses.first(32));
  sum = checksum::add16(sum, static_cast<uint16_t>(length >> 16));
  sum = checksum::add16(sum, static_cast<uint16_t>(length));
  return checksum::add16(sum, kProtoIcmpV6);
}

// ICMPv4 types that are queries/replies, not errors (RFC 792, RFC 950); any
// other type, unknown ones included, counts as an error (Linux icmp_pointers).
bool isIcmpV4Query(uint8_t type) noexcept {
  return type == 0 || type == 8 || (type >= 13 && type <= 18);
}

size_t buildV4(IcmpError kind, Ipv4 source, std::span<const uint8_t> in,
               std::span<uint8_t> out) noexcept {
  if (in.size() < kIpv4MinHeader || in[0] >> 4 != 4) return 0;
  const size_t ihl = static_cast<size_t>(in[0] & 0x0f) * 4;
  if (ihl < kIpv4MinHeader || ihl > in.size()) return 0;
  const size_t length = std::min<size_t>(loadBe16(&in[2]), in.size());
  if (length < ihl) return 0;
  const Ipv4 from = loadBe32(&in[12]);
  const Ipv4 to = loadBe32(&in[16]);
  if (isMartianV4(from) || isMartianV4(to)) return 0;
  const Transport t = findTransport(in.first(length));
  if (!t.first_fragment) return 0;
  if (t.protocol == kProtoIcmp && (t.offset >= length || !isIcmpV4Query(in[t.offset]))) return 0;

  constexpr size_t kHeaders = kIpv4MinHeader + kIcmpHeader;
  if (out.size() < kHeaders + std::min(length, ihl + 8)) return 0;
  const size_t quote = std::min({length, kIcmpV4MaxPacket - kHeaders, out.size() - kHeaders});
  const size_t total = kHeaders + quote;
  std::memmove(&out[kHeaders], in.data(), quote);  // in and out may overlap

  writeIpv4Header(out, 0xc0, total, source, from);  // TOS: precedence 6, RFC 1812 §4.3.2.5

  uint8_t* icmp = out.data() + kIpv4MinHeader;
  icmp[0] = kind == IcmpError::kTimeExceeded ? 11 : 3;
  icmp[1] = kind == IcmpError::kAdminProhibited ? 13 : 0;
  storeBe16(icmp + 2, 0);
  storeBe32(icmp + 4, 0);  // unused (RFC 4884 length 0: no extensions)
  storeBe16(icmp + 2, checksum::compute(out.subspan(kIpv4MinHeader, kIcmpHeader + quote)));
  return total;
}

size_t buildV6(IcmpError kind, const Ipv6& source, std::span<const uint8_t> in,
               std::span<uint8_t> out) noexcept {
  if (in.size() < kIpv6Header || in[0] >> 4 != 6) return 0;
  const size_t length = std::min<size_t>(kIpv6Header + loadBe16(&in[4]), in.size());
  const Ipv6 from = Ipv6::load(&in[8]);
  const Ipv6 to = Ipv6::load(&in[24]);
  if (isMartianV6(from) || isMartianV6(to)) return 0;
  const Transport t = findTransport(in.first(length));
  if (!t.complete || !t.first_fragment) return 0;
  // RFC 4443 §2.1: types 0-127 are errors.
  if (t.protocol == kProtoIcmpV6 && (t.offset >= length || in[t.offset] < 128)) return 0;

  constexpr size_t kHeaders = kIpv6Header + kIcmpHeader;
  if (out.size() < kHeaders + std::min(length, kIpv6Header + 8)) return 0;
  const size_t quote = std::min({length, kIcmpV6MaxPacket - kHeaders, out.size() - kHeaders});
  const size_t payload = kIcmpHeader + quote;
  std::memmove(&out[kHeaders], in.data(), quote);  // in and out may overlap

  writeIpv6Header(out, payload, source, from);

  uint8_t* icmp = out.data() + kIpv6Header;
  icmp[0] = kind == IcmpError::kTimeExceeded ? 3 : 1;
  icmp[1] = kind == IcmpError::kAdminProhibited ? 1 : 0;
  storeBe16(icmp + 2, 0);
  storeBe32(icmp + 4, 0);  // unused
  storeBe16(icmp + 2, checksum::fold(checksum::add(pseudoHeaderV6(out.subspan(8, 32), payload),
                                                   out.subspan(kIpv6Header, payload))));
  return kIpv6Header + payload;
}

// The ICMP message of a valid echo request to `self` (its offset and
// length in `in`), or {0, 0}.
struct EchoMessage {
  size_t offset = 0;
  size_t length = 0;
};

EchoMessage echoRequestV4(Ipv4 self, std::span<const uint8_t> in) noexcept {
  if (in.size() < kIpv4MinHeader || in[0] >> 4 != 4) return {};
  const size_t ihl = static_cast<size_t>(in[0] & 0x0f) * 4;
  const size_t length = loadBe16(&in[2]);
  if (ihl < kIpv4MinHeader || length < ihl + kIcmpHeader || length > in.size()) return {};
  if (checksum::compute(in.first(ihl)) != 0) return {};
  if ((loadBe16(&in[6]) & 0x3fff) != 0) return {};  // MF or an offset: a fragment
  if (in[9] != kProtoIcmp || loadBe32(&in[16]) != self || isMartianV4(loadBe32(&in[12]))) return {};
  const std::span<const uint8_t> icmp = in.subspan(ihl, length - ihl);
  if (icmp[0] != 8 || icmp[1] != 0 || checksum::compute(icmp) != 0) return {};
  if (kIpv4MinHeader + icmp.size() > kIcmpMaxPacket) return {};
  return {ihl, icmp.size()};
}

EchoMessage echoRequestV6(const Ipv6& self, std::span<const uint8_t> in) noexcept {
  if (in.size() < kIpv6Header || in[0] >> 4 != 6) return {};
  const size_t payload = loadBe16(&in[4]);
  if (payload < kIcmpHeader || kIpv6Header + payload > in.size()) return {};
  if (in[6] != kProtoIcmpV6 || !(Ipv6::load(&in[24]) == self) || isMartianV6(Ipv6::load(&in[8])))
    return {};
  const std::span<const uint8_t> icmp = in.subspan(kIpv6Header, payload);
  if (icmp[0] != 128 || icmp[1] != 0) return {};
  if (checksum::fold(checksum::add(pseudoHeaderV6(in.subspan(8, 32), payload), icmp)) != 0)
    return {};
  if (kIpv6Header + payload > kIcmpMaxPacket) return {};
  return {kIpv6Header, payload};
}

}  // namespace

bool isEchoRequestTo(const IpAddress& self, std::span<const uint8_t> packet) noexcept {
  const EchoMessage m =
      self.isV4() ? echoRequestV4(self.v4(), packet) : echoRequestV6(self.v6(), packet);
  return m.length != 0;
}

size_t buildEchoReply(const IpAddress& self, std::span<const uint8_t> request,
                      std::span<uint8_t> out) noexcept {
  if (self.isV4()) {
    const EchoMessage m = echoRequestV4(self.v4(), request);
    const size_t total = kIpv4MinHeader + m.length;
    if (m.length == 0 || out.size() < total) return 0;
    const uint8_t tos = request[1] & 0xfc;
    const Ipv4 to = loadBe32(&request[12]);
    std::memmove(&out[kIpv4MinHeader], &request[m.offset],
                 m.length);  // request and out may overlap
    writeIpv4Header(out, tos, total, self.v4(), to);
    uint8_t* icmp = out.data() + kIpv4MinHeader;
    icmp[0] = 0;  // echo reply
    storeBe16(icmp + 2, 0);
    storeBe16(icmp + 2, checksum::compute(out.subspan(kIpv4MinHeader, m.length)));
    return total;
  }
  const EchoMessage m = echoRequestV6(self.v6(), request);
  const size_t total = kIpv6Header + m.length;
  if (m.length == 0 || out.size() < total) return 0;
  const Ipv6 to = Ipv6::load(&request[8]);
  std::memmove(&out[kIpv6Header], &request[m.offset], m.length);
  writeIpv6Header(out, m.length, self.v6(), to);
  uint8_t* icmp = out.data() + kIpv6Header;
  icmp[0] = 129;  // echo reply
  storeBe16(icmp + 2, 0);
  storeBe16(icmp + 2, checksum::fold(checksum::add(pseudoHeaderV6(out.subspan(8, 32), m.length),
                                                   out.subspan(kIpv6Header, m.length))));
  return total;
}

size_t buildIcmpError(IcmpError kind, const IpAddress& source, std::span<const uint8_t> offending,
                      std::span<uint8_t> out) noexcept {
  return source.isV4() ? buildV4(kind, source.v4(), offending, out)
                       : buildV6(kind, source.v6(), offending, out);
}

}  // namespace ferry::route
