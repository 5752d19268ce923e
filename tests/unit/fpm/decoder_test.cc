// The FPM decoder against what zebra's dplane_fpm_nl sends (table of good
// messages → updates), what ferry ignores (counted, not errors), and every
// class of bad input (an error and a counter; the stream goes on at the next
// frame unless the frame boundaries are lost).
#include "ferry/fpm/decoder.h"

#include <gtest/gtest.h>

#include "messages.h"

namespace ferry::fpm {
namespace {

using namespace testing;
using route::Prefix;

RouteUpdate addRoute(const char* prefix, std::vector<route::IpAddress> gateways, uint32_t id = 0) {
  return RouteUpdate{true, pfx(prefix), std::move(gateways), id, true};
}

struct Good {
  const char* name;
  Bytes stream;
  std::vector<Update> updates;
};

TEST(FpmDecoder, DecodesWhatZebraSends) {
  Message v6via(RTM_NEWROUTE);
  v6via.route(AF_INET, 16);
  v6via.address(RTA_DST, ip("10.60.0.0")).via(ip("fe80::1"));
  Message blackhole(RTM_NEWROUTE);
  blackhole.route(AF_INET, 8, RT_TABLE_MAIN, RTN_BLACKHOLE);
  blackhole.address(RTA_DST, ip("10.0.0.0"));
  Message table_attr(
      RTM_NEWROUTE);  // table > 255: rtm_table says RT_TABLE_UNSPEC, RTA_TABLE the id
  table_attr.route(AF_INET, 24, RT_TABLE_UNSPEC);
  table_attr.address(RTA_DST, ip("10.1.2.0"))
      .u32(RTA_TABLE, kMainTable)
      .address(RTA_GATEWAY, ip("10.99.0.2"));
  Message blackhole_nh(RTM_NEWNEXTHOP);
  blackhole_nh.nexthop(AF_INET);
  blackhole_nh.u32(NHA_ID, 9).flag(NHA_BLACKHOLE);

  const std::vector<Good> table = {
      {"IPv4 route, one gateway",
       frame({newRoute("10.50.0.0/16", {ip("10.99.0.2")})}),
       {addRoute("10.50.0.0/16", {ip("10.99.0.2")})}},
      {"IPv6 route, one gateway",
       frame({newRoute("2001:db8:5::/48", {ip("2001:db8:99::2")})}),
       {addRoute("2001:db8:5::/48", {ip("2001:db8:99::2")})}},
      {"host route",
       frame({newRoute("192.0.2.7/32", {ip("10.99.0.2")})}),
       {addRoute("192.0.2.7/32", {ip("10.99.0.2")})}},
      {"default route (no RTA_DST)",
       frame({newRoute("0.0.0.0/0", {ip("10.99.0.2")})}),
       {addRoute("0.0.0.0/0", {ip("10.99.0.2")})}},
      {"multipath",
       frame({newRoute("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")})}),
       {addRoute("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")})}},
      {"weighted multipath (rtnh_hops = weight - 1)",
       frame({newRouteWeighted("10.71.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2"), ip("10.97.0.2")},
                               {2, 0, 255})}),
       {RouteUpdate{true,
                    pfx("10.71.0.0/16"),
                    {ip("10.99.0.2"), ip("10.98.0.2"), ip("10.97.0.2")},
                    0,
                    RTN_UNICAST,
                    {3, 1, 256}}}},
      {"multipath whose hops are all 0: no weights",
       frame({newRouteWeighted("10.72.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")}, {0, 0})}),
       {addRoute("10.72.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")})}},
      {"IPv6 next hop of an IPv4 route (RTA_VIA)",
       frame({v6via.bytes()}),
       {addRoute("10.60.0.0/16", {ip("fe80::1")})}},
      {"next hop then route by id (zebra 8.4's order)",
       frame({newNextHop(17, ip("10.99.0.2")), newRouteById("10.50.0.0/16", 17)}),
       {NextHopUpdate{true, 17, ip("10.99.0.2"), {}, false}, addRoute("10.50.0.0/16", {}, 17)}},
      {"next-hop group",
       frame({newGroup(30, {17, 18})}),
       {NextHopUpdate{true, 30, std::nullopt, {17, 18}, false}}},
      {"weighted next-hop group (nexthop_grp.weight = weight - 1)",
       frame({newGroup(31, {17, 18, 19}, {0, 4, 255})}),
       {NextHopUpdate{true, 31, std::nullopt, {17, 18, 19}, false, {1, 5, 256}}}},
      {"blackhole next hop",
       frame({blackhole_nh.bytes()}),
       {NextHopUpdate{true, 9, std::nullopt, {}, true}}},
      {"blackhole route",
       frame({blackhole.bytes()}),
       {RouteUpdate{true, pfx("10.0.0.0/8"), {}, 0, RTN_BLACKHOLE}}},
      {"table in RTA_TABLE",
       frame({table_attr.bytes()}),
       {addRoute("10.1.2.0/24", {ip("10.99.0.2")})}},
      {"delete route",
       frame({delRoute("10.50.0.0/16")}),
       {RouteUpdate{false, pfx("10.50.0.0/16"), {}, 0, true}}},
      {"delete next hop",
       frame({delNextHop(17)}),
       {NextHopUpdate{false, 17, std::nullopt, {}, false}}},
      {"two frames back to back",
       concat(
           {frame({newRoute("10.1.0.0/16", {ip("10.99.0.2")})}), frame({delRoute("10.1.0.0/16")})}),
       {addRoute("10.1.0.0/16", {ip("10.99.0.2")}),
        RouteUpdate{false, pfx("10.1.0.0/16"), {}, 0, true}}},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.name);
    // Whole, and split at every byte boundary into two feeds.
    for (size_t split = 0; split <= t.stream.size(); ++split) {
      Decoder d;
      std::vector<Update> out;
      ASSERT_TRUE(d.feed({t.stream.data(), split}, out));
      ASSERT_TRUE(d.feed({t.stream.data() + split, t.stream.size() - split}, out));
      EXPECT_EQ(out, t.updates) << "split at " << split;
      EXPECT_EQ(d.counters().errors, 0u) << d.error();
      EXPECT_EQ(d.counters().ignored, 0u);
      EXPECT_EQ(d.pending(), 0u);
    }
  }
}

TEST(FpmDecoder, IgnoresAndCountsWhatFerryDoesNotUse) {
  Message link(RTM_NEWLINK);
  link.attr(IFLA_IFNAME, {'e', 't', 'h', '0', 0});
  Message mpls(RTM_NEWROUTE);
  mpls.route(AF_MPLS, 20);
  Message vrf(RTM_NEWROUTE);
  vrf.route(AF_INET, 16, 10);
  vrf.address(RTA_DST, ip("10.50.0.0")).address(RTA_GATEWAY, ip("10.99.0.2"));
  Message noop(NLMSG_NOOP);
  struct Case {
    const char* name;
    Bytes stream;
  };
  const std::vector<Case> table = {
      {"RTM_NEWLINK", frame({link.bytes()})},
      {"an MPLS route", frame({mpls.bytes()})},
      {"a route in another table (VRF)", frame({vrf.bytes()})},
      {"NLMSG_NOOP", frame({noop.bytes()})},
      {"an FPM frame of type 2 (protobuf)",
       frame({newRoute("10.1.0.0/16", {ip("10.99.0.2")})}, 1, 2)},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.name);
    Decoder d;
    std::vector<Update> out;
    const Bytes stream = concat({t.stream, frame({newRoute("10.9.0.0/16", {ip("10.99.0.2")})})});
    ASSERT_TRUE(d.feed(stream, out));
    EXPECT_EQ(out, (std::vector<Update>{addRoute("10.9.0.0/16", {ip("10.99.0.2")})}));
    EXPECT_EQ(d.counters().ignored, 1u);
    EXPECT_EQ(d.counters().errors, 0u) << d.error();
    EXPECT_EQ(d.counters().frames, 2u);
  }
}

// A message whose netlink length says `length`; cut to it when shorter than built.
Bytes withLength(Bytes message, uint32_t length) {
  std::memcpy(message.data(), &length, sizeof(length));
  if (length >= 4 && length < message.size()) message.resize(length);
  return message;
}

TEST(FpmDecoder, MalformedMessagesAreCountedAndTheNextFrameStillDecodes) {
  const auto route = [](auto&& edit) {
    Message m(RTM_NEWROUTE);
    rtmsg* r = m.route(AF_INET, 16);
    edit(m, r);
    return m.bytes();
  };
  const auto nexthop = [](auto&& edit) {
    Message m(RTM_NEWNEXTHOP);
    nhmsg* n = m.nexthop(AF_INET);
    edit(m, n);
    return m.bytes();
  };
  Bytes bad_multipath = newRoute("10.70.0.0/16", {ip("10.99.0.2"), ip("10.98.0.2")});
  // The first rtnexthop's rtnh_len (right after rtmsg, RTA_DST, the nest header) → 200.
  const size_t hop = 16 + 12 + 8 + 4;
  bad_multipath[hop] = 200;
  Bytes attr_past_end = newRoute("10.50.0.0/16", {ip("10.99.0.2")});
  attr_past_end[16 + 12 + 8] = 40;  // RTA_GATEWAY's nla_len past the message
  Bytes attr_too_short = newRoute("10.50.0.0/16", {ip("10.99.0.2")});
  attr_too_short[16 + 12 + 8] = 2;  // nla_len below the attribute header

  struct Case {
    const char* name;
    Bytes frame_bytes;
    const char* error;
  };
  const std::vector<Case> table = {
      {"empty frame", frame({}), "without a netlink message"},
      {"message shorter than its rtmsg", frame({withLength(route([](Message&, rtmsg*) {}), 20)}),
       "shorter than its rtmsg"},
      {"message shorter than its nhmsg", frame({withLength(nexthop([](Message&, nhmsg*) {}), 18)}),
       "shorter than its nhmsg"},
      {"netlink length past the frame",
       frame({withLength(newRoute("10.50.0.0/16", {ip("10.99.0.2")}), 400)}), "length broken"},
      {"netlink length below its header",
       frame({withLength(newRoute("10.50.0.0/16", {ip("10.99.0.2")}), 8)}), "length broken"},
      {"trailing bytes after the messages",
       frame({newRoute("10.50.0.0/16", {ip("10.99.0.2")}), Bytes{1, 2, 3, 4, 5, 6, 7, 8}}),
       "length broken"},
      {"prefix length 33", frame({route([](Message& m, rtmsg* r) {
         r->rtm_dst_len = 33;
         m.address(RTA_DST, ip("10.0.0.0"));
       })}),
       "prefix length 33"},
      {"IPv6 prefix length 129", frame({[] {
         Message m(RTM_NEWROUTE);
         m.route(AF_INET6, 129);
         return m.bytes();
       }()}),
       "prefix length 129"},
      {"RTA_DST of 3 bytes", frame({route([](Message& m, rtmsg*) {
         m.attr(RTA_DST, {10, 0, 0});
       })}),
       "RTA_DST of 3 bytes"},
      {"IPv6 RTA_DST in an IPv4 route",
       frame({route([](Message& m, rtmsg*) { m.address(RTA_DST, ip("2001:db8::")); })}),
       "RTA_DST of 16 bytes"},
      {"RTA_GATEWAY of 5 bytes", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).attr(RTA_GATEWAY, {10, 99, 0, 2, 0});
       })}),
       "RTA_GATEWAY of 5 bytes"},
      {"RTA_VIA without its family", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).attr(RTA_VIA, {2});
       })}),
       "RTA_VIA shorter"},
      {"RTA_NH_ID of 2 bytes", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).attr(RTA_NH_ID, {1, 0});
       })}),
       "RTA_NH_ID"},
      {"RTA_NH_ID 0", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).u32(RTA_NH_ID, 0);
       })}),
       "RTA_NH_ID"},
      {"RTA_TABLE of 1 byte", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).attr(RTA_TABLE, {254});
       })}),
       "RTA_TABLE"},
      {"prefix length without RTA_DST", frame({route([](Message&, rtmsg*) {})}), "no RTA_DST"},
      {"host bits set",
       frame({route([](Message& m, rtmsg*) { m.address(RTA_DST, ip("10.50.0.1")); })}),
       "host bits"},
      {"attribute length past the message", frame({attr_past_end}), "attribute length broken"},
      {"attribute length below its header", frame({attr_too_short}), "attribute length broken"},
      {"RTA_MULTIPATH next hop length past the attribute", frame({bad_multipath}),
       "RTA_MULTIPATH next hop of length"},
      {"RTA_MULTIPATH with trailing bytes", frame({route([](Message& m, rtmsg*) {
         m.address(RTA_DST, ip("10.50.0.0")).attr(RTA_MULTIPATH, {8, 0, 0, 0, 2, 0, 0, 0, 1, 2});
       })}),
       "trailing bytes"},
      {"next hop without NHA_ID",
       frame({nexthop([](Message& m, nhmsg*) { m.address(NHA_GATEWAY, ip("10.99.0.2")); })}),
       "without a non-zero NHA_ID"},
      {"NHA_ID of 1 byte", frame({nexthop([](Message& m, nhmsg*) { m.attr(NHA_ID, {7}); })}),
       "NHA_ID not 32 bits"},
      {"NHA_GATEWAY of 6 bytes", frame({nexthop([](Message& m, nhmsg*) {
         m.u32(NHA_ID, 3).attr(NHA_GATEWAY, {1, 2, 3, 4, 5, 6});
       })}),
       "NHA_GATEWAY of 6 bytes"},
      {"NHA_GATEWAY without a family", frame({nexthop([](Message& m, nhmsg* n) {
         n->nh_family = AF_UNSPEC;
         m.u32(NHA_ID, 3).address(NHA_GATEWAY, ip("10.99.0.2"));
       })}),
       "NHA_GATEWAY of 4 bytes for family 0"},
      {"NHA_GROUP of 7 bytes", frame({nexthop([](Message& m, nhmsg*) {
         m.u32(NHA_ID, 3).attr(NHA_GROUP, {1, 0, 0, 0, 0, 0, 0});
       })}),
       "NHA_GROUP of 7 bytes"},
      {"NHA_GROUP empty",
       frame({nexthop([](Message& m, nhmsg*) { m.u32(NHA_ID, 3).attr(NHA_GROUP, {}); })}),
       "NHA_GROUP of 0 bytes"},
      {"NHA_GROUP member 0", frame({nexthop([](Message& m, nhmsg*) {
         m.u32(NHA_ID, 3).group({4, 0});
       })}),
       "member with id 0"},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.name);
    Decoder d;
    std::vector<Update> out;
    const Bytes stream =
        concat({t.frame_bytes, frame({newRoute("10.9.0.0/16", {ip("10.99.0.2")})})});
    ASSERT_TRUE(d.feed(stream, out)) << d.error();
    EXPECT_EQ(d.counters().errors, 1u) << d.error();
    EXPECT_NE(d.error().find(t.error), std::string::npos) << d.error();
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(out.back(), Update(addRoute("10.9.0.0/16", {ip("10.99.0.2")})));
    EXPECT_FALSE(d.broken());
  }
}

TEST(FpmDecoder, AGoodMessageBesideABadOneInAFrameIsKept) {
  Decoder d;
  std::vector<Update> out;
  // The bad one's length (20) is in bounds, so the walk goes on after it.
  const Bytes padded = withLength(newRoute("10.50.0.0/16", {ip("10.99.0.2")}), 20);
  ASSERT_TRUE(d.feed(frame({newRoute("10.1.0.0/16", {ip("10.99.0.2")}), padded,
                            newRoute("10.2.0.0/16", {ip("10.99.0.2")})}),
                     out));
  EXPECT_EQ(d.counters().errors, 1u);
  EXPECT_EQ(d.counters().messages, 3u);
  EXPECT_EQ(out, (std::vector<Update>{addRoute("10.1.0.0/16", {ip("10.99.0.2")}),
                                      addRoute("10.2.0.0/16", {ip("10.99.0.2")})}));
}

TEST(FpmDecoder, ABrokenStreamIsFatalUntilReset) {
  struct Case {
    const char* name;
    Bytes header;
    const char* error;
  };
  const std::vector<Case> table = {
      {"version 0", {0, 1, 0, 8}, "version 0"},
      {"version 2", {2, 1, 0, 8}, "version 2"},
      {"version 255", {255, 255, 255, 255}, "version 255"},
      {"length 0", {1, 1, 0, 0}, "length 0"},
      {"length 3", {1, 1, 0, 3}, "length 3"},
  };
  for (const auto& t : table) {
    SCOPED_TRACE(t.name);
    Decoder d;
    std::vector<Update> out;
    const Bytes good = frame({newRoute("10.9.0.0/16", {ip("10.99.0.2")})});
    ASSERT_TRUE(d.feed(good, out));
    EXPECT_FALSE(d.feed(concat({t.header, good}), out));
    EXPECT_TRUE(d.broken());
    EXPECT_NE(d.error().find(t.error), std::string::npos) << d.error();
    EXPECT_NE(d.error().find("cannot be resynced"), std::string::npos);
    EXPECT_FALSE(d.feed(good, out)) << "stays broken";
    EXPECT_EQ(out.size(), 1u);
    EXPECT_EQ(d.counters().errors, 1u);
    d.reset();
    EXPECT_TRUE(d.feed(good, out));
    EXPECT_EQ(out.size(), 2u);
  }
}

TEST(FpmDecoder, AFrameOfTheLargestLengthWaitsForItsBytes) {
  Decoder d;
  std::vector<Update> out;
  Bytes header{1, 1, 0xff, 0xff};
  ASSERT_TRUE(d.feed(header, out));
  Bytes rest(65535 - 4 - 1, 0);
  ASSERT_TRUE(d.feed(rest, out));
  EXPECT_EQ(d.pending(), 65535u - 1);
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(d.feed(Bytes{0}, out));  // all zeros: one broken netlink length
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(d.counters().frames, 1u);
  EXPECT_EQ(d.counters().errors, 1u);
}

}  // namespace
}  // namespace ferry::fpm
