// Shared helpers for the BFD session tests: a peer that speaks in packets, and
// sessions brought to a given state through the real handshake.
#pragma once

#include <gtest/gtest.h>

#include "ferry/bfd/packet.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd::testing {

inline constexpr uint32_t kLocalDisc = 0x0000a001;
inline constexpr uint32_t kPeerDisc = 0x0000b002;
inline constexpr uint64_t kSeed = 42;
inline constexpr Micros kMs = 1000;
inline constexpr Micros kSec = 1'000'000;

inline SessionConfig config(Micros tx = 50 * kMs, Micros rx = 50 * kMs, uint8_t mult = 3) {
  SessionConfig c;
  c.desired_min_tx_us = tx;
  c.required_min_rx_us = rx;
  c.detect_mult = mult;
  return c;
}

// What the peer sends: its state, echoing our discriminator once it knows it.
struct Peer {
  uint32_t disc = kPeerDisc;
  uint32_t desired_min_tx_us = 50'000;
  uint32_t required_min_rx_us = 50'000;
  uint8_t detect_mult = 3;

  ControlPacket packet(State state, uint32_t your_disc = kLocalDisc) const {
    ControlPacket p;
    p.state = state;
    p.detect_mult = detect_mult;
    p.my_disc = disc;
    p.your_disc = your_disc;
    p.desired_min_tx_us = desired_min_tx_us;
    p.required_min_rx_us = required_min_rx_us;
    p.length = 24;
    return p;
  }
  ControlPacket withPoll(State state) const {
    ControlPacket p = packet(state);
    p.poll = true;
    return p;
  }
  ControlPacket withFinal(State state) const {
    ControlPacket p = packet(state);
    p.final = true;
    return p;
  }
};

// Drives `s` from Down to Init (peer says Down, not knowing our disc yet).
inline void toInit(Session& s, const Peer& peer, Micros now) {
  ASSERT_EQ(s.state(), State::kDown);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kDown, 0), now).accepted());
  ASSERT_EQ(s.state(), State::kInit);
}

// Drives `s` Down -> Init -> Up, then completes the Poll Sequence that
// reaching Up starts (DesiredMinTx leaves its 1 s floor), so the session is
// in steady state with the configured timers in force.
inline void toUp(Session& s, const Peer& peer, Micros now) {
  toInit(s, peer, now);
  ASSERT_TRUE(s.onPacket(peer.packet(State::kUp), now).accepted());
  ASSERT_EQ(s.state(), State::kUp);
  if (s.pollActive()) {
    const ControlPacket p = s.buildPacket(now);
    ASSERT_TRUE(p.poll);
    ASSERT_TRUE(s.onPacket(peer.withFinal(State::kUp), now).accepted());
    ASSERT_FALSE(s.pollActive());
  }
}

}  // namespace ferry::bfd::testing
