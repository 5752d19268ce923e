// Inner packets of route mode: the UDP payload is an IPv4 or IPv6 packet
// (IP-in-UDP, as Linux FOU `ipproto 4/41` and GUE direct IP encapsulation).
// Per packet the dataplane calls, in this order:
//
//   InnerPacket p = parseInner(payload, seed);  // validate, classify, hash; no writes
//   if (p.verdict != Verdict::kForward) → drop (count p.verdict; maybe ICMP, icmp.h)
//   value = lookup(p.destination)               // lpm.h
//   interface = group.select(p.flow_hash, up)   // next_hop.h
//   decrementTtl(payload, p);                   // only now: an ICMP error quotes
//   send payload.first(p.length)                //   the packet as it arrived
//
// All functions here are pure, noexcept and allocation-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "ferry/route/ip.h"

namespace ferry::route {

// What happens to an inner packet; every value but kForward is a drop reason
// (the dataplane counts each as its interface's Drop of the same name).
enum class Verdict : uint8_t {
  kForward = 0,
  kBadInnerHeader,   // fails a check of RFC 1812 §5.2.2 / RFC 8200 §3 (see HeaderError)
  kTtlExceeded,      // TTL / hop limit ≤ 1 on arrival (RFC 1812 §5.3.1, RFC 8200 §3)
  kMartian,          // source or destination that must not be forwarded (see parseInner)
  kNoRoute,          // no prefix matched (set by the caller after the lookup)
  kAllNextHopsDown,  // the route's next-hop group has no live member (caller)
  kBlackhole,        // the route drops silently (`drop: blackhole`; caller)
  kUnreachable,      // the route drops with ICMP Destination Unreachable (caller)
  kProhibited,       // the route drops with ICMP administratively prohibited (caller)
};
inline constexpr size_t kVerdictCount = 9;

// snake_case names for counters and logs: "forward", "bad_inner_header",
// "ttl_exceeded", "martian", "no_route", "all_next_hops_down", "blackhole",
// "unreachable", "prohibited".
std::string_view toString(Verdict verdict) noexcept;

// Which check a kBadInnerHeader packet failed (finer than the counter reason;
// for debug logs and tests).
enum class HeaderError : uint8_t {
  kNone = 0,
  kTruncated,         // shorter than the fixed header (IPv4: 20 bytes, IPv6: 40)
  kBadVersion,        // first nibble neither 4 nor 6
  kBadIhl,            // IPv4 IHL < 5, or IHL*4 beyond the data
  kBadTotalLength,    // IPv4 total length < IHL*4, or beyond the data
  kBadChecksum,       // IPv4 header checksum does not verify
  kBadPayloadLength,  // IPv6 40 + payload length beyond the data
};
std::string_view toString(HeaderError error) noexcept;  // "truncated", "bad_version", ...

// The transport header of an inner packet, as far as a cheap walk finds it.
struct Transport {
  uint8_t protocol = 0;        // IPv4 protocol / IPv6 last next header walked to
  bool fragment = false;       // part of a fragmented datagram
  bool first_fragment = true;  // offset 0 (also true when not a fragment)
  bool complete = true;        // false: the IPv6 walk stopped early (limit or truncation)
  uint32_t offset = 0;         // where the transport header starts (valid if complete)
};

// Finds the transport header of a packet that parseInner accepted (bounds are
// still checked). IPv4: protocol and fragment fields of the header. IPv6: walks
// at most 4 extension headers (Hop-by-Hop 0, Routing 43, Fragment 44,
// Destination Options 60, AH 51); longer chains leave complete == false.
Transport findTransport(std::span<const uint8_t> packet) noexcept;

// Hash of the inner 5-tuple, for ECMP (next_hop.h): source and destination
// addresses, transport protocol, and source and destination ports when the
// packet carries them — TCP, UDP, DCCP, SCTP and UDP-Lite, not a non-first
// fragment (which has no ports; a first fragment hashes with its ports, so it
// stays with its flow). IPv6 hashes the protocol found by findTransport; the
// flow label is not used. Deterministic for a given seed; all dataplanes must
// use the same seed so a flow takes one path whichever dataplane receives it.
// Mixing: multiply-xorshift per 64-bit word, murmur3's fmix64 to finish.
uint32_t flowHash(std::span<const uint8_t> packet, uint32_t seed) noexcept;

// The result of parseInner. Fields other than verdict and error are valid only
// when the header parsed (verdict kForward, kTtlExceeded or kMartian).
struct InnerPacket {
  Verdict verdict = Verdict::kBadInnerHeader;
  HeaderError error = HeaderError::kNone;
  Family family = Family::kIpv4;
  uint8_t ttl = 0;         // TTL / hop limit as received
  uint32_t length = 0;     // bytes to send: IPv4 total length, IPv6 40 + payload length
  uint32_t flow_hash = 0;  // flowHash(); computed only for kForward
  IpAddress source;
  IpAddress destination;
};

// Validates and classifies one inner packet (`payload`: the whole UDP payload).
//
// IPv4 (RFC 1812 §5.2.2, RFC 791): ≥ 20 bytes, version 4, IHL ≥ 5, IHL*4 ≤
// data, IHL*4 ≤ total length ≤ data, header checksum verifies. Options are
// forwarded untouched. IPv6 (RFC 8200): ≥ 40 bytes, version 6, 40 + payload
// length ≤ data (a payload length of 0 means a 40-byte packet: a jumbogram
// cannot travel in a UDP datagram).
//
// Trailing bytes beyond the IP length (padding some senders add) are not part
// of the packet: `length` says how many bytes to send, as Linux trims in ip_rcv.
//
// Martians (RFC 1812 §5.3.7, RFC 3927 §7, RFC 4291 §2.5): never forwarded.
//   IPv4 source or destination in 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16,
//   224.0.0.0/4 (ferry does not route multicast), 240.0.0.0/4 (with
//   255.255.255.255). IPv6 source or destination ::, ::1, fe80::/10, ff00::/8.
// Private and documentation ranges are ordinary addresses for an overlay.
//
// TTL / hop limit ≤ 1 → kTtlExceeded (checked last, so a martian is never
// answered with ICMP).
InnerPacket parseInner(std::span<const uint8_t> payload, uint32_t hash_seed) noexcept;

// Decrements the TTL (IPv4, updating the header checksum incrementally per RFC
// 1624 eqn. 3) or the hop limit (IPv6) in place. Precondition: parseInner
// returned kForward for these bytes (so TTL ≥ 2 and the header is in bounds).
void decrementTtl(std::span<uint8_t> packet, const InnerPacket& parsed) noexcept;

// Whether an address is a martian as listed above (never forwarded, as source
// or destination).
bool isMartianV4(Ipv4 address) noexcept;
bool isMartianV6(const Ipv6& address) noexcept;

}  // namespace ferry::route
