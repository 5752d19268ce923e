#include "ferry/fpm/decoder.h"

#include <libmnl/libmnl.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "ferry/net/byte_order.h"

namespace ferry::fpm {

namespace {

// An update carries weights only when one differs from 1 (RouteUpdate,
// NextHopUpdate): all 1 is the same as none.
void dropUnitWeights(std::vector<uint16_t>& weights) {
  if (std::all_of(weights.begin(), weights.end(), [](uint16_t w) { return w == 1; }))
    weights.clear();
}

using route::IpAddress;

const char* messageName(uint16_t type) noexcept {
  switch (type) {
    case RTM_NEWROUTE:
      return "RTM_NEWROUTE";
    case RTM_DELROUTE:
      return "RTM_DELROUTE";
    case RTM_NEWNEXTHOP:
      return "RTM_NEWNEXTHOP";
    case RTM_DELNEXTHOP:
      return "RTM_DELNEXTHOP";
    default:
      return "netlink message";
  }
}

// An address of `family` from `length` bytes (network order), or nullopt
// when the length does not fit the family.
std::optional<IpAddress> addressOf(int family, const void* bytes, size_t length) noexcept {
  const auto* b = static_cast<const uint8_t*>(bytes);
  if (family == AF_INET && length == 4) return IpAddress::v4(loadBe32(b));
  if (family == AF_INET6 && length == 16) return IpAddress::v6(route::Ipv6::load(b));
  return std::nullopt;
}

// Calls fn(attribute) for each attribute in [start, start + length); returns
// false when fn does, or when the attributes do not tile the area (an
// attribute length below its header or past the end: libmnl's walk stops
// there silently, which would hide the damage).
template <typename Fn>
bool forEachAttribute(const void* start, size_t length, Fn&& fn) {
  const char* end = static_cast<const char*>(start) + length;
  const auto* a = static_cast<const nlattr*>(start);
  while (mnl_attr_ok(a, int(end - reinterpret_cast<const char*>(a)))) {
    if (!fn(a)) return false;
    a = mnl_attr_next(a);
  }
  // Past the end by at most the alignment padding of the last attribute is fine.
  return end - reinterpret_cast<const char*>(a) <= 0;
}

bool readU32(const nlattr* a, uint32_t& value) noexcept {
  if (mnl_attr_get_payload_len(a) != sizeof(uint32_t)) return false;
  value = mnl_attr_get_u32(a);
  return true;
}

}  // namespace

bool Decoder::fail(std::string why) {
  ++counters_.errors;
  error_ = std::move(why);
  return false;
}

void Decoder::reset() noexcept {
  buffer_.clear();
  broken_ = false;
}

bool Decoder::feed(std::span<const uint8_t> bytes, std::vector<Update>& out) {
  if (broken_) return false;
  counters_.bytes += bytes.size();
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  size_t at = 0;
  while (buffer_.size() - at >= kFpmHeaderBytes) {
    const uint8_t* header = buffer_.data() + at;
    const uint8_t version = header[0];
    const uint8_t type = header[1];
    const size_t length = loadBe16(header + 2);
    if (version != kFpmVersion) {
      broken_ = true;
      fail("FPM frame with version " + std::to_string(version) + " (expected " +
           std::to_string(kFpmVersion) + "): the stream cannot be resynced");
      buffer_.clear();
      return false;
    }
    if (length < kFpmHeaderBytes) {
      broken_ = true;
      fail("FPM frame length " + std::to_string(length) +
           " is shorter than its own header: the stream cannot be resynced");
      buffer_.clear();
      return false;
    }
    if (buffer_.size() - at < length) break;  // the rest is still on its way
    ++counters_.frames;
    if (type == kFpmTypeNetlink) {
      decodeNetlink({header + kFpmHeaderBytes, length - kFpmHeaderBytes}, out);
    } else {
      ++counters_.ignored;  // e.g. type 2, protobuf: the frame is skipped whole
    }
    at += length;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + ptrdiff_t(at));
  return true;
}

size_t Decoder::decodeNetlink(std::span<const uint8_t> payload, std::vector<Update>& out) {
  if (payload.empty()) {
    fail("FPM frame without a netlink message");
    return 1;
  }
  // A copy, 4-byte aligned (vector storage) and zero-padded, so that libmnl's
  // aligned steps past an unaligned last length stay inside the buffer.
  scratch_.assign(payload.begin(), payload.end());
  scratch_.resize(payload.size() + MNL_ALIGNTO, 0);
  const auto* message = reinterpret_cast<const nlmsghdr*>(scratch_.data());
  int left = int(payload.size());
  size_t bad = 0;
  // mnl_nlmsg_ok() alone is not enough: it compares (int)nlmsg_len, so a
  // length of 2^31 or more passes as negative and mnl_nlmsg_next() then
  // jumps gigabytes ahead (found by tests/unit/fpm/fuzz_test.cc).
  while (left >= int(sizeof(nlmsghdr)) && message->nlmsg_len <= uint32_t(left) &&
         mnl_nlmsg_ok(message, left)) {
    ++counters_.messages;
    if (!decodeMessage(message, out)) ++bad;
    message = mnl_nlmsg_next(message, &left);
  }
  if (left > 0) {
    fail("netlink message length broken at byte " + std::to_string(payload.size() - size_t(left)) +
         " of a " + std::to_string(payload.size()) +
         "-byte frame: the rest of the frame is skipped");
    ++bad;
  }
  return bad;
}

bool Decoder::decodeMessage(const nlmsghdr* message, std::vector<Update>& out) {
  switch (message->nlmsg_type) {
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
      return decodeRoute(message, out);
    case RTM_NEWNEXTHOP:
    case RTM_DELNEXTHOP:
      return decodeNextHop(message, out);
    default:
      ++counters_.ignored;  // links, addresses, neighbours, MPLS, ...
      return true;
  }
}

bool Decoder::decodeRoute(const nlmsghdr* message, std::vector<Update>& out) {
  const char* name = messageName(message->nlmsg_type);
  if (message->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtmsg)))
    return fail(std::string(name) + " shorter than its rtmsg header");
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(message));
  const int family = rtm->rtm_family;
  if (family != AF_INET && family != AF_INET6) {
    ++counters_.ignored;  // MPLS, bridge, ...
    return true;
  }
  const unsigned width = family == AF_INET ? 32 : 128;
  if (rtm->rtm_dst_len > width)
    return fail(std::string(name) + " with prefix length " + std::to_string(rtm->rtm_dst_len) +
                " (at most " + std::to_string(width) + ")");

  RouteUpdate update;
  update.add = message->nlmsg_type == RTM_NEWROUTE;
  update.type = rtm->rtm_type;
  uint32_t table = rtm->rtm_table;
  std::optional<IpAddress> destination;
  std::string why;
  const auto gateway = [&](int gateway_family, const void* bytes, size_t length, const char* what) {
    const auto address = addressOf(gateway_family, bytes, length);
    if (!address) {
      why = std::string(what) + " of " + std::to_string(length) + " bytes";
      return false;
    }
    update.gateways.push_back(*address);
    return true;
  };
  // RTA_VIA: struct rtvia, a family then the address (an IPv6 next hop of an
  // IPv4 route, RFC 5549).
  const auto via = [&](const nlattr* a) {
    const size_t length = mnl_attr_get_payload_len(a);
    if (length < sizeof(rtvia)) {
      why = "RTA_VIA shorter than its family";
      return false;
    }
    const auto* v = static_cast<const rtvia*>(mnl_attr_get_payload(a));
    return gateway(v->rtvia_family, v->rtvia_addr, length - sizeof(rtvia), "RTA_VIA");
  };
  const auto multipath = [&](const nlattr* a) {
    const auto* at = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
    size_t left = mnl_attr_get_payload_len(a);
    while (left > 0) {
      rtnexthop hop;
      if (left < sizeof(hop)) {
        why = "RTA_MULTIPATH with " + std::to_string(left) + " trailing bytes";
        return false;
      }
      std::memcpy(&hop, at, sizeof(hop));
      if (hop.rtnh_len < sizeof(hop) || hop.rtnh_len > left) {
        why = "RTA_MULTIPATH next hop of length " + std::to_string(hop.rtnh_len);
        return false;
      }
      const size_t gateways_before = update.gateways.size();
      const bool ok =
          forEachAttribute(at + sizeof(hop), hop.rtnh_len - sizeof(hop), [&](const nlattr* n) {
            switch (mnl_attr_get_type(n)) {
              case RTA_GATEWAY:
                return gateway(family, mnl_attr_get_payload(n), mnl_attr_get_payload_len(n),
                               "RTA_GATEWAY");
              case RTA_VIA:
                return via(n);
              default:
                return true;
            }
          });
      if (!ok) {
        if (why.empty()) why = "RTA_MULTIPATH next hop with broken attributes";
        return false;
      }
      // The hop's weight, for the gateway it named (a hop without one, an
      // interface route, adds no gateway and no weight). Gateways before it
      // outside RTA_MULTIPATH have weight 1.
      if (update.gateways.size() > gateways_before) {
        update.weights.resize(gateways_before, 1);
        update.weights.resize(update.gateways.size(), uint16_t(hop.rtnh_hops + 1));
      }
      const size_t step = RTNH_ALIGN(hop.rtnh_len);
      if (step >= left) break;
      at += step;
      left -= step;
    }
    return true;
  };

  const bool ok = forEachAttribute(
      static_cast<const char*>(mnl_nlmsg_get_payload(message)) + NLMSG_ALIGN(sizeof(rtmsg)),
      message->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(rtmsg)), [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
          case RTA_DST:
            destination = addressOf(family, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
            if (!destination)
              why = "RTA_DST of " + std::to_string(mnl_attr_get_payload_len(a)) + " bytes";
            return destination.has_value();
          case RTA_GATEWAY:
            return gateway(family, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
                           "RTA_GATEWAY");
          case RTA_VIA:
            return via(a);
          case RTA_MULTIPATH:
            return multipath(a);
          case RTA_NH_ID:
            if (!readU32(a, update.nexthop_id) || update.nexthop_id == 0) {
              why = "RTA_NH_ID not a non-zero 32-bit id";
              return false;
            }
            return true;
          case RTA_TABLE:
            if (!readU32(a, table)) {
              why = "RTA_TABLE not 32 bits";
              return false;
            }
            return true;
          default:
            return true;  // RTA_OIF, RTA_PRIORITY, RTA_PREFSRC, metrics, ...
        }
      });
  if (!ok) return fail(std::string(name) + ": " + (why.empty() ? "attribute length broken" : why));
  if (table != kMainTable) {
    ++counters_.ignored;  // another VRF's or a policy-routing table
    return true;
  }
  if (!destination && rtm->rtm_dst_len != 0)
    return fail(std::string(name) + " with prefix length " + std::to_string(rtm->rtm_dst_len) +
                " but no RTA_DST");
  if (!destination) destination = family == AF_INET ? IpAddress::v4(0) : IpAddress::v6({});
  update.prefix = family == AF_INET ? route::Prefix::v4(destination->v4(), rtm->rtm_dst_len)
                                    : route::Prefix::v6(destination->v6(), rtm->rtm_dst_len);
  if (update.prefix.hasHostBits())
    return fail(std::string(name) + " for " + update.prefix.toString() + ": host bits set");
  if (!update.add) update.gateways.clear(), update.nexthop_id = 0;
  // A gateway outside RTA_MULTIPATH (RTA_GATEWAY beside it) has weight 1.
  update.weights.resize(update.gateways.size(), 1);
  dropUnitWeights(update.weights);
  ++counters_.route_updates;
  out.emplace_back(std::move(update));
  return true;
}

bool Decoder::decodeNextHop(const nlmsghdr* message, std::vector<Update>& out) {
  const char* name = messageName(message->nlmsg_type);
  if (message->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nhmsg)))
    return fail(std::string(name) + " shorter than its nhmsg header");
  const auto* nhm = static_cast<const nhmsg*>(mnl_nlmsg_get_payload(message));
  NextHopUpdate update;
  update.add = message->nlmsg_type == RTM_NEWNEXTHOP;
  std::string why;
  const bool ok = forEachAttribute(
      static_cast<const char*>(mnl_nlmsg_get_payload(message)) + NLMSG_ALIGN(sizeof(nhmsg)),
      message->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(nhmsg)), [&](const nlattr* a) {
        switch (mnl_attr_get_type(a)) {
          case NHA_ID:
            if (!readU32(a, update.id)) {
              why = "NHA_ID not 32 bits";
              return false;
            }
            return true;
          case NHA_GATEWAY:
            update.gateway =
                addressOf(nhm->nh_family, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
            if (!update.gateway)
              why = "NHA_GATEWAY of " + std::to_string(mnl_attr_get_payload_len(a)) +
                    " bytes for family " + std::to_string(nhm->nh_family);
            return update.gateway.has_value();
          case NHA_GROUP: {
            const size_t length = mnl_attr_get_payload_len(a);
            if (length == 0 || length % sizeof(nexthop_grp) != 0) {
              why = "NHA_GROUP of " + std::to_string(length) + " bytes (a multiple of " +
                    std::to_string(sizeof(nexthop_grp)) + ")";
              return false;
            }
            const auto* bytes = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
            for (size_t i = 0; i < length; i += sizeof(nexthop_grp)) {
              nexthop_grp member;
              std::memcpy(&member, bytes + i, sizeof(member));
              if (member.id == 0) {
                why = "NHA_GROUP member with id 0";
                return false;
              }
              update.group.push_back(member.id);
              update.weights.push_back(uint16_t(member.weight + 1));
            }
            return true;
          }
          case NHA_BLACKHOLE:
            update.blackhole = true;
            return true;
          default:
            return true;  // NHA_OIF, NHA_GROUP_TYPE, NHA_ENCAP, ...
        }
      });
  if (!ok) return fail(std::string(name) + ": " + (why.empty() ? "attribute length broken" : why));
  if (update.id == 0) return fail(std::string(name) + " without a non-zero NHA_ID");
  if (!update.add) update.gateway.reset(), update.group.clear(), update.blackhole = false;
  if (!update.add) update.weights.clear();
  dropUnitWeights(update.weights);
  ++counters_.nexthop_updates;
  out.emplace_back(std::move(update));
  return true;
}

}  // namespace ferry::fpm
