// decide(): the per-datagram decision as a table — a datagram, the ingress
// and a forwarding snapshot in, an action out. The event loop runs every
// plain datagram and every segment of a GRO train through it, so these
// tables are the forwarding rules.
#include "ferry/dataplane/decide.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "ferry/config/config.h"
#include "ferry/net/checksum.h"
#include "route/packets.h"

namespace ferry {

// Readable failures.
void PrintTo(const Action& a, std::ostream* os) {
  static const char* const kinds[] = {"forward", "bfd", "drop", "icmp"};
  *os << kinds[int(a.kind)] << "{egress " << a.egress << ", length " << a.length << ", route "
      << a.route_index << ", drop " << toString(a.drop) << ", icmp " << int(a.icmp) << ", family "
      << int(a.family) << "}";
}

namespace {

using route::testing::makeV4;
using route::testing::makeV6;
using route::testing::V4Spec;
using route::testing::V6Spec;

ForwardingState stateFor(const std::string& yaml) {
  const auto result = parseConfig(yaml, "t.yaml");
  EXPECT_TRUE(result.config) << (result.errors.empty() ? "" : result.errors[0].format());
  return ForwardingState::fromConfig(*result.config, 1, 7);
}

const std::string kRelay = R"(
interfaces:
  - { name: a, bind: "127.0.0.1:5000", peer: "127.0.0.1:6000" }
  - { name: b, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
  - { name: c, bind: "127.0.0.1:5002", peer: "127.0.0.1:6002" }
relay: [ { from: a, to: b }, { from: b, to: c } ]
)";

std::vector<uint8_t> bytes(size_t n, uint8_t first = 0xa5) {
  std::vector<uint8_t> d(n, 0x11);
  if (n > 0) d[0] = first;
  return d;
}

// A BFD-looking datagram: version 1, Length field `length_field`.
std::vector<uint8_t> bfdLike(size_t n, uint8_t first = 0x20, uint8_t length_field = 24) {
  std::vector<uint8_t> d(n, 0);
  if (n > 0) d[0] = first;
  if (n > 3) d[3] = length_field;
  return d;
}

constexpr uint32_t kMax = 2048;

TEST(Decide, RelayTable) {
  const ForwardingState state = stateFor(kRelay);
  ForwardingState b_down = state;
  b_down.setLiveness({1, 0, 1});
  struct Row {
    const char* what;
    const ForwardingState* state;
    uint16_t ingress;
    size_t length;
    Action want;
  };
  const Row rows[] = {
      {"a relays to b", &state, 0, 100, Action::forward(1, 100)},
      {"b relays to c", &state, 1, 1400, Action::forward(2, 1400)},
      {"empty datagrams are forwarded too", &state, 0, 0, Action::forward(1, 0)},
      {"exactly max_datagram", &state, 0, kMax, Action::forward(1, kMax)},
      {"one byte more is truncated", &state, 0, kMax + 1, Action::dropped(Drop::kTruncated)},
      {"c has no rule", &state, 2, 100, Action::dropped(Drop::kNoRoute)},
      {"an ingress the snapshot does not know", &state, 9, 100, Action::dropped(Drop::kNoRoute)},
      {"egress b down", &b_down, 0, 100, Action::dropped(Drop::kEgressDown)},
      {"egress c up while b is down", &b_down, 1, 100, Action::forward(2, 100)},
  };
  for (const Row& r : rows) {
    auto d = bytes(r.length);
    EXPECT_EQ(decide({r.ingress, false, true}, d, kMax, *r.state), r.want) << r.what;
  }
}

TEST(Decide, InBandBfdIsRecognisedByItsFirstBytes) {
  struct Row {
    const char* what;
    std::vector<uint8_t> datagram;
    bool bfd;
  };
  const Row rows[] = {
      {"24 bytes, version 1, Length 24", bfdLike(24), true},
      {"64 bytes (longest authentication)", bfdLike(64, 0x20, 64), true},
      {"first byte 0x3F (version 1, diag 31)", bfdLike(24, 0x3f), true},
      {"23 bytes: shorter than a BFD header", bfdLike(23), false},
      {"65 bytes: longer than any BFD packet", bfdLike(65), false},
      {"first byte 0x1F: version 0", bfdLike(24, 0x1f), false},
      {"first byte 0x40: IPv4", bfdLike(24, 0x40), false},
      {"first byte 0x60: IPv6", bfdLike(40, 0x60), false},
      {"Length 23", bfdLike(24, 0x20, 23), false},
      {"Length beyond the datagram", bfdLike(30, 0x20, 31), false},
      {"Length equal to the datagram", bfdLike(30, 0x20, 30), true},
  };
  for (const Row& r : rows) EXPECT_EQ(looksLikeBfd(r.datagram), r.bfd) << r.what;
}

TEST(Decide, InBandBfdGoesToTheControlModuleOnlyWhereTheInterfaceHasIt) {
  const ForwardingState state = stateFor(kRelay);
  const Action bfd = Action::toBfd();
  auto d = bfdLike(24);
  EXPECT_EQ(decide({0, true, true}, d, kMax, state), bfd);
  EXPECT_EQ(decide({0, true, false}, d, kMax, state), Action::dropped(Drop::kBadBfd))
      << "no peer: no session could take it";
  EXPECT_EQ(decide({0, false, true}, d, kMax, state), Action::forward(1, 24))
      << "without in-band BFD it is data";
  // Even from an ingress with no relay rule or a down egress: BFD is
  // decided before forwarding.
  ForwardingState down = state;
  down.setLiveness({1, 0, 1});
  EXPECT_EQ(decide({0, true, true}, d, kMax, down), bfd);
  EXPECT_EQ(decide({2, true, true}, d, kMax, state), bfd);
  // A datagram above max_datagram is truncated before anything else.
  auto big = bfdLike(64, 0x20, 64);
  EXPECT_EQ(decide({0, true, true}, big, 60, state), Action::dropped(Drop::kTruncated));
}

const std::string kRoute = R"(
mode: route
icmp: { source_v4: 10.9.0.254, source_v6: "fd00::254" }
interfaces:
  - { name: in, bind: "127.0.0.1:5000" }
  - { name: e1, bind: "127.0.0.1:5001", peer: "127.0.0.1:6001" }
  - { name: e2, bind: "127.0.0.1:5002", peer: "127.0.0.1:6002" }
routes:
  - { prefix: 10.1.0.0/16, via: [e1] }
  - { prefix: 10.2.0.0/16, via: [e2, e1] }
  - { prefix: 10.5.0.0/16, via: [e1, e2], ecmp: true }
  - { prefix: "2001:db8:2::/48", via: [e2] }
  - { prefix: 10.2.9.0/24, drop: blackhole }
  - { prefix: 10.2.8.0/24, drop: unreachable }
  - { prefix: 10.2.7.0/24, drop: prohibit }
  - { prefix: 10.9.0.0/16, via: [e1] }
)";

std::vector<uint8_t> hopLimitOne() {
  V6Spec spec;
  spec.hop_limit = 1;
  return makeV6(spec);
}

Action onRoute(Action a, uint32_t route) {
  a.route_index = route;
  return a;
}

// An ICMP echo request (or another ICMP `type`) to `destination`, TTL `ttl`:
// 44 bytes, as forwarded.
std::vector<uint8_t> echoTo(route::Ipv4 destination, uint8_t ttl = 64, uint8_t type = 8) {
  route::testing::V4Spec spec;
  spec.destination = destination;
  spec.ttl = ttl;
  return route::testing::makeEchoV4(spec, 16, type);
}

std::vector<uint8_t> echoToV6(const route::Ipv6& destination) {
  route::testing::V6Spec spec;
  spec.destination = destination;
  return route::testing::makeEchoV6(spec);
}

std::vector<uint8_t> udpToV6(const route::Ipv6& destination) {
  route::testing::V6Spec spec;
  spec.destination = destination;
  return makeV6(spec);
}

Action icmp(Drop why, route::IcmpError error, route::Family family) {
  Action a = Action::dropped(why);
  a.kind = Action::Kind::kIcmp;
  a.icmp = error;
  a.family = family;
  return a;
}

TEST(Decide, RouteTable) {
  const ForwardingState state = stateFor(kRoute);
  ForwardingState e2_down = state;
  e2_down.setLiveness({1, 1, 0});
  ForwardingState all_down = state;
  all_down.setLiveness({1, 0, 0});
  const std::string no_icmp_yaml = kRoute.substr(kRoute.find("interfaces:"));
  const ForwardingState no_icmp = stateFor("mode: route\n" + no_icmp_yaml);
  using route::Family;
  using route::IcmpError;
  struct Row {
    const char* what;
    const ForwardingState* state;
    std::vector<uint8_t> packet;
    Action want;
  };
  const Row rows[] = {
      {"10.1/16 via e1", &state, makeV4({.destination = 0x0a010001}), Action::forward(1, 32, 0)},
      {"10.2/16 via e2 first", &state, makeV4({.destination = 0x0a020001}),
       Action::forward(2, 32, 1)},
      {"10.2/16 fails over to e1", &e2_down, makeV4({.destination = 0x0a020001}),
       Action::forward(1, 32, 1)},
      {"IPv6 via e2", &state, makeV6({}), Action::forward(2, 52, 3)},
      {"TTL 1: time exceeded", &state, makeV4({.destination = 0x0a010001, .ttl = 1}),
       icmp(Drop::kTtlExceeded, IcmpError::kTimeExceeded, Family::kIpv4)},
      {"hop limit 1: time exceeded", &state, hopLimitOne(),
       icmp(Drop::kTtlExceeded, IcmpError::kTimeExceeded, Family::kIpv6)},
      {"no route: unreachable", &state, makeV4({.destination = 0x0a030001}),
       icmp(Drop::kNoRoute, IcmpError::kDestinationUnreachable, Family::kIpv4)},
      {"all next hops down: unreachable", &all_down, makeV4({.destination = 0x0a020001}),
       icmp(Drop::kAllNextHopsDown, IcmpError::kDestinationUnreachable, Family::kIpv4)},
      {"no ICMP source: TTL 1 only dropped", &no_icmp,
       makeV4({.destination = 0x0a010001, .ttl = 1}), Action::dropped(Drop::kTtlExceeded)},
      {"no ICMP source: no route only dropped", &no_icmp, makeV4({.destination = 0x0a030001}),
       Action::dropped(Drop::kNoRoute)},
      {"martian destination 127.0.0.1", &state, makeV4({.destination = 0x7f000001}),
       Action::dropped(Drop::kMartian)},
      {"martian source 0.0.0.0", &state, makeV4({.source = 0, .destination = 0x0a010001}),
       Action::dropped(Drop::kMartian)},
      {"blackhole route: dropped silently, counted on the route", &state,
       makeV4({.destination = 0x0a020901}), onRoute(Action::dropped(Drop::kBlackhole), 4)},
      {"blackhole route with every next hop down", &all_down, makeV4({.destination = 0x0a020901}),
       onRoute(Action::dropped(Drop::kBlackhole), 4)},
      {"unreachable route: ICMP", &state, makeV4({.destination = 0x0a020801}),
       onRoute(icmp(Drop::kUnreachable, IcmpError::kDestinationUnreachable, Family::kIpv4), 5)},
      {"no ICMP source: unreachable route only dropped", &no_icmp,
       makeV4({.destination = 0x0a020801}), onRoute(Action::dropped(Drop::kUnreachable), 5)},
      {"prohibit route: ICMP administratively prohibited", &state,
       makeV4({.destination = 0x0a020701}),
       onRoute(icmp(Drop::kProhibited, IcmpError::kAdminProhibited, Family::kIpv4), 6)},
      {"prohibit route with every next hop down", &all_down, makeV4({.destination = 0x0a020701}),
       onRoute(icmp(Drop::kProhibited, IcmpError::kAdminProhibited, Family::kIpv4), 6)},
      {"no ICMP source: prohibit route only dropped", &no_icmp, makeV4({.destination = 0x0a020701}),
       onRoute(Action::dropped(Drop::kProhibited), 6)},
      // To ferry's own address (icmp.source_v4/v6), which 10.9.0.0/16 via e1
      // covers: never routed; an echo request is answered, even at TTL 1.
      {"echo request to ferry", &state, echoTo(0x0a0900fe), Action::echo(Family::kIpv4)},
      {"echo request to ferry, TTL 1", &state, echoTo(0x0a0900fe, 1), Action::echo(Family::kIpv4)},
      {"echo request to ferry with every next hop down", &all_down, echoTo(0x0a0900fe),
       Action::echo(Family::kIpv4)},
      {"IPv6 echo request to ferry", &state, echoToV6({0xfd00000000000000, 0x254}),
       Action::echo(Family::kIpv6)},
      {"UDP to ferry: local, not routed", &state, makeV4({.destination = 0x0a0900fe}),
       Action::dropped(Drop::kLocal)},
      {"echo reply to ferry: local", &state, echoTo(0x0a0900fe, 64, 0),
       Action::dropped(Drop::kLocal)},
      {"IPv6 UDP to ferry: local", &state, udpToV6({0xfd00000000000000, 0x254}),
       Action::dropped(Drop::kLocal)},
      {"echo request next to ferry's address: routed", &state, echoTo(0x0a0900fd),
       Action::forward(1, 44, 7)},
      {"no ICMP source: the address is routed", &no_icmp, echoTo(0x0a0900fe),
       Action::forward(1, 44, 7)},
      {"not an IP packet", &state, bytes(40, 0x50), Action::dropped(Drop::kBadInnerHeader)},
      {"empty", &state, {}, Action::dropped(Drop::kBadInnerHeader)},
  };
  for (const Row& r : rows) {
    auto p = r.packet;
    EXPECT_EQ(decide({0, false, false}, p, kMax, *r.state), r.want) << r.what;
  }
}

TEST(Decide, RouteModeForwardDecrementsTheTtlOnlyWhenForwarding) {
  const ForwardingState state = stateFor(kRoute);
  const auto original = makeV4({.destination = 0x0a010001, .ttl = 9});
  auto p = original;
  ASSERT_EQ(decide({0, false, false}, p, kMax, state).kind, Action::Kind::kForward);
  EXPECT_EQ(p[8], 8);
  EXPECT_EQ(checksum::compute(std::span(p).first(20)), 0) << "header checksum still valid";
  auto expired = makeV4({.destination = 0x0a010001, .ttl = 1});
  const auto before = expired;
  decide({0, false, false}, expired, kMax, state);
  EXPECT_EQ(expired, before) << "an ICMP error quotes the packet as received";
}

// Route mode's padding: the UDP payload may be longer than the inner
// packet; only the inner packet is sent.
TEST(Decide, RouteModeSendsTheInnerPacketsLength) {
  const ForwardingState state = stateFor(kRoute);
  auto p = makeV4({.destination = 0x0a010001});
  p.resize(p.size() + 10, 0);
  EXPECT_EQ(decide({0, false, false}, p, kMax, state), Action::forward(1, 32, 0));
}

// The datagrams of a GRO train are decided one by one: ECMP spreads their
// inner flows over the route's members, each flow always to the same one,
// and only over members that are up.
TEST(Decide, EcmpChoosesPerDatagram) {
  const ForwardingState state = stateFor(kRoute);
  ForwardingState e1_down = state;
  e1_down.setLiveness({1, 0, 1});
  std::set<uint16_t> used;
  for (uint16_t port = 1000; port < 1064; ++port) {
    auto p = makeV4({.destination = 0x0a050001, .source_port = port});
    const Action first = decide({0, false, false}, p, kMax, state);
    ASSERT_EQ(first.kind, Action::Kind::kForward);
    EXPECT_EQ(first.route_index, 2u);
    used.insert(first.egress);
    auto again = makeV4({.destination = 0x0a050001, .source_port = port});
    EXPECT_EQ(decide({0, false, false}, again, kMax, state).egress, first.egress) << "flow " << port;
    auto degraded = makeV4({.destination = 0x0a050001, .source_port = port});
    EXPECT_EQ(decide({0, false, false}, degraded, kMax, e1_down), Action::forward(2, 32, 2));
  }
  EXPECT_EQ(used, (std::set<uint16_t>{1, 2})) << "64 flows use both members";
}

// In route mode an in-band BFD packet (first byte 0x20-0x3F) can never be
// taken for an inner packet, and the other way round.
TEST(Decide, RouteModeSeparatesBfdFromInnerPackets) {
  const ForwardingState state = stateFor(kRoute);
  const Action bfd = Action::toBfd();
  auto b = bfdLike(24);
  EXPECT_EQ(decide({1, true, true}, b, kMax, state), bfd);
  auto p = makeV4({.destination = 0x0a020001});
  EXPECT_EQ(decide({1, true, true}, p, kMax, state), Action::forward(2, 32, 1));
}

// A train is decided as a whole (route mode looks its destinations up in one
// batch): every datagram gets exactly the action, and the bytes, it gets when
// decided alone — for every kind of outcome mixed in one train, in trains
// longer than one batch, in route and relay mode.
TEST(Decide, ATrainGetsEachDatagramsOwnDecision) {
  const ForwardingState route_state = stateFor(kRoute);
  ForwardingState e2_down = route_state;
  e2_down.setLiveness({1, 1, 0});
  const ForwardingState relay_state = stateFor(kRelay);
  std::vector<std::vector<uint8_t>> kinds = {
      makeV4({.destination = 0x0a010001}),
      makeV4({.destination = 0x0a020001}),
      makeV6({}),
      makeV4({.destination = 0x0a010001, .ttl = 1}),
      hopLimitOne(),
      makeV4({.destination = 0x0a030001}),
      makeV4({.destination = 0x7f000001}),
      bytes(40, 0x50),
      bfdLike(24),
      bytes(kMax + 1, 0x45),
      {},
      echoTo(0x0a0900fe),
      makeV4({.destination = 0x0a0900fe}),
  };
  for (uint16_t port = 1000; port < 1016; ++port)
    kinds.push_back(makeV4({.destination = 0x0a050001, .source_port = port}));
  for (const ForwardingState* state :
       std::initializer_list<const ForwardingState*>{&route_state, &e2_down, &relay_state}) {
    for (const Ingress ingress : {Ingress{0, false, false}, Ingress{1, true, true}}) {
      for (const size_t length : {size_t{1}, size_t{2}, kinds.size(), size_t{64}, size_t{65}, size_t{150}}) {
        std::vector<std::vector<uint8_t>> alone;
        for (size_t i = 0; i < length; ++i) alone.push_back(kinds[(i * 7) % kinds.size()]);
        auto together = alone;
        std::vector<Action> want;
        for (auto& d : alone) want.push_back(decide(ingress, d, kMax, *state));
        std::vector<std::span<uint8_t>> spans(together.begin(), together.end());
        std::vector<Action> got(length);
        decide(ingress, spans, kMax, *state, got);
        EXPECT_EQ(got, want) << "train of " << length;
        EXPECT_EQ(together, alone) << "the same bytes (TTLs) written, train of " << length;
      }
    }
  }
}

}  // namespace
}  // namespace ferry
