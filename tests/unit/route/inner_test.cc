#include "ferry/route/inner.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>

#include "packets.h"

namespace ferry::route {
namespace {

using testing::makeV4;
using testing::makeV6;
using testing::V4Spec;
using testing::V6Spec;

constexpr uint32_t kSeed = 0x5eed;

InnerPacket parse(const std::vector<uint8_t>& p) { return parseInner(p, kSeed); }

TEST(Verdict, SnakeCaseNames) {
  const std::map<Verdict, std::string_view> names = {
      {Verdict::kForward, "forward"},          {Verdict::kBadInnerHeader, "bad_inner_header"},
      {Verdict::kTtlExceeded, "ttl_exceeded"}, {Verdict::kMartian, "martian"},
      {Verdict::kNoRoute, "no_route"},         {Verdict::kAllNextHopsDown, "all_next_hops_down"},
      {Verdict::kBlackhole, "blackhole"},      {Verdict::kUnreachable, "unreachable"},
      {Verdict::kProhibited, "prohibited"},
  };
  ASSERT_EQ(names.size(), kVerdictCount);
  for (const auto& [v, name] : names) EXPECT_EQ(toString(v), name);
  EXPECT_EQ(toString(HeaderError::kBadChecksum), "bad_checksum");
  EXPECT_EQ(toString(HeaderError::kBadPayloadLength), "bad_payload_length");
}

TEST(ParseInner, ValidIpv4) {
  const auto p = makeV4({});
  const InnerPacket r = parse(p);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(r.error, HeaderError::kNone);
  EXPECT_EQ(r.family, Family::kIpv4);
  EXPECT_EQ(r.ttl, 64);
  EXPECT_EQ(r.length, p.size());
  EXPECT_EQ(r.source, IpAddress::v4(0x0a000001));
  EXPECT_EQ(r.destination, IpAddress::v4(0x0a020304));
  EXPECT_EQ(r.flow_hash, flowHash(p, kSeed));
}

TEST(ParseInner, ValidIpv6) {
  const auto p = makeV6({});
  const InnerPacket r = parse(p);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(r.family, Family::kIpv6);
  EXPECT_EQ(r.ttl, 64);
  EXPECT_EQ(r.length, p.size());
  EXPECT_EQ(r.source, IpAddress::v6({0x20010db800000000, 1}));
  EXPECT_EQ(r.destination, IpAddress::v6({0x20010db800020000, 4}));
  EXPECT_EQ(r.flow_hash, flowHash(p, kSeed));
}

// A list of bad inner headers a router must survive: each mutation of a
// valid packet (checksum fixed afterwards, so exactly one thing is wrong)
// yields bad_inner_header for the check it targets.
struct BadCase {
  const char* name;
  std::function<std::vector<uint8_t>()> make;
  HeaderError error;
};

TEST(ParseInner, EachBadInputYieldsItsReason) {
  auto v4 = [](auto mutate, bool fix = true) {
    return [=] {
      auto p = makeV4({});
      mutate(p);
      if (fix) testing::fixIpv4Checksum(p);
      return p;
    };
  };
  auto v6 = [](auto mutate) {
    return [=] {
      auto p = makeV6({});
      mutate(p);
      return p;
    };
  };
  using P = std::vector<uint8_t>&;
  const BadCase cases[] = {
      {"empty", [] { return std::vector<uint8_t>{}; }, HeaderError::kTruncated},
      {"version 0", v4([](P p) { p[0] = 0x05; }), HeaderError::kBadVersion},
      {"version 5", v4([](P p) { p[0] = 0x55; }), HeaderError::kBadVersion},
      {"version 1 (BFD)", v4([](P p) { p[0] = 0x20; }), HeaderError::kBadVersion},
      {"version 15", v4([](P p) { p[0] = 0xf5; }), HeaderError::kBadVersion},
      {"IHL 0", v4([](P p) { p[0] = 0x40; }, false), HeaderError::kBadIhl},
      {"IHL 4", v4([](P p) { p[0] = 0x44; }, false), HeaderError::kBadIhl},
      {"IHL beyond data",
       v4(
           [](P p) {
             p[0] = 0x4f;
             p.resize(40);
           },
           false),
       HeaderError::kBadIhl},
      {"total length > data",
       v4([](P p) { storeBe16(&p[2], static_cast<uint16_t>(p.size() + 1)); }),
       HeaderError::kBadTotalLength},
      {"total length 65535", v4([](P p) { storeBe16(&p[2], 65535); }),
       HeaderError::kBadTotalLength},
      {"total length < IHL*4", v4([](P p) { storeBe16(&p[2], 19); }), HeaderError::kBadTotalLength},
      {"total length 0", v4([](P p) { storeBe16(&p[2], 0); }), HeaderError::kBadTotalLength},
      {"bad checksum", v4([](P p) { p[11] ^= 1; }, false), HeaderError::kBadChecksum},
      {"checksum of another TTL", v4([](P p) { p[8] = 63; }, false), HeaderError::kBadChecksum},
      {"zero checksum", v4([](P p) { p[10] = p[11] = 0; }, false), HeaderError::kBadChecksum},
      {"IPv6 version 7", v6([](P p) { p[0] = 0x70; }), HeaderError::kBadVersion},
      {"IPv6 payload length beyond data",
       v6([](P p) { storeBe16(&p[4], static_cast<uint16_t>(p.size() - 39)); }),
       HeaderError::kBadPayloadLength},
      {"IPv6 payload length 65535", v6([](P p) { storeBe16(&p[4], 65535); }),
       HeaderError::kBadPayloadLength},
  };
  for (const BadCase& c : cases) {
    const InnerPacket r = parse(c.make());
    EXPECT_EQ(r.verdict, Verdict::kBadInnerHeader) << c.name;
    EXPECT_EQ(r.error, c.error) << c.name << ": got " << toString(r.error);
  }
}

TEST(ParseInner, TruncatedHeadersOfEveryLength) {
  const auto v4 = makeV4({});
  for (size_t n = 0; n < 20; ++n) {
    const InnerPacket r = parseInner(std::span(v4).first(n), kSeed);
    EXPECT_EQ(r.verdict, Verdict::kBadInnerHeader) << n;
    EXPECT_EQ(r.error, HeaderError::kTruncated) << n;
  }
  // 20..total-1 bytes: the header is there but the total length is not.
  for (size_t n = 20; n < v4.size(); ++n) {
    EXPECT_EQ(parseInner(std::span(v4).first(n), kSeed).error, HeaderError::kBadTotalLength) << n;
  }
  const auto v6 = makeV6({});
  for (size_t n = 0; n < 40; ++n) {
    const InnerPacket r = parseInner(std::span(v6).first(n), kSeed);
    EXPECT_EQ(r.verdict, Verdict::kBadInnerHeader) << n;
    EXPECT_EQ(r.error, HeaderError::kTruncated) << n;
  }
  for (size_t n = 40; n < v6.size(); ++n) {
    EXPECT_EQ(parseInner(std::span(v6).first(n), kSeed).error, HeaderError::kBadPayloadLength) << n;
  }
}

TEST(ParseInner, TtlZeroAndOneAreNotForwarded) {
  for (uint8_t ttl : {0, 1}) {
    V4Spec s4;
    s4.ttl = ttl;
    EXPECT_EQ(parse(makeV4(s4)).verdict, Verdict::kTtlExceeded) << int{ttl};
    V6Spec s6;
    s6.hop_limit = ttl;
    EXPECT_EQ(parse(makeV6(s6)).verdict, Verdict::kTtlExceeded) << int{ttl};
  }
  V4Spec s4;
  s4.ttl = 2;
  EXPECT_EQ(parse(makeV4(s4)).verdict, Verdict::kForward);
  V6Spec s6;
  s6.hop_limit = 2;
  EXPECT_EQ(parse(makeV6(s6)).verdict, Verdict::kForward);
}

TEST(ParseInner, Martians) {
  for (const char* a : {"0.0.0.0", "0.1.2.3", "127.0.0.1", "169.254.1.1", "224.0.0.251",
                        "239.255.255.250", "240.0.0.1", "255.255.255.255"}) {
    EXPECT_TRUE(isMartianV4(*parseIpv4(a))) << a;
    V4Spec as_source, as_destination;
    as_source.source = as_destination.destination = *parseIpv4(a);
    as_source.ttl = as_destination.ttl = 1;  // martian wins: no ICMP for these
    EXPECT_EQ(parse(makeV4(as_source)).verdict, Verdict::kMartian) << a;
    EXPECT_EQ(parse(makeV4(as_destination)).verdict, Verdict::kMartian) << a;
  }
  for (const char* a :
       {"1.0.0.0", "10.0.0.1", "100.64.0.1", "126.255.255.255", "128.0.0.0", "169.253.255.255",
        "169.255.0.0", "172.16.0.1", "192.168.1.1", "223.255.255.255"}) {
    EXPECT_FALSE(isMartianV4(*parseIpv4(a))) << a;
  }
  for (const char* a : {"::", "::1", "fe80::1", "febf:ffff::1", "ff02::1", "ff0e::1"}) {
    EXPECT_TRUE(isMartianV6(*parseIpv6(a))) << a;
    V6Spec as_source, as_destination;
    as_source.source = as_destination.destination = *parseIpv6(a);
    EXPECT_EQ(parse(makeV6(as_source)).verdict, Verdict::kMartian) << a;
    EXPECT_EQ(parse(makeV6(as_destination)).verdict, Verdict::kMartian) << a;
  }
  for (const char* a : {"::2", "2001:db8::1", "fc00::1", "fec0::1", "fe7f::1", "feff::1"}) {
    EXPECT_FALSE(isMartianV6(*parseIpv6(a))) << a;
  }
}

TEST(ParseInner, TrailingBytesAreNotSent) {
  auto p = makeV4({});
  const size_t real = p.size();
  p.resize(real + 10, 0xee);
  InnerPacket r = parse(p);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(r.length, real);
  EXPECT_EQ(r.flow_hash, flowHash(std::span(p).first(real), kSeed));

  auto q = makeV6({});
  const size_t real6 = q.size();
  q.resize(real6 + 3, 0xee);
  r = parse(q);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(r.length, real6);

  V6Spec empty;
  empty.next_header = 59;  // no next header
  empty.payload = 0;
  auto e = makeV6(empty);
  e.resize(48);
  r = parse(e);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(r.length, 40u);
}

TEST(ParseInner, Ipv4OptionsAreAccepted) {
  V4Spec s;
  s.option_words = 10;  // IHL 15
  const auto p = makeV4(s);
  const InnerPacket r = parse(p);
  EXPECT_EQ(r.verdict, Verdict::kForward);
  EXPECT_EQ(findTransport(p).offset, 60u);
  // Same 5-tuple as without options: the ports were found after them.
  EXPECT_EQ(r.flow_hash, flowHash(makeV4({}), kSeed));
}

// Decrement and incremental checksum vs a full recomputation, over random
// valid headers of every IHL.
TEST(DecrementTtl, MatchesFullRecomputationOnRandomHeaders) {
  std::mt19937_64 rng(7);
  for (int n = 0; n < 100'000; ++n) {
    V4Spec s;
    do {
      s.source = static_cast<Ipv4>(rng());
      s.destination = static_cast<Ipv4>(rng());
    } while (isMartianV4(s.source) || isMartianV4(s.destination));
    s.ttl = static_cast<uint8_t>(2 + rng() % 254);
    s.protocol = static_cast<uint8_t>(rng());
    s.tos = static_cast<uint8_t>(rng());
    s.id = static_cast<uint16_t>(rng());
    s.fragment = static_cast<uint16_t>(rng() & 0x7fff);
    s.option_words = static_cast<uint8_t>(rng() % 11);
    s.payload = rng() % 64;
    auto p = makeV4(s);
    for (size_t i = 20; i < 20 + size_t{s.option_words} * 4; ++i)
      p[i] = static_cast<uint8_t>(rng());
    testing::fixIpv4Checksum(p);

    const InnerPacket r = parse(p);
    ASSERT_EQ(r.verdict, Verdict::kForward) << n;
    decrementTtl(p, r);
    ASSERT_EQ(p[8], s.ttl - 1) << n;
    const size_t ihl = size_t{5} + s.option_words;
    ASSERT_EQ(checksum::compute(std::span(p).first(ihl * 4)), 0) << n;
    const uint16_t incremental = loadBe16(&p[10]);
    auto copy = p;
    testing::fixIpv4Checksum(copy);
    ASSERT_EQ(incremental, loadBe16(&copy[10])) << n;
    // The result is again a valid header (one hop less).
    const InnerPacket again = parse(p);
    ASSERT_EQ(again.verdict, s.ttl - 1 <= 1 ? Verdict::kTtlExceeded : Verdict::kForward);
  }
}

TEST(DecrementTtl, Ipv6HopLimit) {
  for (int hops = 2; hops < 256; ++hops) {
    V6Spec s;
    s.hop_limit = static_cast<uint8_t>(hops);
    auto p = makeV6(s);
    const auto before = p;
    decrementTtl(p, parse(p));
    EXPECT_EQ(p[7], hops - 1);
    p[7] = before[7];
    EXPECT_EQ(p, before);  // nothing else changed
  }
}

// ---- Flow hash ----

TEST(FlowHash, SameFlowSameHashWhateverElseChanges) {
  V4Spec a, b;
  b.ttl = 3;
  b.id = 999;
  b.tos = 0xb8;
  b.payload = 100;
  EXPECT_EQ(flowHash(makeV4(a), kSeed), flowHash(makeV4(b), kSeed));
  V6Spec c, d;
  d.hop_limit = 9;
  d.payload = 300;
  EXPECT_EQ(flowHash(makeV6(c), kSeed), flowHash(makeV6(d), kSeed));
}

TEST(FlowHash, EveryTupleFieldAndTheSeedMatter) {
  const uint32_t base = flowHash(makeV4({}), kSeed);
  V4Spec s;
  s.source_port = 1001;
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
  s = {};
  s.destination_port = 2001;
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
  s = {};
  s.source = 0x0a000002;
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
  s = {};
  s.destination = 0x0a020305;
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
  s = {};
  s.protocol = 6;
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
  EXPECT_NE(flowHash(makeV4({}), kSeed + 1), base);
  // Swapping the ports is another flow.
  s = {};
  std::swap(s.source_port, s.destination_port);
  EXPECT_NE(flowHash(makeV4(s), kSeed), base);
}

TEST(FlowHash, PortsOnlyForTransportsThatHaveThem) {
  for (uint8_t proto : {6, 17, 33, 132, 136}) {
    V4Spec a, b;
    a.protocol = b.protocol = proto;
    b.source_port = 7;
    EXPECT_NE(flowHash(makeV4(a), kSeed), flowHash(makeV4(b), kSeed)) << int{proto};
  }
  for (uint8_t proto : {1, 47, 50, 58}) {  // ICMP, GRE, ESP, ICMPv6: bytes are not ports
    V4Spec a, b;
    a.protocol = b.protocol = proto;
    b.source_port = 7;
    EXPECT_EQ(flowHash(makeV4(a), kSeed), flowHash(makeV4(b), kSeed)) << int{proto};
  }
}

TEST(FlowHash, Ipv4Fragments) {
  V4Spec first, first_other_ports, later, later_other_ports;
  first.fragment = first_other_ports.fragment = 0x2000;  // MF, offset 0
  first_other_ports.source_port = 5;
  later.fragment = later_other_ports.fragment = 0x2000 | 100;
  later_other_ports.source_port = 5;
  // A first fragment hashes like its flow (ports included).
  EXPECT_EQ(flowHash(makeV4(first), kSeed), flowHash(makeV4({}), kSeed));
  EXPECT_NE(flowHash(makeV4(first), kSeed), flowHash(makeV4(first_other_ports), kSeed));
  // Non-first fragments carry no ports: their bytes are ignored.
  EXPECT_EQ(flowHash(makeV4(later), kSeed), flowHash(makeV4(later_other_ports), kSeed));
  const Transport t = findTransport(makeV4(later));
  EXPECT_TRUE(t.fragment);
  EXPECT_FALSE(t.first_fragment);
}

TEST(FlowHash, Ipv6ExtensionHeadersAndFragments) {
  const uint32_t plain = flowHash(makeV6({}), kSeed);
  V6Spec ext;
  ext.extensions = {0, 60};  // hop-by-hop, destination options
  EXPECT_EQ(flowHash(makeV6(ext), kSeed), plain);
  Transport t = findTransport(makeV6(ext));
  EXPECT_TRUE(t.complete);
  EXPECT_EQ(t.protocol, 17);
  EXPECT_EQ(t.offset, 56u);

  V6Spec first;
  first.extensions = {44};
  EXPECT_EQ(flowHash(makeV6(first), kSeed), plain);
  V6Spec later = first, later_other_ports = first;
  later.fragment_offset = later_other_ports.fragment_offset = 10;
  later_other_ports.source_port = 5;
  EXPECT_EQ(flowHash(makeV6(later), kSeed), flowHash(makeV6(later_other_ports), kSeed));
  t = findTransport(makeV6(later));
  EXPECT_TRUE(t.fragment);
  EXPECT_FALSE(t.first_fragment);

  V6Spec deep;
  deep.extensions = {0, 60, 43, 60, 60};  // beyond the walk limit
  t = findTransport(makeV6(deep));
  EXPECT_FALSE(t.complete);
  V6Spec deep_other_ports = deep;
  deep_other_ports.source_port = 5;
  EXPECT_EQ(flowHash(makeV6(deep), kSeed), flowHash(makeV6(deep_other_ports), kSeed));

  // An extension header claiming more bytes than there are.
  auto bad = makeV6(ext);
  bad[41] = 200;
  t = findTransport(bad);
  EXPECT_GT(t.offset + 4, bad.size());
  EXPECT_FALSE(t.complete) << "the transport header is not in the packet";
  EXPECT_EQ(parse(bad).verdict, Verdict::kForward);  // forwarded; hashed without ports
  auto bad_other_ports = bad;
  bad_other_ports[56] ^= 0xff;
  EXPECT_EQ(flowHash(bad, kSeed), flowHash(bad_other_ports, kSeed));
}

// Spread: 65,536 flows (sequential ports, a few hosts) over 16 buckets by the
// top bits, as ECMP uses them: every bucket within 10% of the mean.
TEST(FlowHash, SpreadsSequentialFlowsEvenly) {
  constexpr int kBuckets = 16;
  for (bool v6 : {false, true}) {
    std::array<int, kBuckets> count{};
    std::set<uint32_t> distinct;
    for (uint32_t i = 0; i < 65536; ++i) {
      uint32_t h;
      if (v6) {
        V6Spec s;
        s.source_port = static_cast<uint16_t>(i);
        s.source.lo = i >> 14;
        h = flowHash(makeV6(s), kSeed);
      } else {
        V4Spec s;
        s.source_port = static_cast<uint16_t>(i);
        s.source = 0x0a000001 + (i >> 14);
        h = flowHash(makeV4(s), kSeed);
      }
      ++count[(uint64_t{h} * kBuckets) >> 32];
      distinct.insert(h);
    }
    for (int c : count) {
      EXPECT_GT(c, 65536 / kBuckets * 9 / 10) << (v6 ? "v6" : "v4");
      EXPECT_LT(c, 65536 / kBuckets * 11 / 10) << (v6 ? "v6" : "v4");
    }
    EXPECT_GT(distinct.size(), 65000u);  // few collisions in 32 bits
  }
}

}  // namespace
}  // namespace ferry::route
