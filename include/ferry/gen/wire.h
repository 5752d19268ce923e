// ferry-gen's wire format: the measuring header at the start of every
// generated payload, the end-of-run marker, and IP-in-UDP encapsulation
// (build with --encap, parse with --decap). Pure, allocation-free.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ferry/net/ip_header.h"
#include "ferry/route/ip.h"

namespace ferry::gen {

// Measuring header, 16 bytes, network byte order, first in every payload
// (first in the inner UDP payload with --encap):
//
//    0  u16 magic    kDataMagic for data, kEndMagic for an end marker
//    2  u16 flow     flow id, 0 .. flows-1 (the sender's flows, over all threads)
//    4  u32 seq      per-flow sequence number from 0, low 32 bits; the sink
//                    extends it to 64 bits (RTP-style: the nearest value to the
//                    highest seen, so < 2^31 packets may go missing in a row)
//    8  u16 run      run id: a sink counts one run; other runs' stragglers are
//                    "foreign" and ignored (the bench reuses a port per trial)
//   10  u48 sent_ns  CLOCK_MONOTONIC at send, ns, low 48 bits; latency is taken
//                    modulo 2^48 ns (~78 h)
//
// Small on purpose: 16 bytes + 48 bytes of inner IPv6+UDP fit a 64-byte payload.
inline constexpr uint16_t kDataMagic = 0xFE47;  // 'G'
inline constexpr uint16_t kEndMagic = 0xFE45;   // 'E'
inline constexpr size_t kHeaderSize = 16;
// An end marker is the header with kEndMagic (seq = low 32 bits of the flow's
// packet count) followed by u64 packets sent on the flow and u32 flows in the
// run, u32 zero.
inline constexpr size_t kEndMarkerSize = 32;
inline constexpr uint64_t kTimestampMask = (uint64_t{1} << 48) - 1;

enum class Kind : uint8_t { kData, kEnd };

struct Header {
  Kind kind = Kind::kData;
  uint16_t flow = 0;
  uint32_t seq = 0;
  uint16_t run = 0;
  uint64_t sent_ns = 0;  // only the low 48 bits travel
};

struct EndMarker {
  uint64_t packets = 0;  // data packets the flow sent (its next sequence number)
  uint32_t flows = 0;    // flows in the whole run, over all sender threads
};

// Writes kHeaderSize bytes.
void encodeHeader(const Header& header, uint8_t* out) noexcept;
// nullopt when shorter than kHeaderSize or the magic is neither kind.
std::optional<Header> decodeHeader(std::span<const uint8_t> payload) noexcept;
// Writes kEndMarkerSize bytes (header.kind is ignored: it is an end marker).
void encodeEndMarker(const Header& header, const EndMarker& marker, uint8_t* out) noexcept;
// `payload` starts at the header; nullopt unless it is a complete end marker.
std::optional<EndMarker> decodeEndMarker(std::span<const uint8_t> payload) noexcept;

// One-way latency from a 48-bit send timestamp and the receive time.
inline uint64_t latencyNs(uint64_t sent_ns48, uint64_t now_ns) noexcept {
  return (now_ns - sent_ns48) & kTimestampMask;
}

// ---- Encapsulation --------------------------------------------------------

// --encap: none, or each UDP payload is a whole inner IPv4/IPv6 + UDP packet
// (what ferry's route mode and Linux FOU carry), the measuring header first in
// the inner UDP payload.
enum class Encap : uint8_t { kNone, kIpv4, kIpv6 };

std::string_view toString(Encap encap) noexcept;
std::optional<Encap> parseEncap(std::string_view text) noexcept;

// IP + UDP header bytes in front of the measuring header.
constexpr size_t encapOverhead(Encap encap) noexcept {
  return encap == Encap::kIpv4   ? ip::kIpv4MinHeader + ip::kUdpHeader
         : encap == Encap::kIpv6 ? ip::kIpv6Header + ip::kUdpHeader
                                 : 0;
}
// Smallest UDP payload that carries the encapsulation and the measuring header.
constexpr size_t minPacketSize(Encap encap) noexcept { return encapOverhead(encap) + kHeaderSize; }
// Largest UDP payload the generator sends (an IPv4 datagram's limit).
inline constexpr size_t kMaxPacketSize = 65507;

// The inner address of flow `flow` in `prefix`: host number flow+1 (modulo the
// prefix's size, so a /32 or /128 gives every flow the same address), as 16
// network-order bytes (IPv4 in the first 4).
std::array<uint8_t, 16> innerAddress(const route::Prefix& prefix, uint32_t flow) noexcept;

// Inner header contents. Defaults use the benchmarking ranges: 198.18.0.0/15
// (RFC 2544) and 2001:2::/48 (RFC 5180).
struct InnerConfig {
  route::Prefix src;  // family must match the encapsulation
  route::Prefix dst;
  uint16_t src_port_base = 49152;  // flow f: src_port_base + f % 16384
  uint16_t dst_port = 50000;

  static InnerConfig defaults(Encap encap);
};

// Builds the whole outer UDP payload for one flow and size the slow way
// (full checksums): `inner_payload` goes after the inner headers. Returns the
// bytes written (encapOverhead + inner_payload.size()), 0 if `out` is too
// small. Used for end markers and as the reference in tests.
size_t encapsulate(Encap encap, const InnerConfig& inner, uint16_t flow,
                   std::span<const uint8_t> inner_payload, std::span<uint8_t> out) noexcept;

// The per-packet fast path: inner headers for one (flow, size) precomputed
// with the checksum sum of everything that does not change per packet.
// write() stamps the inner headers and the measuring header and completes the
// inner UDP checksum from 16 bytes; the bytes after the measuring header must
// be zero (the generator's buffers are zeroed once and never written there).
class PacketTemplate {
 public:
  PacketTemplate() = default;
  // size: outer UDP payload bytes, minPacketSize(encap) .. kMaxPacketSize.
  PacketTemplate(Encap encap, const InnerConfig& inner, uint16_t flow, size_t size) noexcept;

  size_t size() const noexcept { return size_; }
  void write(const Header& header, uint8_t* packet) const noexcept;

 private:
  std::array<uint8_t, ip::kIpv6Header + ip::kUdpHeader> prefix_{};
  uint32_t partial_sum_ = 0;  // pseudo-header + inner UDP header (checksum 0), unfolded
  uint16_t prefix_size_ = 0;  // encapOverhead
  uint16_t checksum_at_ = 0;  // offset of the inner UDP checksum
  uint32_t size_ = 0;
};

// --decap: what a packet's inner headers said.
enum class DecapStatus : uint8_t {
  kOk,
  kMalformed,    // not IPv4/IPv6, short, lengths disagree, an IPv4 fragment
  kNotUdp,       // inner protocol (IPv6: next header) is not UDP; IPv6 extension headers too
  kBadChecksum,  // IPv4 header or inner UDP checksum wrong (UDP checksum 0 is accepted on IPv4)
};
std::string_view toString(DecapStatus status) noexcept;

// Finds the inner UDP payload of an IPv4 or IPv6 + UDP packet, verifying the
// IPv4 header checksum and the UDP checksum.
DecapStatus decap(std::span<const uint8_t> packet,
                  std::span<const uint8_t>& inner_payload) noexcept;

}  // namespace ferry::gen
