// Up hold-down (flap damping): a link whose BFD session comes up goes back
// into forwarding only once the session has stayed usable for `hold` without
// interruption. Going down is never delayed. A flapping neighbour whose
// sessions stay up for less than `hold` therefore never attracts traffic,
// instead of taking (and losing) a share of it at every flap, as with
// Juniper's BFD `holddown-interval`. hold = 0: usable as soon as the session
// is. Pure logic: the caller passes the session's state and the time.
#pragma once

#include <cstdint>

#include "ferry/bfd/session.h"

namespace ferry::bfd {

class HoldDown {
 public:
  explicit HoldDown(Micros hold = 0) noexcept : hold_(hold) {}

  // The session's forwarding usability as of `now`; returns whether the
  // link may carry traffic. Call whenever the session's usability may have
  // changed and when deadline() has passed.
  bool update(bool session_usable, Micros now) noexcept {
    if (!session_usable) {
      if (pending_) ++damped_;  // came up and went down again within the hold
      pending_ = false;
      usable_ = false;
      return usable_;
    }
    if (usable_) return usable_;
    if (!pending_) {
      pending_ = true;
      since_ = now;
    }
    if (now >= end()) {
      pending_ = false;
      usable_ = true;
    }
    return usable_;
  }

  bool usable() const noexcept { return usable_; }
  // When update() must be called again to end a running hold; kNever if none.
  Micros deadline() const noexcept { return pending_ ? end() : kNever; }
  // Ups that ended before their hold did (flaps kept out of forwarding).
  uint64_t damped() const noexcept { return damped_; }
  Micros hold() const noexcept { return hold_; }
  // A running hold is measured from its start with the new length (the
  // caller then calls update(), which may end it at once).
  void setHold(Micros hold) noexcept { hold_ = hold; }

  // Takeover: what another process needs to go on where this one stopped
  // (the hold length is its own config's).
  struct State {
    Micros since = 0;
    bool pending = false;
    bool usable = false;
    uint64_t damped = 0;
    friend bool operator==(const State&, const State&) = default;
  };
  State save() const noexcept { return {since_, pending_, usable_, damped_}; }
  void restore(const State& s) noexcept {
    since_ = s.since;
    pending_ = s.pending;
    usable_ = s.usable;
    damped_ = s.damped;
  }

 private:
  // Saturating: a hold near the clock's end never wraps into the past.
  Micros end() const noexcept {
    if (since_ >= kNever - 1 || hold_ >= kNever - 1 - since_) return kNever - 1;
    return since_ + hold_;
  }

  Micros hold_;
  Micros since_ = 0;
  bool pending_ = false;
  bool usable_ = false;
  uint64_t damped_ = 0;
};

}  // namespace ferry::bfd
