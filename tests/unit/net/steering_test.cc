// Steering programs, run by a classic-BPF interpreter (cbpf.h) on made-up
// packets: every mode, 1..8 dataplanes, every set of stalled dataplanes up to
// 5 (and some beyond). What re-steering must keep: a flow whose dataplane is
// healthy stays where it was; a moved flow lands on a healthy dataplane, the
// moved share spread over all of them; nobody is ever steered to nobody.
#include "ferry/net/steering.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "cbpf.h"

namespace ferry {
namespace {

using test::CbpfPacket;
using test::checkCbpf;
using test::runCbpf;

void put16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
  b[at] = uint8_t(v >> 8);
  b[at + 1] = uint8_t(v);
}
void put32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  put16(b, at, uint16_t(v >> 16));
  put16(b, at + 2, uint16_t(v));
}

// An IPv4 header (with `options` 4-byte words) + UDP header + `payload`.
CbpfPacket underlay4(uint32_t src, uint16_t sport, const std::vector<uint8_t>& payload,
                     uint32_t cpu = 0, unsigned options = 0) {
  const size_t ip = 20 + 4 * options;
  CbpfPacket p;
  p.bytes.assign(ip + 8, 0);
  p.bytes[0] = uint8_t(0x40 | (5 + options));
  p.bytes[9] = 17;
  put32(p.bytes, 12, src);
  put32(p.bytes, 16, 0xc0000201);  // 192.0.2.1, the interface
  put16(p.bytes, ip, sport);
  put16(p.bytes, ip + 2, 50000);
  p.payload_at = p.bytes.size();
  p.bytes.insert(p.bytes.end(), payload.begin(), payload.end());
  p.cpu = cpu;
  return p;
}

CbpfPacket underlay6(uint32_t src_low, uint16_t sport, const std::vector<uint8_t>& payload) {
  CbpfPacket p;
  p.bytes.assign(48, 0);
  p.bytes[0] = 0x60;
  p.bytes[6] = 17;
  put32(p.bytes, 8, 0x20010db8);
  put32(p.bytes, 20, src_low);
  put32(p.bytes, 24, 0x20010db8);
  p.bytes[39] = 1;
  put16(p.bytes, 40, sport);
  put16(p.bytes, 42, 50000);
  p.payload_at = 48;
  p.bytes.insert(p.bytes.end(), payload.begin(), payload.end());
  return p;
}

// Inner IPv4 / IPv6 + UDP packets: route mode's payload.
std::vector<uint8_t> inner4(uint32_t src, uint32_t dst, uint16_t sport) {
  std::vector<uint8_t> b(20 + 8 + 16, 0);
  b[0] = 0x45;
  b[8] = 64;
  b[9] = 17;
  put32(b, 12, src);
  put32(b, 16, dst);
  put16(b, 20, sport);
  put16(b, 22, 9);
  return b;
}
std::vector<uint8_t> inner6(uint32_t src_low, uint32_t dst_low, uint16_t sport) {
  std::vector<uint8_t> b(40 + 8 + 16, 0);
  b[0] = 0x60;
  b[6] = 17;
  b[7] = 64;
  put32(b, 8, 0x20010002);
  put32(b, 20, src_low);
  put32(b, 24, 0x20010002);
  put32(b, 36, dst_low);
  put16(b, 40, sport);
  put16(b, 42, 9);
  return b;
}

// The packets each mode is tried on: many flows of the kind it steers by,
// plus the odd ones (relay payloads, short inner headers, IPv6 underlay).
std::vector<CbpfPacket> packetsFor(Steering steering, unsigned cpus) {
  std::vector<CbpfPacket> out;
  for (uint32_t f = 0; f < 400; ++f) {
    const uint32_t cpu = f % (cpus + 1);  // one CPU with no dataplane
    switch (steering) {
      case Steering::kKernel:
        out.push_back(underlay4(0xc0000202 + f % 7, uint16_t(40000 + f), {1, 2, 3}, cpu));
        if (f % 4 == 0) out.push_back(underlay6(f, uint16_t(30000 + f), {1, 2, 3}));
        break;
      case Steering::kInnerFlow:
        out.push_back(underlay4(0xc0000202, 50000,
                                inner4(0x0a000001 + f, 0x0a020001 + f % 5, uint16_t(1000 + f))));
        if (f % 4 == 0) out.push_back(underlay4(0xc0000202, 50000, inner6(f, f * 7, uint16_t(f))));
        if (f % 10 == 0)
          out.push_back(underlay4(0xc0000202, uint16_t(40000 + f), {0x12, 0x34, 0x56}));  // opaque
        if (f % 10 == 1)
          out.push_back(underlay4(0xc0000202, uint16_t(40000 + f), {0x45, 0, 0}));  // short "IPv4"
        if (f % 10 == 2)
          out.push_back(underlay6(f, uint16_t(40000 + f), {0x60, 0, 0, 0, 0}));  // short "IPv6"
        break;
      case Steering::kCpu:
        out.push_back(underlay4(0xc0000202, uint16_t(40000 + f), {1, 2, 3}, cpu));
        if (f % 8 == 0)
          out.push_back(underlay4(0xc0000202, uint16_t(41000 + f), {1, 2, 3}, cpu, /*options=*/2));
        break;
    }
  }
  return out;
}

std::vector<int> cpusFor(unsigned n) {
  std::vector<int> cpus;
  for (unsigned d = 0; d < n; ++d) cpus.push_back(int(d));
  return cpus;
}

uint32_t run(const std::vector<sock_filter>& program, const CbpfPacket& p) {
  const auto r = runCbpf(program, p);
  EXPECT_EQ(r.error, "");
  return r.value;
}

// ---- planSteering: a table ------------------------------------------------

struct PlanCase {
  unsigned sockets;
  std::vector<bool> away;
  std::vector<unsigned> healthy;
  std::vector<bool> moved;
};

TEST(SteeringPlan, Table) {
  const std::vector<PlanCase> cases = {
      {1, {}, {0}, {false}},
      {1, {true}, {0}, {false}},  // the only one: nowhere to go
      {2, {}, {0, 1}, {false, false}},
      {2, {false, true}, {0}, {false, true}},
      {2, {true}, {1}, {true, false}},            // shorter: the rest are not away
      {2, {true, true}, {0, 1}, {false, false}},  // all: nothing moves
      {4, {false, true, false, true}, {0, 2}, {false, true, false, true}},
      {4, {true, true, true, false}, {3}, {true, true, true, false}},
      {4, {true, true, true, true}, {0, 1, 2, 3}, {false, false, false, false}},
      {3,
       {false, false, false, false, true},
       {0, 1, 2},
       {false, false, false}},  // longer: ignored beyond
  };
  for (const auto& c : cases) {
    const SteeringPlan plan = planSteering(c.sockets, c.away);
    EXPECT_EQ(plan.healthy, c.healthy) << c.sockets;
    EXPECT_EQ(plan.away, c.moved) << c.sockets;
    EXPECT_EQ(plan.moves(), c.healthy.size() < c.sockets);
  }
}

// ---- programs ---------------------------------------------------------------

std::vector<std::vector<bool>> awaySets(unsigned n) {
  std::vector<std::vector<bool>> sets;
  if (n <= 5) {
    for (unsigned mask = 0; mask < (1u << n); ++mask) {
      std::vector<bool> away(n);
      for (unsigned d = 0; d < n; ++d) away[d] = mask >> d & 1;
      sets.push_back(away);
    }
  } else {
    for (unsigned d = 0; d < n; ++d) {
      std::vector<bool> one(n, false), all_but(n, true);
      one[d] = true;
      all_but[d] = false;
      sets.push_back(one);
      sets.push_back(all_but);
    }
    sets.push_back(std::vector<bool>(n, true));
    std::vector<bool> half(n, false);
    for (unsigned d = 0; d < n; d += 2) half[d] = true;
    sets.push_back(half);
  }
  return sets;
}

class EveryMode : public ::testing::TestWithParam<Steering> {};

TEST_P(EveryMode, ProgramsPassTheCheckerAndStayInRange) {
  for (unsigned n = 1; n <= 8; ++n)
    for (const auto& away : awaySets(n)) {
      const auto program = steeringProgram(GetParam(), n, cpusFor(n), away);
      ASSERT_EQ(checkCbpf(program), "") << "n=" << n;
      for (const auto& p : packetsFor(GetParam(), n)) ASSERT_LT(run(program, p), n);
    }
}

TEST_P(EveryMode, HealthyFlowsStayAndMovedOnesSpreadOverTheHealthy) {
  for (unsigned n = 1; n <= 8; ++n) {
    const auto cpus = cpusFor(n);
    const auto base = steeringProgram(GetParam(), n, cpus);
    const auto packets = packetsFor(GetParam(), n);
    for (const auto& away : awaySets(n)) {
      const SteeringPlan plan = planSteering(n, away);
      const auto program = steeringProgram(GetParam(), n, cpus, away);
      std::map<uint32_t, size_t> moved_to;
      size_t moved = 0;
      for (const auto& p : packets) {
        const uint32_t before = run(base, p), after = run(program, p);
        if (!plan.away[before]) {
          ASSERT_EQ(after, before) << "a flow of a healthy dataplane moved; n=" << n;
        } else {
          ASSERT_FALSE(plan.away[after]) << "a moved flow landed on a stalled dataplane; n=" << n;
          ++moved_to[after];
          ++moved;
        }
      }
      // Spread: with enough moved packets every healthy dataplane takes at
      // least a third of its fair share of them.
      const size_t healthy = plan.healthy.size();
      if (plan.moves() && moved >= 60 * healthy) {
        for (unsigned h : plan.healthy)
          EXPECT_GE(moved_to[h] * 3 * healthy, moved)
              << "n=" << n << " healthy " << h << " took " << moved_to[h] << " of " << moved;
      }
    }
  }
}

TEST_P(EveryMode, EveryDataplaneAwayIsTheSameAsNoneAway) {
  for (unsigned n = 1; n <= 8; ++n)
    EXPECT_EQ(steeringProgram(GetParam(), n, cpusFor(n), std::vector<bool>(n, true)).size(),
              steeringProgram(GetParam(), n, cpusFor(n)).size());
  // Same instructions, not just the same length.
  const auto all = steeringProgram(GetParam(), 3, cpusFor(3), {true, true, true});
  const auto none = steeringProgram(GetParam(), 3, cpusFor(3));
  ASSERT_EQ(all.size(), none.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].code, none[i].code) << i;
    EXPECT_EQ(all[i].k, none[i].k) << i;
  }
}

TEST_P(EveryMode, EveryDataplaneGetsAShareWhenAllAreHealthy) {
  for (unsigned n = 2; n <= 8; ++n) {
    const auto program = steeringProgram(GetParam(), n, cpusFor(n));
    std::map<uint32_t, size_t> per;
    size_t total = 0;
    for (const auto& p : packetsFor(GetParam(), n)) {
      ++per[run(program, p)];
      ++total;
    }
    for (unsigned d = 0; d < n; ++d)
      EXPECT_GE(per[d] * 3 * n, total) << "n=" << n << " dataplane " << d;
  }
}

INSTANTIATE_TEST_SUITE_P(Steering, EveryMode,
                         ::testing::Values(Steering::kKernel, Steering::kInnerFlow, Steering::kCpu),
                         [](const auto& param_info) {
                           std::string name = toString(param_info.param);
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(SteeringSize, TheLargestConfigsFitOrSaySo) {
  const unsigned n = 1024;  // the config's limit
  std::vector<bool> one(n, false), half(n, false);
  one[7] = true;
  for (unsigned d = 0; d < n; d += 2) half[d] = true;
  for (Steering mode : {Steering::kKernel, Steering::kInnerFlow, Steering::kCpu}) {
    EXPECT_EQ(checkCbpf(steeringProgram(mode, n, cpusFor(n))), "") << toString(mode);
    if (mode == Steering::kCpu) {
      EXPECT_THROW(steeringProgram(mode, n, cpusFor(n), half), std::length_error);
    } else {
      EXPECT_EQ(checkCbpf(steeringProgram(mode, n, cpusFor(n), one)), "") << toString(mode);
      EXPECT_EQ(checkCbpf(steeringProgram(mode, n, cpusFor(n), half)), "") << toString(mode);
    }
  }
}

// ---- what each mode steers by ---------------------------------------------

TEST(SteeringKernel, OneUnderlayFlowIsOneDataplaneWhateverItCarries) {
  const auto program = steeringProgram(Steering::kKernel, 4, cpusFor(4));
  for (uint16_t port = 40000; port < 40050; ++port) {
    const uint32_t d = run(program, underlay4(0xc0000202, port, {1}));
    for (uint32_t i = 0; i < 20; ++i)
      EXPECT_EQ(run(program, underlay4(0xc0000202, port, inner4(i, i * 3, uint16_t(i)), i % 4)), d);
  }
}

TEST(SteeringKernel, TheUdpHeaderIsFoundBehindIpv4Options) {
  const auto program = steeringProgram(Steering::kKernel, 8, cpusFor(8));
  std::set<uint32_t> seen;
  for (uint16_t port = 40000; port < 40064; ++port)
    seen.insert(run(program, underlay4(0xc0000202, port, {1}, 0, /*options=*/3)));
  EXPECT_GE(seen.size(), 6u) << "the source port was not part of the hash";
}

TEST(SteeringInnerFlow, AnInnerFlowIsOneDataplaneWhicheverUnderlayFlowCarriesIt) {
  for (const auto& away : std::vector<std::vector<bool>>{{}, {false, true, false, false}}) {
    const auto program = steeringProgram(Steering::kInnerFlow, 4, cpusFor(4), away);
    std::set<uint32_t> seen;
    for (uint32_t f = 0; f < 64; ++f) {
      const auto payload = inner4(0x0a000001 + f, 0x0a020001, uint16_t(1000 + f));
      const uint32_t d = run(program, underlay4(0xc0000202, 50000, payload));
      seen.insert(d);
      for (uint16_t port = 40000; port < 40010; ++port)
        EXPECT_EQ(run(program, underlay4(0xc0000203, port, payload)), d);
    }
    EXPECT_EQ(seen.size(), away.empty() ? 4u : 3u);
  }
}

TEST(SteeringCpu, APacketStaysOnItsCpusDataplaneUnlessThatOneIsAway) {
  const std::vector<int> cpus = {2, 4, 6};
  const auto base = steeringProgram(Steering::kCpu, 3, cpus);
  const auto moved = steeringProgram(Steering::kCpu, 3, cpus, {false, true, false});
  std::set<uint32_t> from_cpu4;
  for (uint16_t port = 40000; port < 40100; ++port) {
    EXPECT_EQ(run(base, underlay4(0xc0000202, port, {1}, 2)), 0u);
    EXPECT_EQ(run(base, underlay4(0xc0000202, port, {1}, 4)), 1u);
    EXPECT_EQ(run(moved, underlay4(0xc0000202, port, {1}, 6)), 2u);
    from_cpu4.insert(run(moved, underlay4(0xc0000202, port, {1}, 4)));
  }
  EXPECT_EQ(from_cpu4, (std::set<uint32_t>{0, 2}));
}

}  // namespace
}  // namespace ferry
