#include "ferry/gen/wire.h"

#include <algorithm>
#include <cstring>

#include "ferry/net/checksum.h"

namespace ferry::gen {
namespace {

using ferry::loadBe16;
using ferry::loadBe32;
using ferry::loadBe64;
using ferry::storeBe16;
using ferry::storeBe32;
using ferry::storeBe64;

// The header's 48-bit timestamp.
void storeBe48(uint8_t* p, uint64_t v) noexcept {
  storeBe16(p, static_cast<uint16_t>(v >> 32));
  storeBe32(p + 2, static_cast<uint32_t>(v));
}
uint64_t loadBe48(const uint8_t* p) noexcept {
  return static_cast<uint64_t>(loadBe16(p)) << 32 | loadBe32(p + 2);
}

constexpr uint8_t kTtl = 64;

size_t addressSize(Encap encap) noexcept { return encap == Encap::kIpv6 ? 16 : 4; }

// Writes the inner IP and UDP headers for a packet of `size` outer payload
// bytes, with the UDP checksum field 0. Returns the unfolded checksum sum of
// the pseudo-header and the UDP header.
uint32_t writeInnerHeaders(Encap encap, const InnerConfig& inner, uint16_t flow, size_t size,
                           uint8_t* out) noexcept {
  const auto src = innerAddress(inner.src, flow);
  const auto dst = innerAddress(inner.dst, flow);
  const size_t ip_size = encap == Encap::kIpv4 ? ip::kIpv4MinHeader : ip::kIpv6Header;
  const auto udp_length = static_cast<uint16_t>(size - ip_size);
  const size_t alen = addressSize(encap);
  if (encap == Encap::kIpv4) {
    out[0] = 0x45;  // version 4, 5 words
    out[1] = 0;     // DSCP/ECN
    storeBe16(out + 2, static_cast<uint16_t>(size));
    storeBe16(out + 4, 0);       // identification: DF is set, so unused
    storeBe16(out + 6, 0x4000);  // DF, offset 0
    out[8] = kTtl;
    out[9] = ip::kProtoUdp;
    storeBe16(out + 10, 0);
    std::memcpy(out + 12, src.data(), 4);
    std::memcpy(out + 16, dst.data(), 4);
    storeBe16(out + 10, checksum::compute({out, ip::kIpv4MinHeader}));
  } else {
    // Version 6, traffic class 0, flow label = flow id (20 bits).
    storeBe32(out, 0x60000000u | flow);
    storeBe16(out + 4, udp_length);
    out[6] = ip::kProtoUdp;
    out[7] = kTtl;
    std::memcpy(out + 8, src.data(), 16);
    std::memcpy(out + 24, dst.data(), 16);
  }
  uint8_t* udp = out + ip_size;
  storeBe16(udp, static_cast<uint16_t>(inner.src_port_base + flow % 16384));
  storeBe16(udp + 2, inner.dst_port);
  storeBe16(udp + 4, udp_length);
  storeBe16(udp + 6, 0);
  // Pseudo-header (RFC 768 / RFC 8200 §8.1): addresses, protocol, UDP length.
  uint32_t sum = checksum::add(0, {src.data(), alen});
  sum = checksum::add(sum, {dst.data(), alen});
  sum = checksum::add16(sum, ip::kProtoUdp);
  sum = checksum::add16(sum, udp_length);
  return checksum::add(sum, {udp, ip::kUdpHeader});
}

// The value to store: an all-zero result is sent as 0xffff (0 means "none").
uint16_t udpChecksumField(uint32_t sum) noexcept {
  const uint16_t c = checksum::fold(sum);
  return c == 0 ? 0xffff : c;
}

}  // namespace

void encodeHeader(const Header& header, uint8_t* out) noexcept {
  storeBe16(out, header.kind == Kind::kEnd ? kEndMagic : kDataMagic);
  storeBe16(out + 2, header.flow);
  storeBe32(out + 4, header.seq);
  storeBe16(out + 8, header.run);
  storeBe48(out + 10, header.sent_ns & kTimestampMask);
}

std::optional<Header> decodeHeader(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < kHeaderSize) return std::nullopt;
  const uint8_t* p = payload.data();
  Header h;
  const uint16_t magic = loadBe16(p);
  if (magic == kDataMagic)
    h.kind = Kind::kData;
  else if (magic == kEndMagic)
    h.kind = Kind::kEnd;
  else
    return std::nullopt;
  h.flow = loadBe16(p + 2);
  h.seq = loadBe32(p + 4);
  h.run = loadBe16(p + 8);
  h.sent_ns = loadBe48(p + 10);
  return h;
}

void encodeEndMarker(const Header& header, const EndMarker& marker, uint8_t* out) noexcept {
  Header h = header;
  h.kind = Kind::kEnd;
  encodeHeader(h, out);
  storeBe64(out + kHeaderSize, marker.packets);
  storeBe32(out + kHeaderSize + 8, marker.flows);
  storeBe32(out + kHeaderSize + 12, 0);
}

std::optional<EndMarker> decodeEndMarker(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < kEndMarkerSize || loadBe16(payload.data()) != kEndMagic) return std::nullopt;
  return EndMarker{loadBe64(payload.data() + kHeaderSize),
                   loadBe32(payload.data() + kHeaderSize + 8)};
}

std::string_view toString(Encap encap) noexcept {
  switch (encap) {
    case Encap::kNone:
      return "none";
    case Encap::kIpv4:
      return "ipv4";
    case Encap::kIpv6:
      return "ipv6";
  }
  return "?";
}

std::optional<Encap> parseEncap(std::string_view text) noexcept {
  if (text == "none") return Encap::kNone;
  if (text == "ipv4") return Encap::kIpv4;
  if (text == "ipv6") return Encap::kIpv6;
  return std::nullopt;
}

std::array<uint8_t, 16> innerAddress(const route::Prefix& prefix, uint32_t flow) noexcept {
  const route::Prefix net = prefix.masked();
  const unsigned host_bits = (net.isV4() ? 32 : 128) - net.length();
  uint32_t host = host_bits == 0 ? 0 : flow + 1;
  if (host_bits < 32) host &= (uint32_t{1} << host_bits) - 1;
  std::array<uint8_t, 16> out{};
  if (net.isV4()) {
    storeBe32(out.data(), net.v4() | host);
  } else {
    route::Ipv6 a = net.v6();
    a.lo |= host;
    a.store(out.data());
  }
  return out;
}

InnerConfig InnerConfig::defaults(Encap encap) {
  InnerConfig c;
  if (encap == Encap::kIpv6) {
    c.src = *route::Prefix::parse("2001:2:0:1::/64");
    c.dst = *route::Prefix::parse("2001:2:0:2::/64");
  } else {
    c.src = *route::Prefix::parse("198.18.0.0/16");
    c.dst = *route::Prefix::parse("198.19.0.0/16");
  }
  return c;
}

size_t encapsulate(Encap encap, const InnerConfig& inner, uint16_t flow,
                   std::span<const uint8_t> inner_payload, std::span<uint8_t> out) noexcept {
  const size_t overhead = encapOverhead(encap);
  const size_t size = overhead + inner_payload.size();
  if (out.size() < size || size > kMaxPacketSize) return 0;
  if (!inner_payload.empty())
    std::memmove(out.data() + overhead, inner_payload.data(), inner_payload.size());
  if (encap == Encap::kNone) return size;
  uint32_t sum = writeInnerHeaders(encap, inner, flow, size, out.data());
  sum = checksum::add(sum, inner_payload);
  storeBe16(out.data() + overhead - 2, udpChecksumField(sum));
  return size;
}

PacketTemplate::PacketTemplate(Encap encap, const InnerConfig& inner, uint16_t flow,
                               size_t size) noexcept
    : prefix_size_(static_cast<uint16_t>(encapOverhead(encap))),
      checksum_at_(static_cast<uint16_t>(encapOverhead(encap) - 2)),
      size_(static_cast<uint32_t>(size)) {
  if (encap != Encap::kNone)
    partial_sum_ = writeInnerHeaders(encap, inner, flow, size, prefix_.data());
}

void PacketTemplate::write(const Header& header, uint8_t* packet) const noexcept {
  uint8_t* measuring = packet + prefix_size_;
  encodeHeader(header, measuring);
  if (prefix_size_ == 0) return;
  std::memcpy(packet, prefix_.data(), prefix_size_);
  // The padding after the header is zero and adds nothing to the sum.
  const uint32_t sum = checksum::add(partial_sum_, {measuring, kHeaderSize});
  storeBe16(packet + checksum_at_, udpChecksumField(sum));
}

std::string_view toString(DecapStatus status) noexcept {
  switch (status) {
    case DecapStatus::kOk:
      return "ok";
    case DecapStatus::kMalformed:
      return "malformed";
    case DecapStatus::kNotUdp:
      return "not-udp";
    case DecapStatus::kBadChecksum:
      return "bad-checksum";
  }
  return "?";
}

DecapStatus decap(std::span<const uint8_t> packet,
                  std::span<const uint8_t>& inner_payload) noexcept {
  if (packet.empty()) return DecapStatus::kMalformed;
  const uint8_t* p = packet.data();
  const unsigned version = p[0] >> 4;
  size_t ip_size = 0;
  size_t end = 0;  // bytes of the inner packet (its own length field)
  uint32_t sum = 0;
  bool zero_checksum_ok = false;
  if (version == 4) {
    if (packet.size() < ip::kIpv4MinHeader) return DecapStatus::kMalformed;
    ip_size = static_cast<size_t>(p[0] & 0x0f) * 4;
    end = loadBe16(p + 2);
    if (ip_size < ip::kIpv4MinHeader || end < ip_size || end > packet.size())
      return DecapStatus::kMalformed;
    if ((loadBe16(p + 6) & 0x3fff) != 0) return DecapStatus::kMalformed;  // a fragment
    if (checksum::compute({p, ip_size}) != 0) return DecapStatus::kBadChecksum;
    if (p[9] != ip::kProtoUdp) return DecapStatus::kNotUdp;
    sum = checksum::add(0, {p + 12, 8});
    zero_checksum_ok = true;
  } else if (version == 6) {
    if (packet.size() < ip::kIpv6Header) return DecapStatus::kMalformed;
    ip_size = ip::kIpv6Header;
    end = ip::kIpv6Header + loadBe16(p + 4);
    if (end > packet.size()) return DecapStatus::kMalformed;
    if (p[6] != ip::kProtoUdp) return DecapStatus::kNotUdp;  // extension headers included
    sum = checksum::add(0, {p + 8, 32});
  } else {
    return DecapStatus::kMalformed;
  }
  if (end - ip_size < ip::kUdpHeader) return DecapStatus::kMalformed;
  const uint8_t* udp = p + ip_size;
  const size_t udp_length = loadBe16(udp + 4);
  if (udp_length < ip::kUdpHeader || udp_length > end - ip_size) return DecapStatus::kMalformed;
  if (loadBe16(udp + 6) == 0) {
    if (!zero_checksum_ok) return DecapStatus::kBadChecksum;
  } else {
    sum = checksum::add16(sum, ip::kProtoUdp);
    sum = checksum::add16(sum, static_cast<uint16_t>(udp_length));
    sum = checksum::add(sum, {udp, udp_length});
    if (checksum::fold(sum) != 0) return DecapStatus::kBadChecksum;
  }
  inner_payload = {udp + ip::kUdpHeader, udp_length - ip::kUdpHeader};
  return DecapStatus::kOk;
}

}  // namespace ferry::gen
