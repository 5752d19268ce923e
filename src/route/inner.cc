#include "ferry/route/inner.h"

#include "ferry/net/checksum.h"
#include "ferry/net/ip_header.h"

namespace ferry::route {
namespace {

using namespace ip;  // header sizes and protocol numbers

constexpr int kMaxExtensionHeaders = 4;

bool hasPorts(uint8_t protocol) noexcept {
  return protocol == kProtoTcp || protocol == kProtoUdp || protocol == kProtoDccp ||
         protocol == kProtoSctp || protocol == kProtoUdpLite;
}

Transport findTransportV4(std::span<const uint8_t> p) noexcept {
  Transport t;
  t.protocol = p[9];
  const uint16_t frag = loadBe16(&p[6]);
  const uint16_t offset = frag & 0x1fff;
  t.fragment = offset != 0 || (frag & 0x2000) != 0;  // offset or MF
  t.first_fragment = offset == 0;
  t.offset = static_cast<uint32_t>(p[0] & 0x0f) * 4;
  return t;
}

Transport findTransportV6(std::span<const uint8_t> p) noexcept {
  Transport t;
  uint8_t next = p[6];
  size_t offset = kIpv6Header;
  for (int i = 0;; ++i) {
    if (next != kProtoHopByHop && next != kProtoRouting && next != kProtoFragment &&
        next != kProtoDestOpts && next != kProtoAh) {
      break;
    }
    if (i == kMaxExtensionHeaders || offset + 8 > p.size()) {
      t.complete = false;
      break;
    }
    const uint8_t* h = &p[offset];
    if (next == kProtoFragment) {
      const uint16_t frag = loadBe16(h + 2);
      t.fragment = true;
      t.first_fragment = (frag & 0xfff8) == 0;
      offset += 8;
    } else if (next == kProtoAh) {
      offset += (size_t{h[1]} + 2) * 4;  // RFC 4302 §2.2: in 4-byte units, minus 2
    } else {
      offset += (size_t{h[1]} + 1) * 8;  // RFC 8200 §4.3: in 8-byte units, minus 1
    }
    next = h[0];
  }
  // The last extension header's length may point past the packet: then the
  // transport header is not in it (truncated), whatever the walk found.
  if (offset > p.size()) t.complete = false;
  t.protocol = next;
  t.offset = static_cast<uint32_t>(offset);
  return t;
}

// One multiply-xorshift round per 64-bit word; fmix64 (MurmurHash3) to finish
// so every input bit affects the top bits that ECMP uses.
inline uint64_t mixWord(uint64_t h, uint64_t word) noexcept {
  h = (h ^ word) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 29);
}
inline uint32_t finish(uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

// The protocol/ports word of the 5-tuple.
uint64_t transportWord(std::span<const uint8_t> p, const Transport& t) noexcept {
  uint64_t word = uint64_t{t.protocol} << 32;
  if (t.complete && t.first_fragment && hasPorts(t.protocol) && t.offset + 4 <= p.size()) {
    word |= loadBe32(&p[t.offset]);
  }
  return word;
}

// Distinct starting constants keep the families' hash spaces apart.
uint32_t hashV4(std::span<const uint8_t> p, uint32_t seed) noexcept {
  uint64_t h = (uint64_t{seed} << 32 | seed) ^ 0x2545f4914f6cdd1dull;
  h = mixWord(h, uint64_t{loadBe32(&p[12])} << 32 | loadBe32(&p[16]));
  h = mixWord(h, transportWord(p, findTransportV4(p)));
  return finish(h);
}

uint32_t hashV6(std::span<const uint8_t> p, uint32_t seed) noexcept {
  uint64_t h = (uint64_t{seed} << 32 | seed) ^ 0x61c8864680b583ebull;
  h = mixWord(h, loadBe64(&p[8]));
  h = mixWord(h, loadBe64(&p[16]));
  h = mixWord(h, loadBe64(&p[24]));
  h = mixWord(h, loadBe64(&p[32]));
  h = mixWord(h, transportWord(p, findTransportV6(p)));
  return finish(h);
}

InnerPacket bad(HeaderError error) noexcept {
  InnerPacket out;
  out.verdict = Verdict::kBadInnerHeader;
  out.error = error;
  return out;
}

InnerPacket parseV4(std::span<const uint8_t> p, uint32_t seed) noexcept {
  if (p.size() < kIpv4MinHeader) return bad(HeaderError::kTruncated);
  const size_t header_length = static_cast<size_t>(p[0] & 0x0f) * 4;
  if (header_length < kIpv4MinHeader || header_length > p.size()) {
    return bad(HeaderError::kBadIhl);
  }
  const size_t total_length = loadBe16(&p[2]);
  if (total_length < header_length || total_length > p.size()) {
    return bad(HeaderError::kBadTotalLength);
  }
  // RFC 1812 §5.2.2: the one's-complement sum over a correct header is 0xffff.
  if (checksum::compute(p.first(header_length)) != 0) return bad(HeaderError::kBadChecksum);

  InnerPacket out;
  out.family = Family::kIpv4;
  out.ttl = p[8];
  out.length = static_cast<uint32_t>(total_length);
  const Ipv4 source = loadBe32(&p[12]);
  const Ipv4 destination = loadBe32(&p[16]);
  out.source = IpAddress::v4(source);
  out.destination = IpAddress::v4(destination);
  if (isMartianV4(source) || isMartianV4(destination)) {
    out.verdict = Verdict::kMartian;
  } else if (out.ttl <= 1) {
    out.verdict = Verdict::kTtlExceeded;
  } else {
    out.verdict = Verdict::kForward;
    out.flow_hash = hashV4(p.first(total_length), seed);
  }
  return out;
}

InnerPacket parseV6(std::span<const uint8_t> p, uint32_t seed) noexcept {
  if (p.size() < kIpv6Header) return bad(HeaderError::kTruncated);
  const size_t length = kIpv6Header + loadBe16(&p[4]);
  if (length > p.size()) return bad(HeaderError::kBadPayloadLength);

  InnerPacket out;
  out.family = Family::kIpv6;
  out.ttl = p[7];
  out.length = static_cast<uint32_t>(length);
  const Ipv6 source = Ipv6::load(&p[8]);
  const Ipv6 destination = Ipv6::load(&p[24]);
  out.source = IpAddress::v6(source);
  out.destination = IpAddress::v6(destination);
  if (isMartianV6(source) || isMartianV6(destination)) {
    out.verdict = Verdict::kMartian;
  } else if (out.ttl <= 1) {
    out.verdict = Verdict::kTtlExceeded;
  } else {
    out.verdict = Verdict::kForward;
    out.flow_hash = hashV6(p.first(length), seed);
  }
  return out;
}

}  // namespace

std::string_view toString(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::kForward:
      return "forward";
    case Verdict::kBadInnerHeader:
      return "bad_inner_header";
    case Verdict::kTtlExceeded:
      return "ttl_exceeded";
    case Verdict::kMartian:
      return "martian";
    case Verdict::kNoRoute:
      return "no_route";
    case Verdict::kAllNextHopsDown:
      return "all_next_hops_down";
    case Verdict::kBlackhole:
      return "blackhole";
    case Verdict::kUnreachable:
      return "unreachable";
    case Verdict::kProhibited:
      return "prohibited";
  }
  return "unknown";
}

std::string_view toString(HeaderError error) noexcept {
  switch (error) {
    case HeaderError::kNone:
      return "none";
    case HeaderError::kTruncated:
      return "truncated";
    case HeaderError::kBadVersion:
      return "bad_version";
    case HeaderError::kBadIhl:
      return "bad_ihl";
    case HeaderError::kBadTotalLength:
      return "bad_total_length";
    case HeaderError::kBadChecksum:
      return "bad_checksum";
    case HeaderError::kBadPayloadLength:
      return "bad_payload_length";
  }
  return "unknown";
}

bool isMartianV4(Ipv4 a) noexcept {
  const uint32_t first = a >> 24;
  return first == 0 || first == 127 || first >= 224 || (a >> 16) == 0xa9fe;  // 169.254/16
}

bool isMartianV6(const Ipv6& a) noexcept {
  if (a.hi == 0 && a.lo <= 1) return true;                 // ::, ::1
  const uint64_t top = a.hi >> 54;                         // first 10 bits
  return top == (0xfe80ull >> 6) || (a.hi >> 56) == 0xff;  // fe80::/10, ff00::/8
}

Transport findTransport(std::span<const uint8_t> packet) noexcept {
  if (packet.size() >= kIpv6Header && packet[0] >> 4 == 6) return findTransportV6(packet);
  if (packet.size() >= kIpv4MinHeader && packet[0] >> 4 == 4 &&
      static_cast<size_t>(packet[0] & 0x0f) * 4 <= packet.size()) {
    return findTransportV4(packet);
  }
  Transport t;
  t.complete = false;
  return t;
}

uint32_t flowHash(std::span<const uint8_t> packet, uint32_t seed) noexcept {
  if (packet.size() >= kIpv6Header && packet[0] >> 4 == 6) return hashV6(packet, seed);
  if (packet.size() >= kIpv4MinHeader && packet[0] >> 4 == 4 &&
      static_cast<size_t>(packet[0] & 0x0f) * 4 <= packet.size()) {
    return hashV4(packet, seed);
  }
  return 0;
}

InnerPacket parseInner(std::span<const uint8_t> payload, uint32_t hash_seed) noexcept {
  if (payload.empty()) return bad(HeaderError::kTruncated);
  switch (payload[0] >> 4) {
    case 4:
      return parseV4(payload, hash_seed);
    case 6:
      return parseV6(payload, hash_seed);
    default:
      return bad(HeaderError::kBadVersion);
  }
}

void decrementTtl(std::span<uint8_t> packet, const InnerPacket& parsed) noexcept {
  if (parsed.family == Family::kIpv6) {
    --packet[7];
    return;
  }
  // The TTL shares a 16-bit checksum word with the protocol (bytes 8..9).
  const uint16_t old_word = loadBe16(&packet[8]);
  const auto new_word = static_cast<uint16_t>(old_word - 0x0100);
  storeBe16(&packet[8], new_word);
  storeBe16(&packet[10], checksum::update16(loadBe16(&packet[10]), old_word, new_word));
}

}  // namespace ferry::route
