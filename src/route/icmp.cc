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

  uint8_t* ip = out.data();
  ip[0] = 0x45;
  ip[1] = 0xc0;
  storeBe16(ip + 2, static_cast<uint16_t>(total));
  storeBe16(ip + 4, 0);       // ID
  storeBe16(ip + 6, 0x4000);  // DF, offset 0
  ip[8] = kTtl;
  ip[9] = kProtoIcmp;
  storeBe16(ip + 10, 0);
  storeBe32(ip + 12, source);
  storeBe32(ip + 16, from);
  storeBe16(ip + 10, checksum::compute(out.first(kIpv4MinHeader)));

  uint8_t* icmp = ip + kIpv4MinHeader;
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

  uint8_t* ip = out.data();
  storeBe32(ip, 0x60000000);  // version 6, traffic class 0, flow label 0
  storeBe16(ip + 4, static_cast<uint16_t>(payload));
  ip[6] = kProtoIcmpV6;
  ip[7] = kTtl;
  source.store(ip + 8);
  from.store(ip + 24);

  uint8_t* icmp = ip + kIpv6Header;
  icmp[0] = kind == IcmpError::kTimeExceeded ? 3 : 1;
  icmp[1] = kind == IcmpError::kAdminProhibited ? 1 : 0;
  storeBe16(icmp + 2, 0);
  storeBe32(icmp + 4, 0);  // unused
  // Pseudo-header (RFC 8200 §8.1): source, destination, 32-bit upper-layer
  // length, 24 zero bits, next header.
  uint32_t sum = checksum::add(0, out.subspan(8, 32));
  sum = checksum::add16(sum, static_cast<uint16_t>(payload));
  sum = checksum::add16(sum, kProtoIcmpV6);
  sum = checksum::add(sum, out.subspan(kIpv6Header, payload));
  storeBe16(icmp + 2, checksum::fold(sum));
  return kIpv6Header + payload;
}

}  // namespace

size_t buildIcmpError(IcmpError kind, const IpAddress& source, std::span<const uint8_t> offending,
                      std::span<uint8_t> out) noexcept {
  return source.isV4() ? buildV4(kind, source.v4(), offending, out)
                       : buildV6(kind, source.v6(), offending, out);
}

}  // namespace ferry::route
