// ICMP and ICMPv6 error messages that ferry sends as a router (so traceroute
// shows it as a hop): Time Exceeded for TTL / hop-limit expiry, Destination
// Unreachable for a missing route or an unreachable or prohibit route. The builders are pure,
// noexcept and write a complete inner IP packet into a caller-provided buffer; the dataplane sends
// it back through the ingress interface to its peer, after the rate limiter (ferry/token_bucket.h;
// RFC 1812 §4.3.2.8 and RFC 4443 §2.4 (f) require one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ferry/route/ip.h"

namespace ferry::route {

enum class IcmpError : uint8_t {
  // ICMPv4 type 11 code 0 / ICMPv6 type 3 code 0: TTL / hop limit exceeded in
  // transit (Verdict::kTtlExceeded).
  kTimeExceeded,
  // ICMPv4 type 3 code 0, "network unreachable": RFC 1812 §5.2.7.1 names it
  // for a router that has no route to the destination network (code 1, host
  // unreachable, is for the last hop). ICMPv6 type 1 code 0, "no route to
  // destination" (RFC 4443 §3.1). For Verdict::kNoRoute; a route whose next
  // hops are all down is, seen from outside, the same condition.
  kDestinationUnreachable,
  // ICMPv4 type 3 code 13, "communication administratively prohibited"
  // (RFC 1812 §5.2.7.1); ICMPv6 type 1 code 1, "communication with
  // destination administratively prohibited" (RFC 4443 §3.1). For
  // Verdict::kProhibited: a `drop: prohibit` route, as Linux answers for its
  // prohibit routes.
  kAdminProhibited,
};

// Largest packets the builders produce (the whole IP packet): RFC 1812
// §4.3.2.3 caps an ICMPv4 error at 576 bytes, RFC 4443 §2.4 (c) an ICMPv6
// error at the IPv6 minimum MTU. A buffer of this size always suffices.
inline constexpr size_t kIcmpV4MaxPacket = 576;
inline constexpr size_t kIcmpV6MaxPacket = 1280;
inline constexpr size_t kIcmpMaxPacket = kIcmpV6MaxPacket;

// Builds an IP packet carrying the ICMP (IPv4 offending packet) or ICMPv6
// (IPv6) error `kind` about `offending`, from `source` (ferry's ICMP source
// address, same family as the offending packet) to the offending packet's
// source. Returns its length, or 0 when no error must be sent:
//
//  - `source` is of the other family, or `offending` is not a valid IP header;
//  - the offending packet is an ICMP error (ICMPv4: any type but the queries
//    0, 8, 13-18, as Linux decides; ICMPv6: types < 128) or its type cannot be
//    read (truncated, or an IPv6 extension-header chain too long to walk);
//  - it is a non-first fragment (RFC 1812 §4.3.2.7, RFC 4443 §2.4 (e));
//  - its source is not one unique host or its destination is multicast or
//    broadcast: either address is a martian (inner.h isMartianV4/V6: 0/8,
//    127/8, 169.254/16, 224/4, 240/4 with 255.255.255.255; ::, ::1,
//    fe80::/10, ff00::/8);
//  - `out` cannot hold the headers plus the offending IP header and 8 bytes.
//
// The quote is the offending packet as received (up to its IP length) cut to
// fit 576 / 1280 bytes in all and `out`. IPv4 header: TOS 0xc0 (precedence 6,
// RFC 1812 §4.3.2.5), ID 0 with DF (RFC 6864 atomic datagram), TTL 64.
// IPv6 header: traffic class 0, flow label 0, hop limit 64. Checksums: IPv4
// header and ICMP per RFC 1071, ICMPv6 with its pseudo-header (RFC 4443 §2.3).
//
// `out` may overlap `offending` (e.g. the received buffer itself, to answer in
// place): every field is read before anything is written.
size_t buildIcmpError(IcmpError kind, const IpAddress& source, std::span<const uint8_t> offending,
                      std::span<uint8_t> out) noexcept;

// Packets to the router itself: route mode treats its ICMP source address of
// a family as its own (dataplane/decide.cc) and answers echo requests to it,
// as a host must (RFC 1122 §3.2.2.6, RFC 4443 §4.1).
//
// Whether `packet` is an echo request to `self` that gets a reply: IPv4 with
// a valid header (version, IHL, lengths, header checksum), not a fragment,
// protocol ICMP, type 8 code 0 and a valid ICMP checksum; or IPv6 (version,
// lengths) with next header ICMPv6 right after the fixed header, type 128
// code 0 and a valid checksum over the pseudo-header. Its source must be
// one unique host (not a martian, inner.h), and the reply must fit
// kIcmpMaxPacket bytes (an echo request of at most 1280 bytes with an
// IPv4 header without options or an IPv6 one).
bool isEchoRequestTo(const IpAddress& self, std::span<const uint8_t> packet) noexcept;

// The echo reply to `request` (same identifier, sequence number and data),
// from `self` to the request's source: IPv4 header without options, TOS of
// the request without ECN, ID 0 with DF, TTL 64; IPv6 traffic class 0, flow
// label 0, hop limit 64; type 0 / 129 with a fresh checksum. Returns its
// length, or 0 unless isEchoRequestTo(self, request) and it fits `out`.
// `out` may overlap `request`.
size_t buildEchoReply(const IpAddress& self, std::span<const uint8_t> request,
                      std::span<uint8_t> out) noexcept;

}  // namespace ferry::route
