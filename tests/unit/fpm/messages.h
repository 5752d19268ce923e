// Test helpers: rtnetlink route and next-hop messages built with libmnl (as
// zebra's dplane_fpm_nl encodes them) and FPM frames around them.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/nexthop.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "ferry/route/ip.h"

namespace ferry::fpm::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes addressBytes(const route::IpAddress& a) {
  Bytes b(a.isV4() ? 4 : 16);
  if (a.isV4()) {
    const uint32_t v = a.v4();
    b = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  } else {
    a.v6().store(b.data());
  }
  return b;
}

inline route::IpAddress ip(const char* text) { return *route::IpAddress::parse(text); }

// One netlink message under construction.
class Message {
 public:
  explicit Message(uint16_t type) : buffer_(8192 / 4, 0) {
    nlh_ = mnl_nlmsg_put_header(buffer_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
  }
  // An rtmsg header (RTM_NEWROUTE / RTM_DELROUTE).
  rtmsg* route(int family, uint8_t dst_len, uint8_t table = RT_TABLE_MAIN,
               uint8_t type = RTN_UNICAST) {
    auto* r = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(rtmsg)));
    r->rtm_family = uint8_t(family);
    r->rtm_dst_len = dst_len;
    r->rtm_table = table;
    r->rtm_type = type;
    r->rtm_protocol = RTPROT_STATIC;
    r->rtm_scope = RT_SCOPE_UNIVERSE;
    return r;
  }
  // An nhmsg header (RTM_NEWNEXTHOP / RTM_DELNEXTHOP).
  nhmsg* nexthop(int family) {
    auto* n = static_cast<nhmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(nhmsg)));
    n->nh_family = uint8_t(family);
    return n;
  }
  Message& attr(uint16_t type, const Bytes& payload) {
    mnl_attr_put(nlh_, type, payload.size(), payload.data());
    return *this;
  }
  Message& address(uint16_t type, const route::IpAddress& a) { return attr(type, addressBytes(a)); }
  Message& u32(uint16_t type, uint32_t value) {
    mnl_attr_put_u32(nlh_, type, value);
    return *this;
  }
  Message& flag(uint16_t type) {
    mnl_attr_put(nlh_, type, 0, nullptr);
    return *this;
  }
  // RTA_VIA: family + address.
  Message& via(const route::IpAddress& a) {
    Bytes b(sizeof(rtvia));
    const sa_family_t family = a.isV4() ? AF_INET : AF_INET6;
    std::memcpy(b.data(), &family, sizeof(family));
    const Bytes addr = addressBytes(a);
    b.insert(b.end(), addr.begin(), addr.end());
    return attr(RTA_VIA, b);
  }
  // RTA_MULTIPATH with one rtnexthop + RTA_GATEWAY per address; `hops`:
  // each one's rtnh_hops (its weight - 1; none given: 0).
  Message& multipath(std::initializer_list<route::IpAddress> gateways,
                     std::vector<uint8_t> hops = {}) {
    nlattr* nest = mnl_attr_nest_start(nlh_, RTA_MULTIPATH);
    size_t i = 0;
    for (const auto& g : gateways) {
      auto* hop = static_cast<rtnexthop*>(mnl_nlmsg_get_payload_tail(nlh_));
      nlh_->nlmsg_len += RTNH_ALIGN(sizeof(rtnexthop));
      std::memset(hop, 0, sizeof(*hop));
      hop->rtnh_ifindex = 2;
      hop->rtnh_hops = i < hops.size() ? hops[i] : 0;
      ++i;
      address(RTA_GATEWAY, g);
      hop->rtnh_len = uint16_t(static_cast<char*>(mnl_nlmsg_get_payload_tail(nlh_)) -
                               reinterpret_cast<char*>(hop));
    }
    mnl_attr_nest_end(nlh_, nest);
    return *this;
  }
  // NHA_GROUP of `ids`; `weights`: each one's nexthop_grp.weight (its
  // weight - 1; none given: 0).
  Message& group(std::initializer_list<uint32_t> ids, std::vector<uint8_t> weights = {}) {
    Bytes b;
    size_t i = 0;
    for (uint32_t id : ids) {
      nexthop_grp g{};
      g.id = id;
      g.weight = i < weights.size() ? weights[i] : 0;
      ++i;
      const auto* p = reinterpret_cast<const uint8_t*>(&g);
      b.insert(b.end(), p, p + sizeof(g));
    }
    return attr(NHA_GROUP, b);
  }
  nlmsghdr* header() { return nlh_; }
  Bytes bytes() const {
    const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data());
    return Bytes(p, p + nlh_->nlmsg_len);
  }

 private:
  std::vector<uint32_t> buffer_;  // 4-byte aligned
  nlmsghdr* nlh_;
};

// RTM_NEWROUTE for `prefix` via `gateways` (RTA_GATEWAY, or RTA_MULTIPATH for several).
inline Bytes newRoute(const char* prefix, std::initializer_list<route::IpAddress> gateways) {
  const auto p = *route::Prefix::parse(prefix);
  Message m(RTM_NEWROUTE);
  m.route(p.isV4() ? AF_INET : AF_INET6, uint8_t(p.length()));
  if (p.length() != 0) m.address(RTA_DST, p.address());
  if (gateways.size() == 1) m.address(RTA_GATEWAY, *gateways.begin());
  if (gateways.size() > 1) m.multipath(gateways);
  return m.bytes();
}
// The same over RTA_MULTIPATH with each hop's rtnh_hops (weight - 1).
inline Bytes newRouteWeighted(const char* prefix, std::initializer_list<route::IpAddress> gateways,
                              std::vector<uint8_t> hops) {
  const auto p = *route::Prefix::parse(prefix);
  Message m(RTM_NEWROUTE);
  m.route(p.isV4() ? AF_INET : AF_INET6, uint8_t(p.length()));
  if (p.length() != 0) m.address(RTA_DST, p.address());
  m.multipath(gateways, std::move(hops));
  return m.bytes();
}
inline Bytes newRouteById(const char* prefix, uint32_t nexthop_id) {
  const auto p = *route::Prefix::parse(prefix);
  Message m(RTM_NEWROUTE);
  m.route(p.isV4() ? AF_INET : AF_INET6, uint8_t(p.length()));
  if (p.length() != 0) m.address(RTA_DST, p.address());
  m.u32(RTA_NH_ID, nexthop_id);
  return m.bytes();
}
inline Bytes delRoute(const char* prefix) {
  const auto p = *route::Prefix::parse(prefix);
  Message m(RTM_DELROUTE);
  m.route(p.isV4() ? AF_INET : AF_INET6, uint8_t(p.length()));
  if (p.length() != 0) m.address(RTA_DST, p.address());
  return m.bytes();
}
inline Bytes newNextHop(uint32_t id, const route::IpAddress& gateway) {
  Message m(RTM_NEWNEXTHOP);
  m.nexthop(gateway.isV4() ? AF_INET : AF_INET6);
  m.u32(NHA_ID, id).u32(NHA_OIF, 2).address(NHA_GATEWAY, gateway);
  return m.bytes();
}
inline Bytes newGroup(uint32_t id, std::initializer_list<uint32_t> members,
                      std::vector<uint8_t> weights = {}) {
  Message m(RTM_NEWNEXTHOP);
  m.nexthop(AF_UNSPEC);
  m.u32(NHA_ID, id).group(members, std::move(weights));
  return m.bytes();
}
inline Bytes delNextHop(uint32_t id) {
  Message m(RTM_DELNEXTHOP);
  m.nexthop(AF_UNSPEC);
  m.u32(NHA_ID, id);
  return m.bytes();
}

// An FPM frame (version 1, type netlink) around the messages, or with the
// header fields given.
inline Bytes frame(std::initializer_list<Bytes> messages, uint8_t version = 1, uint8_t type = 1) {
  size_t total = 4;
  for (const auto& m : messages) total += m.size();
  Bytes out(total);
  size_t at = 4;
  for (const auto& m : messages) {
    if (!m.empty()) std::memcpy(out.data() + at, m.data(), m.size());
    at += m.size();
  }
  out[0] = version;
  out[1] = type;
  out[2] = uint8_t(out.size() >> 8);
  out[3] = uint8_t(out.size());
  return out;
}
inline Bytes concat(std::initializer_list<Bytes> parts) {
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  Bytes out(total);
  size_t at = 0;
  for (const auto& p : parts) {
    if (!p.empty()) std::memcpy(out.data() + at, p.data(), p.size());
    at += p.size();
  }
  return out;
}

// A prefix from text the test knows to be valid.
inline route::Prefix pfx(const char* text) { return *route::Prefix::parse(text); }

}  // namespace ferry::fpm::testing
