// Route mode's per-packet code against any bytes: random datagrams and
// mutated valid IPv4/IPv6 packets go through parseInner, findTransport,
// flowHash, decrementTtl and buildIcmpError, as a dataplane would use them,
// with invariants checked after each step. Deterministic and bounded (the
// ASan+UBSan build runs it too).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <random>
#include <vector>

#include "ferry/route/icmp.h"
#include "ferry/route/inner.h"
#include "packets.h"

namespace ferry::route {
namespace {

using testing::makeV4;
using testing::makeV6;

std::vector<uint8_t> input(std::mt19937_64& rng) {
  std::vector<uint8_t> p;
  switch (rng() % 3) {
    case 0: {  // random bytes, starting like IPv4 or IPv6 half the time
      p.resize(rng() % 120);
      for (auto& b : p) b = uint8_t(rng());
      if (!p.empty() && rng() % 2) p[0] = uint8_t((rng() % 2 ? 0x40 : 0x60) | (p[0] & 0x0f));
      return p;
    }
    case 1: {
      testing::V4Spec s;
      s.ttl = uint8_t(rng() % 4 == 0 ? rng() % 3 : rng());
      s.option_words = uint8_t(rng() % 3);
      s.fragment = uint16_t(rng() % 4 == 0 ? rng() : 0);
      s.payload = rng() % 64;
      p = makeV4(s);
      break;
    }
    default: {
      testing::V6Spec s;
      s.hop_limit = uint8_t(rng() % 4 == 0 ? rng() % 3 : rng());
      const uint8_t kinds[] = {0, 43, 44, 60, 51};
      for (size_t n = rng() % 6; n > 0; --n) s.extensions.push_back(kinds[rng() % 5]);
      s.fragment_offset = uint16_t(rng() % 3);
      s.payload = rng() % 64;
      p = makeV6(s);
      break;
    }
  }
  // Mutations: flip bytes, cut, or append padding.
  for (size_t n = rng() % 4; n > 0 && !p.empty(); --n) p[rng() % p.size()] ^= uint8_t(1u << (rng() % 8));
  if (rng() % 4 == 0) p.resize(rng() % (p.size() + 1));
  if (rng() % 8 == 0) p.resize(p.size() + rng() % 16, 0);
  return p;
}

TEST(RouteFuzz, AnyBytesThroughTheWholePacketPath) {
  std::mt19937_64 rng(5880);
  const IpAddress icmp_v4 = IpAddress::v4(0x0aff0001);  // 10.255.0.1
  const IpAddress icmp_v6 = *IpAddress::parse("fd00::1");
  std::array<size_t, 8> verdicts{};
  for (int i = 0; i < 1'000'000; ++i) {
    std::vector<uint8_t> p = input(rng);
    const InnerPacket parsed = parseInner(p, 42);
    verdicts[size_t(parsed.verdict) % verdicts.size()]++;
    if (parsed.verdict == Verdict::kForward || parsed.verdict == Verdict::kTtlExceeded ||
        parsed.verdict == Verdict::kMartian) {
      ASSERT_LE(parsed.length, p.size());
      ASSERT_GE(parsed.length, parsed.family == Family::kIpv4 ? 20u : 40u);
      const Transport t = findTransport(std::span(p).first(parsed.length));
      if (t.complete) {
        ASSERT_LE(t.offset, parsed.length);
      }
    }
    [[maybe_unused]] const uint32_t h = flowHash(p, 42);
    if (parsed.verdict == Verdict::kForward) {
      ASSERT_GE(parsed.ttl, 2);
      std::vector<uint8_t> copy(p.begin(), p.begin() + parsed.length);
      decrementTtl(copy, parsed);
      const InnerPacket again = parseInner(copy, 42);
      ASSERT_TRUE(again.verdict == Verdict::kForward || again.verdict == Verdict::kTtlExceeded)
          << "a decremented packet stays valid";
      ASSERT_EQ(again.ttl, parsed.ttl - 1);
    }
    if (parsed.verdict == Verdict::kForward || parsed.verdict == Verdict::kTtlExceeded) {
      std::array<uint8_t, kIcmpMaxPacket> out{};
      const IcmpError kind =
          parsed.verdict == Verdict::kTtlExceeded ? IcmpError::kTimeExceeded : IcmpError::kDestinationUnreachable;
      const size_t n = buildIcmpError(kind, parsed.family == Family::kIpv4 ? icmp_v4 : icmp_v6,
                                      std::span(p).first(parsed.length), out);
      ASSERT_LE(n, out.size());
      if (n != 0) {
        // Our own ICMP error is a valid packet for the next router.
        const InnerPacket icmp = parseInner(std::span(out).first(n), 42);
        ASSERT_EQ(icmp.verdict, Verdict::kForward) << "verdict " << int(icmp.verdict);
        ASSERT_EQ(icmp.length, n);
      }
    }
  }
  // Every kind of outcome was reached.
  EXPECT_GT(verdicts[size_t(Verdict::kForward)], 1000u);
  EXPECT_GT(verdicts[size_t(Verdict::kTtlExceeded)], 1000u);
  EXPECT_GT(verdicts[size_t(Verdict::kBadInnerHeader)], 1000u);
}

}  // namespace
}  // namespace ferry::route
