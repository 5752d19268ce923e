#include "ferry/route/icmp.h"

#include <gtest/gtest.h>

#include <vector>

#include "ferry/route/inner.h"
#include "packets.h"

namespace ferry::route {
namespace {

using testing::makeV4;
using testing::makeV6;
using testing::V4Spec;
using testing::V6Spec;

const IpAddress kSource4 = IpAddress::v4(0xc0000201);                 // 192.0.2.1
const IpAddress kSource6 = IpAddress::v6({0x20010db8ffff0000, 0x1});  // 2001:db8:ffff::1

// An independent one's-complement sum (RFC 1071), word by word.
uint16_t naiveChecksum(const std::vector<uint8_t>& bytes) {
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes.size(); i += 2) {
    sum += uint64_t{bytes[i]} << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> build(IcmpError kind, const IpAddress& source,
                           const std::vector<uint8_t>& offending, size_t out_size = 2048) {
  std::vector<uint8_t> out(out_size, 0xaa);
  const size_t n = buildIcmpError(kind, source, offending, out);
  out.resize(n);
  return out;
}

// Checks an ICMPv4 error packet completely; returns the quoted bytes.
std::vector<uint8_t> checkV4(const std::vector<uint8_t>& pkt, uint8_t type, Ipv4 to,
                             uint8_t code = 0) {
  EXPECT_GE(pkt.size(), 28u + 20u);
  EXPECT_LE(pkt.size(), 576u);
  EXPECT_EQ(pkt[0], 0x45);
  EXPECT_EQ(pkt[1], 0xc0);
  EXPECT_EQ(loadBe16(&pkt[2]), pkt.size());
  EXPECT_EQ(loadBe16(&pkt[6]), 0x4000);  // DF
  EXPECT_EQ(pkt[8], 64);                 // TTL
  EXPECT_EQ(pkt[9], 1);                  // ICMP
  EXPECT_EQ(loadBe32(&pkt[12]), kSource4.v4());
  EXPECT_EQ(loadBe32(&pkt[16]), to);
  // Header checksum: a full recomputation with the field zeroed.
  std::vector<uint8_t> header(pkt.begin(), pkt.begin() + 20);
  const uint16_t stored = loadBe16(&header[10]);
  header[10] = header[11] = 0;
  EXPECT_EQ(stored, naiveChecksum(header));
  // ICMP: type, code, unused 0, checksum over the whole message.
  std::vector<uint8_t> icmp(pkt.begin() + 20, pkt.end());
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(loadBe32(&icmp[4]), 0u);
  const uint16_t icmp_stored = loadBe16(&icmp[2]);
  icmp[2] = icmp[3] = 0;
  EXPECT_EQ(icmp_stored, naiveChecksum(icmp));
  EXPECT_TRUE(parseInner(pkt, 0).verdict == Verdict::kForward);  // a valid IPv4 packet
  return {pkt.begin() + 28, pkt.end()};
}

std::vector<uint8_t> checkV6(const std::vector<uint8_t>& pkt, uint8_t type, const Ipv6& to,
                             uint8_t code = 0) {
  EXPECT_GE(pkt.size(), 48u + 40u);
  EXPECT_LE(pkt.size(), 1280u);
  EXPECT_EQ(loadBe32(&pkt[0]), 0x60000000u);
  EXPECT_EQ(loadBe16(&pkt[4]), pkt.size() - 40);
  EXPECT_EQ(pkt[6], 58);
  EXPECT_EQ(pkt[7], 64);
  EXPECT_EQ(Ipv6::load(&pkt[8]), kSource6.v6());
  EXPECT_EQ(Ipv6::load(&pkt[24]), to);
  std::vector<uint8_t> icmp(pkt.begin() + 40, pkt.end());
  EXPECT_EQ(icmp[0], type);
  EXPECT_EQ(icmp[1], code);
  EXPECT_EQ(loadBe32(&icmp[4]), 0u);
  // Checksum over pseudo-header (src, dst, 32-bit length, 3 zero bytes, 58) + message.
  const uint16_t stored = loadBe16(&icmp[2]);
  std::vector<uint8_t> covered(pkt.begin() + 8, pkt.begin() + 40);
  const uint32_t len = static_cast<uint32_t>(icmp.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    covered.push_back(static_cast<uint8_t>(len >> shift));
  covered.insert(covered.end(), {0, 0, 0, 58});
  icmp[2] = icmp[3] = 0;
  covered.insert(covered.end(), icmp.begin(), icmp.end());
  EXPECT_EQ(stored, naiveChecksum(covered));
  return {pkt.begin() + 48, pkt.end()};
}

TEST(IcmpV4, TimeExceededQuotesTheWholeSmallPacket) {
  V4Spec s;
  s.ttl = 1;
  const auto offending = makeV4(s);
  const auto pkt = build(IcmpError::kTimeExceeded, kSource4, offending);
  ASSERT_EQ(pkt.size(), 28 + offending.size());
  EXPECT_EQ(checkV4(pkt, 11, s.source), offending);  // quoted as received (TTL 1)
}

TEST(IcmpV4, NetUnreachable) {
  const auto offending = makeV4({});
  const auto pkt = build(IcmpError::kDestinationUnreachable, kSource4, offending);
  ASSERT_FALSE(pkt.empty());
  EXPECT_EQ(checkV4(pkt, 3, V4Spec{}.source), offending);
}

// A prohibit route: type 3 code 13, communication administratively prohibited.
TEST(IcmpV4, AdministrativelyProhibited) {
  const auto offending = makeV4({});
  const auto pkt = build(IcmpError::kAdminProhibited, kSource4, offending);
  ASSERT_EQ(pkt.size(), 28 + offending.size());
  EXPECT_EQ(checkV4(pkt, 3, V4Spec{}.source, 13), offending);
}

TEST(IcmpV4, QuoteStopsAt576Bytes) {
  V4Spec s;
  s.payload = 1480;
  const auto offending = makeV4(s);
  const auto pkt = build(IcmpError::kTimeExceeded, kSource4, offending);
  ASSERT_EQ(pkt.size(), 576u);
  EXPECT_EQ(checkV4(pkt, 11, s.source),
            std::vector<uint8_t>(offending.begin(), offending.begin() + 548));
}

TEST(IcmpV4, QuoteStopsAtTheIpLengthNotAtTrailingBytes) {
  auto offending = makeV4({});
  const size_t real = offending.size();
  offending.resize(real + 30, 0xee);
  const auto pkt = build(IcmpError::kTimeExceeded, kSource4, offending);
  EXPECT_EQ(pkt.size(), 28 + real);
}

TEST(IcmpV6, TimeExceededAndNoRoute) {
  V6Spec s;
  s.hop_limit = 1;
  const auto offending = makeV6(s);
  auto pkt = build(IcmpError::kTimeExceeded, kSource6, offending);
  ASSERT_EQ(pkt.size(), 48 + offending.size());
  EXPECT_EQ(checkV6(pkt, 3, s.source), offending);
  pkt = build(IcmpError::kDestinationUnreachable, kSource6, offending);
  ASSERT_FALSE(pkt.empty());
  EXPECT_EQ(checkV6(pkt, 1, s.source), offending);
}

// A prohibit route: type 1 code 1, communication with destination
// administratively prohibited.
TEST(IcmpV6, AdministrativelyProhibited) {
  const auto offending = makeV6({});
  const auto pkt = build(IcmpError::kAdminProhibited, kSource6, offending);
  ASSERT_EQ(pkt.size(), 48 + offending.size());
  EXPECT_EQ(checkV6(pkt, 1, V6Spec{}.source, 1), offending);
}

TEST(IcmpV6, QuoteStopsAt1280Bytes) {
  V6Spec s;
  s.payload = 3000;
  const auto offending = makeV6(s);
  const auto pkt = build(IcmpError::kDestinationUnreachable, kSource6, offending, 4096);
  ASSERT_EQ(pkt.size(), 1280u);
  EXPECT_EQ(checkV6(pkt, 1, s.source),
            std::vector<uint8_t>(offending.begin(), offending.begin() + 1232));
}

TEST(Icmp, ChecksumsHoldForManyLengths) {
  for (size_t payload = 0; payload < 700; payload += 7) {
    V4Spec s4;
    s4.payload = payload;
    s4.protocol = 6;
    checkV4(build(IcmpError::kTimeExceeded, kSource4, makeV4(s4)), 11, s4.source);
    V6Spec s6;
    s6.payload = payload;
    checkV6(build(IcmpError::kTimeExceeded, kSource6, makeV6(s6)), 3, s6.source);
  }
}

TEST(Icmp, SmallOutputBufferShortensTheQuote) {
  V4Spec s;
  s.payload = 200;
  const auto offending = makeV4(s);
  // Room for the headers, the offending IP header and 8 bytes: exactly enough.
  auto pkt = build(IcmpError::kTimeExceeded, kSource4, offending, 28 + 28);
  ASSERT_EQ(pkt.size(), 56u);
  checkV4(pkt, 11, s.source);
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, offending, 55).empty());

  V6Spec s6;
  s6.payload = 200;
  const auto offending6 = makeV6(s6);
  pkt = build(IcmpError::kTimeExceeded, kSource6, offending6, 48 + 48);
  ASSERT_EQ(pkt.size(), 96u);
  checkV6(pkt, 3, s6.source);
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, offending6, 95).empty());
}

TEST(Icmp, BuildsInPlaceInTheReceivedBuffer) {
  for (bool v6 : {false, true}) {
    V4Spec s4;
    s4.payload = 900;
    V6Spec s6;
    s6.payload = 900;
    const auto offending = v6 ? makeV6(s6) : makeV4(s4);
    const IpAddress& source = v6 ? kSource6 : kSource4;
    const auto expected = build(IcmpError::kTimeExceeded, source, offending);
    std::vector<uint8_t> buffer(2048, 0);
    std::copy(offending.begin(), offending.end(), buffer.begin());
    const size_t n = buildIcmpError(IcmpError::kTimeExceeded, source,
                                    std::span(buffer).first(offending.size()), buffer);
    ASSERT_EQ(n, expected.size());
    EXPECT_EQ(std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<long>(n)),
              expected);
  }
}

// ---- The never-send cases (RFC 1812 §4.3.2.7, RFC 4443 §2.4 (e)). ----

TEST(IcmpNeverSend, AboutIcmpErrors) {
  for (uint8_t type : {3, 4, 5, 11, 12, 1, 2, 6, 7, 9, 10, 19, 42, 255}) {
    V4Spec s;
    s.protocol = 1;
    s.source_port = static_cast<uint16_t>(type << 8);  // first byte = ICMP type
    EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV4(s)).empty()) << int{type};
  }
  for (uint8_t type : {0, 8, 13, 14, 15, 16, 17, 18}) {  // queries: answered
    V4Spec s;
    s.protocol = 1;
    s.source_port = static_cast<uint16_t>(type << 8);
    EXPECT_FALSE(build(IcmpError::kTimeExceeded, kSource4, makeV4(s)).empty()) << int{type};
  }
  V4Spec truncated;
  truncated.protocol = 1;
  truncated.payload = 0;  // no room for the ICMP type
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV4(truncated)).empty());

  for (uint8_t type : {1, 2, 3, 4, 100, 127}) {
    V6Spec s;
    s.next_header = 58;
    s.source_port = static_cast<uint16_t>(type << 8);
    EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV6(s)).empty()) << int{type};
    s.extensions = {0};  // behind a hop-by-hop header: still found
    EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV6(s)).empty()) << int{type};
  }
  for (uint8_t type : {128, 129, 200}) {  // informational: answered
    V6Spec s;
    s.next_header = 58;
    s.source_port = static_cast<uint16_t>(type << 8);
    EXPECT_FALSE(build(IcmpError::kTimeExceeded, kSource6, makeV6(s)).empty()) << int{type};
  }
  V6Spec deep;  // too many extension headers to see what is inside: stay silent
  deep.extensions = {0, 60, 43, 60, 60};
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV6(deep)).empty());
}

TEST(IcmpNeverSend, AboutNonFirstFragments) {
  V4Spec later;
  later.fragment = 0x2000 | 185;
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV4(later)).empty());
  later.fragment = 185;  // the last fragment (MF clear)
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV4(later)).empty());
  V4Spec first;
  first.fragment = 0x2000;
  EXPECT_FALSE(build(IcmpError::kTimeExceeded, kSource4, makeV4(first)).empty());

  V6Spec later6;
  later6.extensions = {44};
  later6.fragment_offset = 100;
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV6(later6)).empty());
  V6Spec first6;
  first6.extensions = {44};
  EXPECT_FALSE(build(IcmpError::kTimeExceeded, kSource6, makeV6(first6)).empty());
}

TEST(IcmpNeverSend, ToMulticastBroadcastOrUnspecifiedSources) {
  for (const char* a :
       {"0.0.0.0", "224.0.0.1", "239.1.2.3", "255.255.255.255", "240.0.0.1", "127.0.0.1"}) {
    V4Spec s;
    s.source = *parseIpv4(a);
    EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV4(s)).empty()) << a;
    V4Spec d;  // nor about packets sent to a multicast or broadcast address
    d.destination = *parseIpv4(a);
    EXPECT_TRUE(build(IcmpError::kDestinationUnreachable, kSource4, makeV4(d)).empty()) << a;
  }
  for (const char* a : {"::", "ff02::1", "ff0e::1", "::1", "fe80::1"}) {
    V6Spec s;
    s.source = *parseIpv6(a);
    EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV6(s)).empty()) << a;
    V6Spec d;
    d.destination = *parseIpv6(a);
    EXPECT_TRUE(build(IcmpError::kDestinationUnreachable, kSource6, makeV6(d)).empty()) << a;
  }
}

TEST(IcmpNeverSend, WrongFamilyOrBadHeader) {
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, makeV4({})).empty());
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, makeV6({})).empty());
  auto p = makeV4({});
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, {p.begin(), p.begin() + 19}).empty());
  p[0] = 0x44;  // IHL 4
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, p).empty());
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource4, {}).empty());
  auto q = makeV6({});
  EXPECT_TRUE(build(IcmpError::kTimeExceeded, kSource6, {q.begin(), q.begin() + 39}).empty());
}

// Echo requests to the router's own address (route mode's ICMP source).
std::vector<uint8_t> echoV4(V4Spec s, size_t data = 16, uint8_t type = 8) {
  s.destination = kSource4.v4();
  return testing::makeEchoV4(s, data, type);
}

// The ICMPv6 checksum of a packet without extension headers, computed
// independently of the code under test (naiveChecksum): 0 when it is right.
uint16_t icmpV6Checksum(const std::vector<uint8_t>& p) {
  std::vector<uint8_t> covered(p.begin() + 8, p.begin() + 40);
  const uint32_t len = static_cast<uint32_t>(p.size() - 40);
  for (int shift = 24; shift >= 0; shift -= 8)
    covered.push_back(static_cast<uint8_t>(len >> shift));
  covered.insert(covered.end(), {0, 0, 0, 58});
  covered.insert(covered.end(), p.begin() + 40, p.end());
  return naiveChecksum(covered);
}

std::vector<uint8_t> echoV6(V6Spec s, size_t data = 16, uint8_t type = 128) {
  s.destination = kSource6.v6();
  return testing::makeEchoV6(s, data, type);
}

std::vector<uint8_t> reply(const IpAddress& self, const std::vector<uint8_t>& request,
                           size_t out_size = 2048) {
  std::vector<uint8_t> out(out_size, 0xaa);
  const size_t n = buildEchoReply(self, request, out);
  EXPECT_EQ(n != 0, isEchoRequestTo(self, request)) << "the two agree";
  out.resize(n);
  return out;
}

TEST(IcmpEcho, V4ReplyCarriesTheRequestBack) {
  V4Spec s;
  s.tos = 0x2b;  // DSCP 10 + ECN 3: the reply keeps the DSCP, not the ECN bits
  s.ttl = 1;     // a TTL of 1 does not matter: the request has arrived
  const auto request = echoV4(s, 56);
  const auto pkt = reply(kSource4, request);
  ASSERT_EQ(pkt.size(), request.size());
  EXPECT_EQ(pkt[1], 0x28);
  // Type 0 code 0 and the request's ICMP message from its identifier on.
  std::vector<uint8_t> header(pkt.begin() + 20, pkt.begin() + 28);
  EXPECT_EQ(header[0], 0);
  EXPECT_EQ(header[1], 0);
  EXPECT_EQ(loadBe16(&header[4]), 0x4242);
  EXPECT_EQ(loadBe16(&header[6]), 7);
  EXPECT_EQ(std::vector<uint8_t>(pkt.begin() + 28, pkt.end()),
            std::vector<uint8_t>(request.begin() + 28, request.end()));
  std::vector<uint8_t> ip(pkt.begin(), pkt.begin() + 20);
  EXPECT_EQ(naiveChecksum(ip), 0);
  EXPECT_EQ(naiveChecksum({pkt.begin() + 20, pkt.end()}), 0);
  EXPECT_EQ(loadBe32(&pkt[12]), kSource4.v4());
  EXPECT_EQ(loadBe32(&pkt[16]), s.source);
  EXPECT_EQ(pkt[8], 64);
  EXPECT_EQ(loadBe16(&pkt[6]), 0x4000);
}

TEST(IcmpEcho, V4OptionsAreNotEchoed) {
  V4Spec s;
  s.option_words = 2;
  const auto request = echoV4(s, 8);
  const auto pkt = reply(kSource4, request);
  ASSERT_EQ(pkt.size(), request.size() - 8);
  EXPECT_EQ(pkt[0], 0x45);
  EXPECT_EQ(std::vector<uint8_t>(pkt.begin() + 24, pkt.end()),
            std::vector<uint8_t>(request.begin() + 32, request.end()));
}

TEST(IcmpEcho, V6ReplyCarriesTheRequestBack) {
  V6Spec s;
  s.hop_limit = 1;
  const auto request = echoV6(s, 100);
  const auto pkt = reply(kSource6, request);
  ASSERT_EQ(pkt.size(), request.size());
  EXPECT_EQ(loadBe32(&pkt[0]), 0x60000000u);
  EXPECT_EQ(loadBe16(&pkt[4]), request.size() - 40);
  EXPECT_EQ(pkt[6], 58);
  EXPECT_EQ(pkt[7], 64);
  EXPECT_EQ(Ipv6::load(&pkt[8]), kSource6.v6());
  EXPECT_EQ(Ipv6::load(&pkt[24]), s.source);
  EXPECT_EQ(pkt[40], 129);
  EXPECT_EQ(pkt[41], 0);
  EXPECT_EQ(std::vector<uint8_t>(pkt.begin() + 44, pkt.end()),
            std::vector<uint8_t>(request.begin() + 44, request.end()));
  EXPECT_EQ(icmpV6Checksum(pkt), 0);
}

TEST(IcmpEcho, InPlaceInTheReceivedBuffer) {
  for (const bool v4 : {true, false}) {
    const auto request = v4 ? echoV4({}, 40) : echoV6({}, 40);
    const IpAddress& self = v4 ? kSource4 : kSource6;
    const auto expected = reply(self, request);
    auto buffer = request;
    ASSERT_EQ(buildEchoReply(self, buffer, buffer), expected.size());
    EXPECT_EQ(buffer, expected);
  }
}

// Whatever is not a valid echo request to the address gets no reply.
TEST(IcmpEcho, OnlyValidEchoRequestsToTheAddressAreAnswered) {
  struct Row {
    const char* name;
    std::vector<uint8_t> packet;
    const IpAddress* self;
  };
  auto corrupt = [](std::vector<uint8_t> p, size_t at) {
    p[at] ^= 0x01;
    return p;
  };
  auto withFix = [](std::vector<uint8_t> p, size_t at, uint8_t value) {
    p[at] = value;
    testing::fixIpv4Checksum(p);
    return p;
  };
  V4Spec fragment;
  fragment.fragment = 0x2000;
  V4Spec martian;
  martian.source = 0x7f000001;
  V6Spec multicast_source;
  multicast_source.source = {0xff02000000000000, 1};
  V6Spec with_extension;
  with_extension.extensions = {0};  // hop-by-hop before ICMPv6: not answered
  auto truncated = echoV4({}, 16);
  truncated.resize(truncated.size() - 1);
  auto other_self = echoV4({});
  const IpAddress other = IpAddress::v4(0xc0000202);
  const Row rows[] = {
      {"v4 echo reply, not a request", echoV4({}, 16, 0), &kSource4},
      {"v4 timestamp request", echoV4({}, 16, 13), &kSource4},
      {"v4 bad ICMP checksum", corrupt(echoV4({}), 30), &kSource4},
      {"v4 bad header checksum", corrupt(echoV4({}), 10), &kSource4},
      {"v4 a fragment", echoV4(fragment), &kSource4},
      {"v4 loopback source", echoV4(martian), &kSource4},
      {"v4 to another address", other_self, &other},
      {"v4 UDP", withFix(echoV4({}), 9, 17), &kSource4},
      {"v4 truncated", truncated, &kSource4},
      {"v4 reply over 1280 bytes", echoV4({}, 1280 - 28 + 1), &kSource4},
      {"v6 echo reply", echoV6({}, 16, 129), &kSource6},
      {"v6 bad checksum", corrupt(echoV6({}), 50), &kSource6},
      {"v6 multicast source", echoV6(multicast_source), &kSource6},
      {"v6 extension header first", echoV6(with_extension), &kSource6},
      {"v6 reply over 1280 bytes", echoV6({}, 1280 - 48 + 1), &kSource6},
      {"v4 packet, v6 address", echoV4({}), &kSource6},
      {"empty", {}, &kSource4},
  };
  for (const Row& r : rows) {
    EXPECT_FALSE(isEchoRequestTo(*r.self, r.packet)) << r.name;
    std::vector<uint8_t> out(2048);
    EXPECT_EQ(buildEchoReply(*r.self, r.packet, out), 0u) << r.name;
  }
  // The largest that is answered, and a too small output buffer.
  EXPECT_EQ(reply(kSource4, echoV4({}, 1280 - 28)).size(), 1280u);
  EXPECT_EQ(reply(kSource6, echoV6({}, 1280 - 48)).size(), 1280u);
  std::vector<uint8_t> small(60);
  EXPECT_EQ(buildEchoReply(kSource4, echoV4({}, 56), small), 0u);
}

}  // namespace
}  // namespace ferry::route
