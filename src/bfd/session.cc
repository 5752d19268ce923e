// One BFD session: the §6.8.6 reception procedure, the §6.2 state machine,
// timer negotiation (§6.8.2-§6.8.4), Poll/Final (§6.5) and transmission
// (§6.8.7). Authentication lives in session_auth.cc.
#include <algorithm>
#include <stdexcept>

#include "ferry/bfd/session.h"

namespace ferry::bfd {
namespace {

Micros addSaturating(Micros a, Micros b) noexcept { return a > kNever - b ? kNever : a + b; }

uint32_t wire32(Micros v) noexcept { return static_cast<uint32_t>(std::min(v, kMaxInterval)); }

}  // namespace

const char* validate(const SessionConfig& config) noexcept {
  if (config.desired_min_tx_us < 1 || config.desired_min_tx_us > kMaxInterval) {
    return "desired_min_tx must be 1..4294967295 microseconds";
  }
  // 0 would ask the peer to send nothing (§6.8.1), leaving nothing to detect.
  if (config.required_min_rx_us < 1 || config.required_min_rx_us > kMaxInterval) {
    return "required_min_rx must be 1..4294967295 microseconds";
  }
  if (config.detect_mult < 1) return "detect_mult must be 1..255";
  return validate(config.auth);
}

namespace {

const char* secretError(AuthType type, const std::string& secret) noexcept {
  switch (type) {
    case AuthType::kNone:
      return nullptr;
    case AuthType::kSimplePassword:
      if (secret.empty() || secret.size() > kMaxPasswordLength)
        return "a simple password must be 1..16 bytes";
      return nullptr;
    case AuthType::kKeyedMd5:
    case AuthType::kMeticulousKeyedMd5:
      if (secret.empty() || secret.size() > kMd5DigestLength)
        return "a keyed MD5 key must be 1..16 bytes";
      return nullptr;
    case AuthType::kKeyedSha1:
    case AuthType::kMeticulousKeyedSha1:
      if (secret.empty() || secret.size() > kSha1DigestLength)
        return "a keyed SHA1 key must be 1..20 bytes";
      return nullptr;
  }
  return "unknown authentication type";
}

}  // namespace

const char* validate(const AuthConfig& auth) noexcept {
  if (const char* error = secretError(auth.type, auth.secret)) return error;
  if (auth.accept.empty()) return nullptr;
  if (auth.type == AuthType::kNone) return "accepted keys need an authentication type";
  static_assert(kMaxAcceptKeys == 7, "the message below");
  if (auth.accept.size() > kMaxAcceptKeys) return "at most 7 accepted keys";
  for (size_t i = 0; i < auth.accept.size(); ++i) {
    const AuthKey& key = auth.accept[i];
    if (const char* error = secretError(auth.type, key.secret)) return error;
    if (key.key_id == auth.key_id) return "an accepted key has the key id of the key sent";
    for (size_t j = 0; j < i; ++j)
      if (auth.accept[j].key_id == key.key_id) return "two accepted keys have the same key id";
  }
  return nullptr;
}

const char* toString(RxDiscard discard) noexcept {
  switch (discard) {
    case RxDiscard::kNone:
      return "none";
    case RxDiscard::kUnknownDiscriminator:
      return "unknown_discriminator";
    case RxDiscard::kNoSessionForPeer:
      return "no_session_for_peer";
    case RxDiscard::kYourDiscriminatorMismatch:
      return "your_discriminator_mismatch";
    case RxDiscard::kAuthBitMismatch:
      return "auth_bit_mismatch";
    case RxDiscard::kAuthTypeMismatch:
      return "auth_type_mismatch";
    case RxDiscard::kAuthKeyIdMismatch:
      return "auth_key_id_mismatch";
    case RxDiscard::kAuthFailed:
      return "auth_failed";
    case RxDiscard::kAuthSequence:
      return "auth_sequence";
    case RxDiscard::kLocalAdminDown:
      return "local_admin_down";
  }
  return "invalid";
}

Session::Session(const SessionConfig& config, uint32_t local_disc, uint64_t seed)
    : cfg_tx_(config.desired_min_tx_us),
      cfg_rx_(config.required_min_rx_us),
      passive_(config.passive),
      auth_type_(config.auth.type),
      local_disc_(local_disc),
      prng_(seed) {
  if (const char* error = validate(config)) throw std::invalid_argument(error);
  if (local_disc == 0) throw std::invalid_argument("local discriminator must be non-zero");
  setKeys(config.auth);
  // §6.7.3/§6.7.4: bfd.XmitAuthSeq starts at a random value.
  xmit_auth_seq_ = static_cast<uint32_t>(prng_.next());
  adv_mult_ = config.detect_mult;
  adv_rx_ = eff_rx_ = cfg_rx_;
  adv_tx_ = eff_tx_ = std::max(cfg_tx_, kSlowTxInterval);
  tx_interval_ = txInterval();
  if (config.admin_down) {
    // Born AdminDown: not a transition, but the diag says why (§6.8.16).
    state_ = State::kAdminDown;
    local_diag_ = Diag::kAdministrativelyDown;
  }
}

bool Session::forwardingUsable() const noexcept {
  if (state_ == State::kUp) return true;
  return peer_admin_down_ && (state_ == State::kDown || state_ == State::kInit);
}

bool Session::remoteDemandActive() const noexcept {
  // §6.6: the peer asked us to stop periodic TX, and both ends are Up.
  return remote_demand_ && state_ == State::kUp && remote_state_ == State::kUp;
}

bool Session::periodicTxEnabled() const noexcept {
  // §6.8.7: three MUST NOTs.
  if (passive_ && remote_disc_ == 0) return false;
  if (remote_min_rx_ == 0) return false;
  if (remoteDemandActive() && !poll_active_) return false;
  return true;
}

Micros Session::txInterval() const noexcept { return std::max(eff_tx_, remote_min_rx_); }

Micros Session::detectionTime() const noexcept {
  // §6.8.4 (asynchronous mode; ferry never asks the peer for Demand mode, so
  // this formula holds even while the peer is in Demand mode): the *remote*
  // Detect Mult times the slower of what we require and what the peer offers.
  // Both factors fit 32 bits, so the product fits 64.
  return static_cast<Micros>(remote_mult_) * std::max(eff_rx_, remote_desired_tx_);
}

Micros Session::nextDeadline() const noexcept {
  if (final_owed_) return 0;
  Micros deadline = detection_deadline_;
  if (periodicTxEnabled()) deadline = std::min(deadline, next_tx_);
  return deadline;
}

bool Session::transmitDue(Micros now) const noexcept {
  return final_owed_ || (periodicTxEnabled() && now >= next_tx_);
}

Change Session::changeSince(Snapshot before) const noexcept {
  return {before.state != state_, before.usable != forwardingUsable()};
}

void Session::countDiscard(RxDiscard why) noexcept {
  ++counters_.rx_discarded[static_cast<size_t>(why)];
}

RxResult Session::onPacket(const ControlPacket& packet, Micros now,
                           std::span<const uint8_t> wire) noexcept {
  RxResult result;
  const Snapshot before = snapshot();
  auto discard = [&](RxDiscard why) {
    countDiscard(why);
    result.discard = why;
    return result;
  };

  // §6.3: once the peer echoes a discriminator it must be ours. Demux by
  // DiscriminatorTable guarantees it; a caller selecting by interface may not.
  if (packet.your_disc != 0 && packet.your_disc != local_disc_) {
    return discard(RxDiscard::kYourDiscriminatorMismatch);
  }
  // §6.8.6: the A bit must match our configuration, then §6.7 must pass.
  if (packet.auth_present != (auth_type_ != AuthType::kNone)) {
    return discard(RxDiscard::kAuthBitMismatch);
  }
  if (packet.auth_present) {
    const RxDiscard why = authenticate(packet, wire, now);
    if (why != RxDiscard::kNone) return discard(why);
  }

  // §6.8.6: record the peer's view. This happens before the AdminDown check,
  // so our AdminDown packets carry the peer's discriminator.
  remote_disc_ = packet.my_disc;
  remote_state_ = packet.state;
  remote_diag_ = packet.diag;
  remote_demand_ = packet.demand;
  remote_min_rx_ = packet.required_min_rx_us;
  remote_desired_tx_ = packet.desired_min_tx_us;
  remote_echo_rx_ = packet.required_min_echo_rx_us;
  remote_mult_ = packet.detect_mult;
  if (packet.final) onFinal();
  // §6.8.6: "Update the transmit interval ... Update the Detection Time",
  // before the state machine, which may change them again.
  retime();

  if (state_ == State::kAdminDown) return discard(RxDiscard::kLocalAdminDown);

  applyStateMachine(packet.state, now);

  // "Received for purposes of the Detection Time expiration rules" (§6.8.6).
  ++counters_.rx_accepted;
  last_rx_ = now;
  detection_deadline_ = addSaturating(now, detectionTime());
  if (packet.poll) {
    // §6.5: answer with F (and P clear) at once, whatever the schedule,
    // Demand mode or our own Poll Sequence.
    final_owed_ = true;
    result.transmit_now = true;
  }
  const Change change = changeSince(before);
  result.state_changed = change.state_changed;
  result.liveness_changed = change.liveness_changed;
  return result;
}

void Session::applyStateMachine(State received, Micros now) noexcept {
  // Held Down (holdDown): the peer's state is recorded by the caller, ours
  // stays Down whatever it says.
  if (held_diag_ != Diag::kNone) return;
  // §6.8.6, verbatim in structure. Our state is not AdminDown here.
  if (received == State::kAdminDown) {
    if (state_ != State::kDown) {
      // RFC 5882 §3.2: the peer shut the session administratively; remember
      // that forwarding was fine, so the dataplane does not fail over.
      if (state_ == State::kUp) peer_admin_down_ = true;
      setState(State::kDown, Diag::kNeighborSignaledSessionDown, now);
    }
    return;
  }
  switch (state_) {
    case State::kDown:
      if (received == State::kDown) {
        setState(State::kInit, local_diag_, now);
      } else if (received == State::kInit) {
        setState(State::kUp, Diag::kNone, now);
      }
      break;
    case State::kInit:
      if (received == State::kInit || received == State::kUp)
        setState(State::kUp, Diag::kNone, now);
      break;
    case State::kUp:
      if (received == State::kDown) {
        setState(State::kDown, Diag::kNeighborSignaledSessionDown, now);
      }
      break;
    case State::kAdminDown:
      break;
  }
}

void Session::setState(State next, Diag diag, Micros now) noexcept {
  if (next == state_) return;
  state_ = next;
  local_diag_ = diag;
  ++transitions_;
  last_change_ = now;
  if (next == State::kUp || next == State::kAdminDown) peer_admin_down_ = false;
  if (next != State::kUp) {
    // Poll Sequences synchronise timer changes of an Up session; outside Up
    // new values apply at once (updateAdvertised), so a running one ends.
    poll_active_ = false;
    poll_sent_ = false;
  }
  // Entering or leaving Up moves DesiredMinTx between the configured value
  // and the 1 s floor (§6.8.3).
  updateAdvertised();
  // Tell the peer now rather than up to a (slow) interval later, as FRR does
  // (ptm_bfd_sess_up/_dn send at once): the handshake completes in round
  // trips, and a peer hears our Down (diag 3) before its own timer fires.
  // Each state change needs a received packet, an expiry or an operator
  // action, so this adds at most one packet per such event.
  next_tx_ = now;
}

void Session::updateAdvertised() noexcept {
  const Micros tx = state_ == State::kUp ? cfg_tx_ : std::max(cfg_tx_, kSlowTxInterval);
  const Micros rx = cfg_rx_;
  if (tx == adv_tx_ && rx == adv_rx_) return;
  adv_tx_ = tx;
  adv_rx_ = rx;
  if (state_ == State::kUp) {
    // §6.8.3: a faster TX or a slower RX is safe at once. A slower TX or a
    // faster RX waits for the Final, so the peer's detection time grows
    // before our packets thin out (or its packets speed up).
    eff_tx_ = std::min(eff_tx_, tx);
    eff_rx_ = std::max(eff_rx_, rx);
    if (!poll_active_) ++counters_.polls_started;
    poll_active_ = true;
    poll_sent_ = false;  // a Final to an earlier P does not cover these values
  } else {
    eff_tx_ = tx;
    eff_rx_ = rx;
  }
  retime();
}

void Session::onFinal() noexcept {
  // §6.5: F ends our Poll Sequence; an unsolicited F is ignored. A Final that
  // may answer a P sent before the latest change acknowledges nothing new,
  // so the sequence goes on until a P with the current values is answered.
  if (!poll_active_ || !poll_sent_) return;
  poll_active_ = false;
  poll_sent_ = false;
  eff_tx_ = adv_tx_;
  eff_rx_ = adv_rx_;
  ++counters_.polls_completed;
}

void Session::retime() noexcept {
  const Micros interval = txInterval();
  if (interval != tx_interval_) {
    tx_interval_ = interval;
    // §6.8.7 bounds the gap between packets: measure the new interval from
    // the last periodic packet. A faster rate may make the next one due now.
    if (sent_periodic_) next_tx_ = addSaturating(last_periodic_tx_, jittered(interval));
  }
  if (detection_deadline_ != kNever) {
    detection_deadline_ = addSaturating(last_rx_, detectionTime());
  }
}

Micros Session::jittered(Micros interval) noexcept {
  // §6.8.7: each interval is reduced by a random 0-25%; with DetectMult 1 it
  // must also be at most 90%, so the range becomes 75-90%.
  const Micros lo = interval - interval / 4;                   // >= 75%
  Micros hi = adv_mult_ == 1 ? interval - (interval + 9) / 10  // <= 90%
                             : interval;
  if (hi < lo) hi = lo;  // only for intervals of a few µs
  return prng_.between(lo, hi);
}

void Session::forgetRemote() noexcept {
  // §6.8.1: bfd.RemoteDiscr is zeroed after a detection time without a valid
  // packet. The peer's other values go back to their initial ones too, so a
  // RemoteMinRx of 0 from a dead peer cannot silence us for good.
  remote_disc_ = 0;
  remote_state_ = State::kDown;
  remote_demand_ = false;
  remote_min_rx_ = 1;
  remote_desired_tx_ = 0;
  remote_echo_rx_ = 0;
  remote_mult_ = 0;
  detection_deadline_ = kNever;
}

Change Session::tick(Micros now) noexcept {
  const Snapshot before = snapshot();
  if (detection_deadline_ == kNever || now < detection_deadline_) return {};
  ++counters_.detection_expiries;
  forgetRemote();
  retime();
  if (state_ == State::kInit || state_ == State::kUp) {
    // A silent peer after its AdminDown (Down, held) is no failure; a peer
    // that came back to Init and then went silent is.
    peer_admin_down_ = false;
    setState(State::kDown, Diag::kControlDetectionTimeExpired, now);
  }
  return changeSince(before);
}

ControlPacket Session::buildPacket(Micros now) noexcept {
  ControlPacket p;
  p.version = kVersion;
  p.diag = local_diag_;
  p.state = state_;
  p.detect_mult = adv_mult_;
  p.my_disc = local_disc_;
  p.your_disc = remote_disc_;
  p.desired_min_tx_us = wire32(adv_tx_);
  p.required_min_rx_us = wire32(adv_rx_);
  p.required_min_echo_rx_us = 0;  // no Echo function (§6.4)
  const bool periodic_due = periodicTxEnabled() && now >= next_tx_;
  if (final_owed_) {
    // §6.5: P and F never together. The Final doubles as the periodic
    // packet only when no Poll Sequence needs that packet's P bit.
    p.final = true;
    final_owed_ = false;
    ++counters_.tx_finals;
    if (periodic_due && !poll_active_) {
      last_periodic_tx_ = now;
      sent_periodic_ = true;
      next_tx_ = addSaturating(now, jittered(tx_interval_));
    }
  } else {
    p.poll = poll_active_;
    if (poll_active_) poll_sent_ = true;
    last_periodic_tx_ = now;
    sent_periodic_ = true;
    next_tx_ = addSaturating(now, jittered(tx_interval_));
  }
  fillAuth(p);
  ++counters_.tx_packets;
  return p;
}

Change Session::setAdminDown(bool admin_down, Micros now) noexcept {
  const Snapshot before = snapshot();
  if (admin_down == (state_ == State::kAdminDown)) return {};
  if (admin_down) {
    // §6.8.16; detection stops: nothing received counts while AdminDown.
    setState(State::kAdminDown, Diag::kAdministrativelyDown, now);
    detection_deadline_ = kNever;
  } else {
    // A hold taken while AdminDown applies now (holdDown).
    setState(State::kDown, held_diag_, now);
    // A peer heard while we were AdminDown is timed out from now on.
    if (remote_disc_ != 0) {
      last_rx_ = now;
      detection_deadline_ = addSaturating(now, detectionTime());
    }
  }
  return changeSince(before);
}

Change Session::holdDown(bool held, Diag diag, Micros now) noexcept {
  const Snapshot before = snapshot();
  if (!held) {
    // Released: Down (diag kept: it says why the session last went down);
    // the peer's next Down or Init packet starts the handshake.
    held_diag_ = Diag::kNone;
    return changeSince(before);
  }
  if (diag == Diag::kNone) diag = Diag::kPathDown;  // a hold must say why
  held_diag_ = diag;
  if (state_ == State::kAdminDown) return {};
  peer_admin_down_ = false;  // no longer usable on the peer's word either
  if (state_ != State::kDown) {
    setState(State::kDown, diag, now);
  } else if (local_diag_ != diag) {
    // Already Down: only the reason changes; tell the peer at once.
    local_diag_ = diag;
    next_tx_ = now;
  }
  return changeSince(before);
}

bool Session::setTimers(Micros desired_min_tx_us, Micros required_min_rx_us, uint8_t detect_mult,
                        [[maybe_unused]] Micros now) noexcept {
  SessionConfig probe;
  probe.desired_min_tx_us = desired_min_tx_us;
  probe.required_min_rx_us = required_min_rx_us;
  probe.detect_mult = detect_mult;
  if (validate(probe) != nullptr) return false;
  cfg_tx_ = desired_min_tx_us;
  cfg_rx_ = required_min_rx_us;
  if (detect_mult != adv_mult_) {
    adv_mult_ = detect_mult;
    // frr#10120: a Detect Mult change is a parameter change too (§6.8.3
    // lists intervals, but the peer's detection time depends on it), so it
    // is announced with a Poll while Up. It needs no deferral: it changes
    // only the peer's patience, not our packet rate.
    if (state_ == State::kUp) {
      if (!poll_active_) ++counters_.polls_started;
      poll_active_ = true;
      poll_sent_ = false;
    }
  }
  updateAdvertised();
  return true;
}

SessionStatus Session::status() const noexcept {
  SessionStatus s;
  s.state = state_;
  s.remote_state = remote_state_;
  s.forwarding_usable = forwardingUsable();
  s.peer_admin_down = peer_admin_down_;
  s.local_disc = local_disc_;
  s.remote_disc = remote_disc_;
  s.local_diag = local_diag_;
  s.remote_diag = remote_diag_;
  s.tx_interval_us = txInterval();
  s.periodic_tx = periodicTxEnabled();
  s.detection_time_us = detectionTime();
  s.transitions = transitions_;
  s.last_change_us = last_change_;
  s.last_rx_us = counters_.rx_accepted == 0 ? 0 : last_rx_;
  s.poll_active = poll_active_;
  s.remote_demand = remote_demand_;
  s.desired_min_tx_us = adv_tx_;
  s.required_min_rx_us = adv_rx_;
  s.detect_mult = adv_mult_;
  s.remote_desired_min_tx_us = remote_desired_tx_;
  s.remote_required_min_rx_us = remote_min_rx_;
  s.remote_required_min_echo_rx_us = remote_echo_rx_;
  s.remote_detect_mult = remote_mult_;
  s.auth_type = auth_type_;
  if (auth_type_ != AuthType::kNone) {
    s.auth_key_id = keys_[0].id;
    for (uint8_t k = 1; k < key_count_; ++k) s.accept_key_ids[k - 1] = keys_[k].id;
    s.accept_key_count = static_cast<uint8_t>(key_count_ - 1);
    s.peer_key_id = peer_key_id_;
  }
  s.counters = counters_;
  return s;
}

SessionState Session::saveState() const noexcept {
  SessionState s;
  s.local_disc = local_disc_;
  s.state = state_;
  s.local_diag = local_diag_;
  s.remote_disc = remote_disc_;
  s.remote_state = remote_state_;
  s.remote_diag = remote_diag_;
  s.remote_demand = remote_demand_;
  s.remote_min_rx = remote_min_rx_;
  s.remote_desired_tx = remote_desired_tx_;
  s.remote_echo_rx = remote_echo_rx_;
  s.remote_mult = remote_mult_;
  s.adv_tx = adv_tx_;
  s.adv_rx = adv_rx_;
  s.adv_mult = adv_mult_;
  s.eff_tx = eff_tx_;
  s.eff_rx = eff_rx_;
  s.poll_active = poll_active_;
  s.poll_sent = poll_sent_;
  s.final_owed = final_owed_;
  s.tx_interval = tx_interval_;
  s.next_tx = next_tx_;
  s.last_periodic_tx = last_periodic_tx_;
  s.sent_periodic = sent_periodic_;
  s.last_rx = last_rx_;
  s.detection_deadline = detection_deadline_;
  s.xmit_auth_seq = xmit_auth_seq_;
  s.rcv_auth_seq = rcv_auth_seq_;
  s.auth_seq_known = auth_seq_known_;
  s.auth_seq_expiry = auth_seq_expiry_;
  s.peer_admin_down = peer_admin_down_;
  s.transitions = transitions_;
  s.last_change = last_change_;
  s.counters = counters_;
  return s;
}

void Session::restoreState(const SessionState& s) noexcept {
  local_disc_ = s.local_disc;
  state_ = s.state;
  local_diag_ = s.local_diag;
  remote_disc_ = s.remote_disc;
  remote_state_ = s.remote_state;
  remote_diag_ = s.remote_diag;
  remote_demand_ = s.remote_demand;
  remote_min_rx_ = s.remote_min_rx;
  remote_desired_tx_ = s.remote_desired_tx;
  remote_echo_rx_ = s.remote_echo_rx;
  remote_mult_ = s.remote_mult;
  adv_tx_ = s.adv_tx;
  adv_rx_ = s.adv_rx;
  adv_mult_ = s.adv_mult;
  eff_tx_ = s.eff_tx;
  eff_rx_ = s.eff_rx;
  poll_active_ = s.poll_active;
  poll_sent_ = s.poll_sent;
  final_owed_ = s.final_owed;
  tx_interval_ = s.tx_interval;
  next_tx_ = s.next_tx;
  last_periodic_tx_ = s.last_periodic_tx;
  sent_periodic_ = s.sent_periodic;
  last_rx_ = s.last_rx;
  detection_deadline_ = s.detection_deadline;
  xmit_auth_seq_ = s.xmit_auth_seq;
  rcv_auth_seq_ = s.rcv_auth_seq;
  auth_seq_known_ = s.auth_seq_known;
  auth_seq_expiry_ = s.auth_seq_expiry;
  peer_admin_down_ = s.peer_admin_down;
  transitions_ = s.transitions;
  last_change_ = s.last_change;
  counters_ = s.counters;
}

}  // namespace ferry::bfd
