// The FPM decoder against any bytes: random streams and mutated valid ones
// (bytes flipped, inserted, removed, cut), fed in random chunks. Checks that
// it never crashes or reads out of bounds (the ASan+UBSan build runs this
// too), that chunking never changes the result, and that every update it
// returns is well-formed. Deterministic (fixed seeds) and bounded.
#include <gtest/gtest.h>

#include <random>

#include "ferry/fpm/decoder.h"
#include "messages.h"

namespace ferry::fpm {
namespace {

using namespace testing;

route::IpAddress randomGateway(std::mt19937_64& rng) {
  if (rng() % 3 == 0) {
    route::Ipv6 a{0x20010db800000000ull | (rng() & 0xffff), rng()};
    return route::IpAddress::v6(a);
  }
  return route::IpAddress::v4(uint32_t(0x0a000000u | (rng() & 0xffffff)));
}

Bytes randomMessage(std::mt19937_64& rng) {
  const auto g = [&] { return randomGateway(rng); };
  char prefix[64];
  const unsigned len = unsigned(rng() % 33);
  const uint32_t addr = uint32_t(rng()) & route::ipv4Mask(len);
  std::snprintf(prefix, sizeof(prefix), "%u.%u.%u.%u/%u", addr >> 24, (addr >> 16) & 255,
                (addr >> 8) & 255, addr & 255, len);
  switch (rng() % 7) {
    case 0:
      return newRoute(prefix, {g()});
    case 1:
      return newRoute(prefix, {g(), g(), g()});
    case 2:
      return newRouteById(prefix, uint32_t(rng() % 100 + 1));
    case 3:
      return delRoute(prefix);
    case 4:
      return newNextHop(uint32_t(rng() % 100 + 1), g());
    case 5:
      return newGroup(uint32_t(rng() % 100 + 1),
                      {uint32_t(rng() % 50 + 1), uint32_t(rng() % 50 + 1)});
    default:
      return newRoute("2001:db8:1::/48", {route::IpAddress::v6({0x20010db800990000ull, 2})});
  }
}

Bytes validStream(std::mt19937_64& rng) {
  Bytes out;
  const size_t frames = rng() % 6 + 1;
  for (size_t f = 0; f < frames; ++f) {
    Bytes body;
    const size_t messages = rng() % 4 + 1;
    for (size_t m = 0; m < messages; ++m) {
      const Bytes msg = randomMessage(rng);
      body.insert(body.end(), msg.begin(), msg.end());
    }
    Bytes fr{1, 1, uint8_t((body.size() + 4) >> 8), uint8_t(body.size() + 4)};
    fr.insert(fr.end(), body.begin(), body.end());
    out.insert(out.end(), fr.begin(), fr.end());
  }
  return out;
}

Bytes input(std::mt19937_64& rng) {
  if (rng() % 5 == 0) {  // random bytes, often with a plausible FPM header
    Bytes b(rng() % 300);
    for (auto& x : b) x = uint8_t(rng());
    if (b.size() >= 4 && rng() % 2) {
      b[0] = 1;
      b[1] = 1;
      b[2] = uint8_t(b.size() >> 8);
      b[3] = uint8_t(b.size());
    }
    return b;
  }
  Bytes b = validStream(rng);
  const size_t mutations = rng() % 8;
  for (size_t i = 0; i < mutations && !b.empty(); ++i) {
    const size_t at = rng() % b.size();
    switch (rng() % 5) {
      case 0:
        b[at] = uint8_t(rng());
        break;
      case 1:
        b[at] ^= uint8_t(1u << (rng() % 8));
        break;
      case 2:
        b.insert(b.begin() + ptrdiff_t(at), uint8_t(rng()));
        break;
      case 3:
        b.erase(b.begin() + ptrdiff_t(at));
        break;
      default:
        b.resize(at);
        break;
    }
  }
  return b;
}

struct Result {
  std::vector<Update> updates;
  DecoderCounters counters;
  bool ok = true;
};

Result decode(const Bytes& stream, std::mt19937_64* chunker) {
  Decoder d;
  Result r;
  size_t at = 0;
  while (at < stream.size() && r.ok) {
    const size_t n = chunker == nullptr
                         ? stream.size()
                         : std::min(stream.size() - at, size_t((*chunker)() % 97 + 1));
    r.ok = d.feed({stream.data() + at, n}, r.updates);
    at += n;
  }
  r.counters = d.counters();
  return r;
}

void checkWellFormed(const Update& u) {
  if (const auto* r = std::get_if<RouteUpdate>(&u)) {
    EXPECT_LE(r->prefix.length(), r->prefix.isV4() ? 32u : 128u);
    EXPECT_FALSE(r->prefix.hasHostBits());
    if (!r->add) {
      EXPECT_TRUE(r->gateways.empty());
    }
  } else {
    const auto& n = std::get<NextHopUpdate>(u);
    EXPECT_NE(n.id, 0u);
    for (uint32_t m : n.group) EXPECT_NE(m, 0u);
  }
}

TEST(FpmFuzz, AnyBytesDecodeTheSameInAnyChunksAndNeverCrash) {
  std::mt19937_64 rng(20261202);
  std::mt19937_64 chunker(7);
  uint64_t errors = 0, updates = 0, broken = 0;
  for (int i = 0; i < 20000; ++i) {
    const Bytes stream = input(rng);
    const Result whole = decode(stream, nullptr);
    const Result chunked = decode(stream, &chunker);
    ASSERT_EQ(whole.ok, chunked.ok) << "iteration " << i;
    if (whole.ok) {
      ASSERT_EQ(whole.updates, chunked.updates) << "iteration " << i;
      ASSERT_EQ(whole.counters.errors, chunked.counters.errors) << "iteration " << i;
      ASSERT_EQ(whole.counters.frames, chunked.counters.frames) << "iteration " << i;
    }
    for (const auto& u : whole.updates) checkWellFormed(u);
    errors += whole.counters.errors;
    updates += whole.updates.size();
    broken += whole.ok ? 0 : 1;
  }
  // The mix reaches every outcome.
  EXPECT_GT(errors, 1000u);
  EXPECT_GT(updates, 10000u);
  EXPECT_GT(broken, 100u);
}

TEST(FpmFuzz, EveryNetlinkPayloadOfRandomBytes) {
  std::mt19937_64 rng(99);
  Decoder d;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 200);
    for (auto& x : b) x = uint8_t(rng());
    if (b.size() >= 6 && rng() % 2) {  // a plausible netlink header: length and type
      const uint32_t length = uint32_t(rng() % (b.size() + 8));
      std::memcpy(b.data(), &length, 4);
      const uint16_t types[] = {RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEXTHOP, RTM_DELNEXTHOP};
      std::memcpy(b.data() + 4, &types[rng() % 4], 2);
    }
    std::vector<Update> out;
    d.decodeNetlink(b, out);
    for (const auto& u : out) checkWellFormed(u);
  }
  EXPECT_GT(d.counters().errors, 0u);
}

}  // namespace
}  // namespace ferry::fpm
