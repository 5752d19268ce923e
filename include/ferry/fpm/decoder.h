// FPM stream decoder: the bytes FRR zebra's `dplane_fpm_nl` module writes on
// its TCP connection → route and next-hop updates. Pure: no I/O, no clock.
//
// Wire format (FRR zebra/fpm/fpm.h, doc "FPM"): a stream of frames, each a
// 4-byte header — version (1 byte, 1), message type (1 byte, 1 = netlink),
// length (2 bytes, big-endian, including the header) — followed by one or
// more netlink messages (rtnetlink, as the kernel would receive them):
//
//   RTM_NEWNEXTHOP / RTM_DELNEXTHOP (104/105): nhmsg + NHA_ID, NHA_GATEWAY
//                                              or NHA_GROUP (linux/nexthop.h)
//   RTM_NEWROUTE / RTM_DELROUTE     (24/25):   rtmsg + RTA_DST, RTA_GATEWAY,
//                                              RTA_VIA, RTA_MULTIPATH, RTA_NH_ID
//
// Netlink is parsed with libmnl (bounds-checked attribute walking); the
// decoder adds the checks libmnl leaves to the caller (attribute payload
// sizes, trailing bytes, prefix lengths, host bits).
//
// Errors come in two classes:
//  - the stream is broken (a bad FPM version, a length below the header):
//    frame boundaries are lost, nothing after can be trusted; feed() returns
//    false and the session must be closed (zebra reconnects and resyncs);
//  - a frame is intact but a netlink message in it is malformed: the message
//    (or the rest of the frame, when the netlink lengths are broken) is
//    skipped and counted; the stream goes on at the next frame.
// Messages the decoder does not use (other types, families, tables, frame
// types) are counted as ignored, never errors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "ferry/route/ip.h"

struct nlmsghdr;  // <linux/netlink.h>

namespace ferry::fpm {

inline constexpr uint8_t kFpmVersion = 1;
inline constexpr uint8_t kFpmTypeNetlink = 1;
inline constexpr size_t kFpmHeaderBytes = 4;
// The routing table zebra's default VRF installs into (RT_TABLE_MAIN).
inline constexpr uint32_t kMainTable = 254;

// RTM_NEWROUTE (add = true, replaces any route for the prefix) or RTM_DELROUTE.
struct RouteUpdate {
  bool add = true;
  route::Prefix prefix;                    // masked (a prefix with host bits is an error)
  std::vector<route::IpAddress> gateways;  // RTA_GATEWAY / RTA_VIA / RTA_MULTIPATH, in order
  uint32_t nexthop_id = 0;                 // RTA_NH_ID (0: none); gateways then come from it
  // rtm_type: RTN_UNICAST (1) forwards; RTN_BLACKHOLE, RTN_UNREACHABLE and
  // RTN_PROHIBIT become drop routes in the route store; any other type
  // (local, broadcast, throw, ...) is left out there.
  uint8_t type = 1;
  // Per gateway, its weight (RTA_MULTIPATH: rtnh_hops + 1, as the kernel
  // reads it); empty when every weight is 1.
  std::vector<uint16_t> weights = {};
  friend bool operator==(const RouteUpdate&, const RouteUpdate&) = default;
};

// RTM_NEWNEXTHOP (add = true, replaces the object with that id) or RTM_DELNEXTHOP.
struct NextHopUpdate {
  bool add = true;
  uint32_t id = 0;                          // NHA_ID, never 0
  std::optional<route::IpAddress> gateway;  // NHA_GATEWAY (a single next hop)
  std::vector<uint32_t> group;              // NHA_GROUP member ids
  bool blackhole = false;                   // NHA_BLACKHOLE
  // Per group member, its weight (nexthop_grp.weight + 1); empty when every
  // weight is 1.
  std::vector<uint16_t> weights = {};
  friend bool operator==(const NextHopUpdate&, const NextHopUpdate&) = default;
};

using Update = std::variant<RouteUpdate, NextHopUpdate>;

struct DecoderCounters {
  uint64_t bytes = 0;
  uint64_t frames = 0;    // complete FPM frames
  uint64_t messages = 0;  // netlink messages in them
  uint64_t route_updates = 0;
  uint64_t nexthop_updates = 0;
  uint64_t ignored = 0;  // messages (or frames) of a kind ferry does not use
  uint64_t errors = 0;   // malformed frames or messages (each counted once)
};

class Decoder {
 public:
  // Appends `bytes` to the stream and decodes every complete frame in it,
  // appending updates to `out` in stream order. Returns false when the stream
  // is broken (see above; error() says why); then the decoder stays broken
  // until reset(). Never reads outside what it was given.
  bool feed(std::span<const uint8_t> bytes, std::vector<Update>& out);

  // Forgets any partial frame and the broken state (a new connection).
  // Counters are kept.
  void reset() noexcept;

  // Decodes one frame's payload (the netlink messages after the FPM header).
  // Returns the number of malformed messages found (also counted in errors).
  size_t decodeNetlink(std::span<const uint8_t> payload, std::vector<Update>& out);

  const DecoderCounters& counters() const noexcept { return counters_; }
  // The most recent problem, for the log ("" when none yet): the stream
  // error, or the last malformed message.
  const std::string& error() const noexcept { return error_; }
  bool broken() const noexcept { return broken_; }
  // Bytes of an incomplete frame waiting for the rest.
  size_t pending() const noexcept { return buffer_.size(); }

 private:
  // One netlink message (already length-checked); false when malformed.
  bool decodeMessage(const ::nlmsghdr* message, std::vector<Update>& out);
  bool decodeRoute(const ::nlmsghdr* message, std::vector<Update>& out);
  bool decodeNextHop(const ::nlmsghdr* message, std::vector<Update>& out);
  bool fail(std::string why);

  std::vector<uint8_t> buffer_;   // the start of an incomplete frame
  std::vector<uint8_t> scratch_;  // one frame's netlink messages, aligned and zero-padded
  DecoderCounters counters_;
  std::string error_;
  bool broken_ = false;
};

}  // namespace ferry::fpm
