// Discriminator allocation and §6.3 selection, and the whole receive pipeline
// (bytes -> decode -> select -> Session::onPacket) against every §6.8.6
// discard rule, one row each, packet-level and session-level.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "bfd_test_util.h"
#include "ferry/bfd/demux.h"

namespace ferry::bfd {
namespace {

using namespace ferry::bfd::testing;

constexpr Micros kStart = 100 * kSec;

TEST(BfdDiscriminatorTable, AllocatesRandomNonZeroUniqueValues) {
  DiscriminatorTable table(kSeed);
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < 10'000; ++i) {
    const uint32_t disc = table.allocate(i);
    EXPECT_NE(disc, 0u);
    EXPECT_TRUE(seen.insert(disc).second) << "duplicate " << disc;
    EXPECT_EQ(table.find(disc), i);
  }
  EXPECT_EQ(table.size(), 10'000u);
  // Random, not sequential: the first two values are far apart.
  DiscriminatorTable fresh(kSeed);
  const uint32_t a = fresh.allocate(0);
  const uint32_t b = fresh.allocate(1);
  EXPECT_GT(a > b ? a - b : b - a, 1000u);
  // Deterministic per seed; a different seed gives different values.
  DiscriminatorTable same(kSeed);
  EXPECT_EQ(same.allocate(0), a);
  DiscriminatorTable other(kSeed + 1);
  EXPECT_NE(other.allocate(0), a);
}

TEST(BfdDiscriminatorTable, InsertFindRelease) {
  DiscriminatorTable table(kSeed);
  EXPECT_FALSE(table.insert(0, 1)) << "0 is never a discriminator";
  EXPECT_TRUE(table.insert(7, 1));
  EXPECT_TRUE(table.insert(3, 2));
  EXPECT_TRUE(table.insert(0xffffffff, 3));
  EXPECT_FALSE(table.insert(7, 4)) << "in use";
  EXPECT_EQ(table.find(7), 1u);
  EXPECT_EQ(table.find(3), 2u);
  EXPECT_EQ(table.find(0xffffffff), 3u);
  EXPECT_EQ(table.find(5), std::nullopt);
  EXPECT_EQ(table.find(0), std::nullopt);
  EXPECT_TRUE(table.release(7));
  EXPECT_FALSE(table.release(7));
  EXPECT_EQ(table.find(7), std::nullopt);
  EXPECT_EQ(table.size(), 2u);
}

TEST(BfdSelect, ByYourDiscriminatorOrByPeer) {
  DiscriminatorTable table(kSeed);
  ASSERT_TRUE(table.insert(kLocalDisc, 4));
  const Peer peer;

  Selection sel = select(peer.packet(State::kUp, kLocalDisc), table, std::nullopt);
  EXPECT_EQ(sel.session, 4u);
  EXPECT_EQ(sel.discard, RxDiscard::kNone);

  // §6.3: a known discriminator wins over whatever the interface suggests.
  sel = select(peer.packet(State::kUp, kLocalDisc), table, 9u);
  EXPECT_EQ(sel.session, 4u);

  sel = select(peer.packet(State::kUp, 0x12345), table, 4u);
  EXPECT_EQ(sel.session, std::nullopt);
  EXPECT_EQ(sel.discard, RxDiscard::kUnknownDiscriminator);

  sel = select(peer.packet(State::kDown, 0), table, 9u);
  EXPECT_EQ(sel.session, 9u);

  sel = select(peer.packet(State::kDown, 0), table, std::nullopt);
  EXPECT_EQ(sel.session, std::nullopt);
  EXPECT_EQ(sel.discard, RxDiscard::kNoSessionForPeer);
}

// ------------------------------------------------------ the receive pipeline

// One receiver: a table with one session (index 0) on one interface.
struct Receiver {
  explicit Receiver(const SessionConfig& c) : table(kSeed), session(c, kLocalDisc, kSeed) {
    EXPECT_TRUE(table.insert(kLocalDisc, 0));
  }

  // What the control thread does with a datagram from the session's
  // interface; returns "accepted" or the discard reason's name.
  std::string receive(const std::vector<uint8_t>& bytes, Micros now) {
    ControlPacket p;
    const DecodeResult d = decode(bytes, p);
    if (d != DecodeResult::kOk) return toString(d);
    const Selection sel = select(p, table, 0u);
    if (!sel.session) return toString(sel.discard);
    const RxResult r = session.onPacket(p, now, bytes);
    return r.accepted() ? "accepted" : toString(r.discard);
  }

  DiscriminatorTable table;
  Session session;
};

std::vector<uint8_t> bytesOf(const ControlPacket& p) {
  std::vector<uint8_t> out(kMaxPacketLength);
  out.resize(encode(p, out));
  return out;
}

struct PipelineRow {
  const char* rule;                // §6.8.6 wording, abbreviated
  State local;                     // receiver's state before the packet
  bool local_auth;                 // receiver configured with a simple password
  std::vector<uint8_t> (*make)();  // the offending datagram
  const char* expected;            // discard reason, as counted
};

ControlPacket upPacket() { return Peer{}.packet(State::kUp); }

std::vector<uint8_t> withAuth(ControlPacket p, AuthType type, const char* secret) {
  p.auth_present = true;
  p.auth.type = type;
  p.auth.key_id = 1;
  p.auth.value_length = static_cast<uint8_t>(std::strlen(secret));
  std::memcpy(p.auth.value.data(), secret, p.auth.value_length);
  return bytesOf(p);
}

TEST(BfdPipeline, EveryDiscardRuleOfSection6_8_6) {
  // clang-format off
  const PipelineRow rows[] = {
    {"version number is not 1", State::kUp, false,
     [] { auto b = bytesOf(upPacket()); b[0] = 0x43; return b; }, "bad_version"},
    {"Length < 24", State::kUp, false,
     [] { auto b = bytesOf(upPacket()); b[3] = 20; return b; }, "length_too_short"},
    {"A set and Length < 26", State::kUp, false,
     [] { auto b = bytesOf(upPacket()); b[1] |= 0x04; b[3] = 25; b.push_back(0); return b; },
     "length_too_short"},
    {"Length > payload of the encapsulating protocol", State::kUp, false,
     [] { auto b = bytesOf(upPacket()); b.pop_back(); return b; }, "length_exceeds_datagram"},
    {"Detect Mult is zero", State::kUp, false,
     [] { auto p = upPacket(); p.detect_mult = 0; return bytesOf(p); }, "zero_detect_mult"},
    {"Multipoint bit is nonzero", State::kUp, false,
     [] { auto p = upPacket(); p.multipoint = true; return bytesOf(p); }, "multipoint"},
    {"My Discriminator is zero", State::kUp, false,
     [] { auto p = upPacket(); p.my_disc = 0; return bytesOf(p); }, "zero_my_discriminator"},
    {"Your Discriminator nonzero, no session found", State::kUp, false,
     [] { auto p = upPacket(); p.your_disc = 0x7777; return bytesOf(p); },
     "unknown_discriminator"},
    {"Your Discriminator zero, State not Down/AdminDown", State::kUp, false,
     [] { auto p = upPacket(); p.your_disc = 0; return bytesOf(p); },
     "zero_your_discriminator_not_down"},
    {"A bit set, no authentication in use", State::kUp, false,
     [] { return withAuth(upPacket(), AuthType::kSimplePassword, "secret"); },
     "auth_bit_mismatch"},
    {"A bit clear, authentication in use", State::kDown, true,
     [] { return bytesOf(Peer{}.packet(State::kDown, 0)); }, "auth_bit_mismatch"},
    {"authentication fails (wrong password)", State::kDown, true,
     [] { return withAuth(Peer{}.packet(State::kDown, 0), AuthType::kSimplePassword, "wrong!"); },
     "auth_failed"},
    {"authentication type differs", State::kDown, true,
     [] {
       auto p = Peer{}.packet(State::kDown, 0);
       p.auth_present = true;
       p.auth.type = AuthType::kKeyedSha1;
       p.auth.key_id = 1;
       p.auth.value_length = 20;
       return bytesOf(p);
     },
     "auth_type_mismatch"},
    {"session is AdminDown", State::kAdminDown, false,
     [] { return bytesOf(upPacket()); }, "local_admin_down"},
    {"P and F both set (§6.5)", State::kUp, false,
     [] { auto p = upPacket(); p.poll = p.final = true; return bytesOf(p); }, "poll_and_final"},
  };
  // clang-format on
  for (const PipelineRow& row : rows) {
    SessionConfig c = config();
    if (row.local_auth) {
      c.auth.type = AuthType::kSimplePassword;
      c.auth.key_id = 1;
      c.auth.secret = "secret";
    }
    Receiver rx(c);
    if (row.local == State::kAdminDown) rx.session.setAdminDown(true, kStart);
    if (row.local == State::kUp) toUp(rx.session, Peer{}, kStart);
    ASSERT_EQ(rx.session.state(), row.local) << row.rule;
    const State before = rx.session.state();
    EXPECT_EQ(rx.receive(row.make(), kStart + 1), row.expected) << row.rule;
    EXPECT_EQ(rx.session.state(), before) << row.rule << ": a discarded packet changes nothing";
  }
}

TEST(BfdPipeline, ValidPacketsAreAcceptedEvenWithTrailingBytes) {
  Receiver rx(config());
  auto b = bytesOf(Peer{}.packet(State::kDown, 0));
  b.push_back(0xff);
  EXPECT_EQ(rx.receive(b, 1), "accepted");
  EXPECT_EQ(rx.session.state(), State::kInit);
}

// frr#11148 / frr#23283: a Your-Discriminator-0 packet can reach an Up
// session only by saying Down or AdminDown (a restarted peer); one claiming
// Init or Up is dropped by decode and cannot disturb the session.
TEST(BfdPipeline, ZeroYourDiscriminatorCannotHijackAnUpSession) {
  Receiver rx(config());
  toUp(rx.session, Peer{}, 1);
  Peer stranger;
  stranger.disc = 0x99;
  EXPECT_EQ(rx.receive(bytesOf(stranger.packet(State::kUp, 0)), 2),
            "zero_your_discriminator_not_down");
  EXPECT_EQ(rx.receive(bytesOf(stranger.packet(State::kInit, 0)), 3),
            "zero_your_discriminator_not_down");
  EXPECT_EQ(rx.session.state(), State::kUp);
  EXPECT_EQ(rx.session.remoteDiscriminator(), kPeerDisc);
}

}  // namespace
}  // namespace ferry::bfd
