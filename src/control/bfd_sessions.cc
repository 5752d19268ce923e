#include "ferry/control/bfd_sessions.h"

#include <algorithm>
#include <charconv>

#include "ferry/control/log.h"

namespace ferry {

bool gateClosed(const std::vector<uint16_t>& depends_on, const std::vector<uint8_t>& liveness) noexcept {
  if (depends_on.empty()) return false;
  for (const uint16_t i : depends_on)
    if (i < liveness.size() && liveness[i] != 0) return false;
  return true;
}

bfd::Micros slowestDetection(const bfd::Session& session, bfd::Micros interval_us) noexcept {
  const bfd::Micros configured = bfd::Micros(session.detectMult()) * interval_us;
  const bfd::Micros theirs = bfd::Micros(session.detectMult()) * session.txInterval();
  return std::max({configured, theirs, session.detectionTime()});
}

std::vector<uint16_t> bfdInterfaces(const Config& config) {
  std::vector<uint16_t> out;
  for (size_t i = 0; i < config.interfaces.size(); ++i)
    if (config.interfaces[i].bfd && config.interfaces[i].peer) out.push_back(static_cast<uint16_t>(i));
  return out;
}

namespace {

bfd::SessionConfig sessionConfig(const BfdConfig& c) {
  bfd::SessionConfig s;
  s.desired_min_tx_us = bfd::Micros(c.interval_ms) * 1000;
  s.required_min_rx_us = bfd::Micros(c.interval_ms) * 1000;
  s.detect_mult = c.detect_mult;
  s.admin_down = c.admin_down;
  s.auth.type = c.auth.type;
  s.auth.key_id = c.auth.key_id;
  s.auth.secret = c.auth.secret;
  s.auth.accept = c.auth.accept;
  return s;
}

}  // namespace

BfdSessions::BfdSessions(const Config& config, Transmit& transmit, uint64_t seed)
    : config_(config),
      transmit_(transmit),
      session_of_interface_(config.interfaces.size(), -1),
      discriminators_(seed),
      liveness_(config.interfaces.size(), 1) {
  uint64_t session_seed = seed ^ 0x9e3779b97f4a7c15ull;
  for (const uint16_t i : bfdInterfaces(config)) {
    const auto& ic = config.interfaces[i];
    Entry e;
    e.interface = i;
    e.name = ic.name;
    e.peer = *ic.peer;
    e.mode = ic.bfd->mode;
    e.interval_us = bfd::Micros(ic.bfd->interval_ms) * 1000;
    e.hold.setHold(bfd::Micros(ic.bfd->hold_up_ms) * 1000);
    e.depends_on = ic.bfd->depends_on_index;
    const auto index = static_cast<uint32_t>(sessions_.size());
    const uint32_t disc = discriminators_.allocate(index);
    session_seed = session_seed * 6364136223846793005ull + 1442695040888963407ull;
    e.session = std::make_unique<bfd::Session>(sessionConfig(*ic.bfd), disc, session_seed);
    session_of_interface_[i] = int(index);
    // Until a session says otherwise, an interface with BFD is not usable.
    liveness_[i] = 0;
    sessions_.push_back(std::move(e));
  }
}

bool BfdSessions::applyAuthKeys() {
  bool all = true;
  for (Entry& e : sessions_)
    all &= e.session->setAuthKeys(sessionConfig(*config_.interfaces[e.interface].bfd).auth);
  return all;
}

void BfdSessions::start(bfd::Micros now) noexcept {
  applyGates(now);  // every session starts Down: gated ones are held from the start
  for (uint32_t i = 0; i < sessions_.size(); ++i) reschedule(i);
  service(now);
}

takeover::BfdState BfdSessions::save() const {
  takeover::BfdState state;
  for (const auto& e : sessions_) {
    takeover::SessionRecord r;
    r.interface = e.name;
    r.mode = uint8_t(e.mode);
    r.session = e.session->saveState();
    r.hold = e.hold.save();
    r.link_usable = liveness_[e.interface] != 0;
    r.rx_frames = e.rx_frames;
    r.tx_errors = e.tx_errors;
    r.expiries_deferred = e.expiries_deferred;
    state.sessions.push_back(std::move(r));
  }
  return state;
}

size_t BfdSessions::restore(const takeover::BfdState& state, bfd::Micros now) {
  // Which record each session takes over (nullptr: none, it starts afresh).
  std::vector<const takeover::SessionRecord*> from(sessions_.size(), nullptr);
  for (uint32_t i = 0; i < sessions_.size(); ++i)
    for (const auto& r : state.sessions)
      if (r.interface == sessions_[i].name && r.mode == uint8_t(sessions_[i].mode)) from[i] = &r;
  // The carried discriminators first, then fresh ones for new sessions, so
  // that no random pick can take a carried value.
  for (const auto& e : sessions_) discriminators_.release(e.session->localDiscriminator());
  for (uint32_t i = 0; i < sessions_.size(); ++i)
    if (from[i] && !discriminators_.insert(from[i]->session.local_disc, i)) from[i] = nullptr;
  size_t taken = 0;
  uint64_t seed = now ^ 0x5bd1e995u;
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    const BfdConfig& cfg = *config_.interfaces[e.interface].bfd;
    if (!from[i]) {
      const uint32_t disc = discriminators_.allocate(i);
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      e.session = std::make_unique<bfd::Session>(sessionConfig(cfg), disc, seed);
      continue;
    }
    const takeover::SessionRecord& r = *from[i];
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    e.session = std::make_unique<bfd::Session>(sessionConfig(cfg), r.session.local_disc, seed);
    e.session->restoreState(r.session);
    // The configured timers: a change is a Poll Sequence while Up (§6.8.3).
    e.session->setTimers(e.interval_us, e.interval_us, cfg.detect_mult, now);
    if (cfg.admin_down != (r.session.state == bfd::State::kAdminDown))
      e.session->setAdminDown(cfg.admin_down, now);
    e.hold.restore(r.hold);
    e.rx_frames = r.rx_frames;
    e.tx_errors = r.tx_errors;
    e.expiries_deferred = r.expiries_deferred;
    liveness_[e.interface] = r.link_usable ? 1 : 0;
    ++taken;
    if (e.session->pollActive())
      log::info("bfd " + e.name + ": taken over; timers changed, Poll Sequence started");
  }
  for (uint32_t i = 0; i < sessions_.size(); ++i) refreshLiveness(i, now);
  ++liveness_version_;
  applyGates(now);  // holds are this process's own, decided from the liveness taken over
  for (uint32_t i = 0; i < sessions_.size(); ++i) reschedule(i);
  service(now);
  return taken;
}

void BfdSessions::onFrame(const BfdFrame& frame, bfd::Micros now) noexcept {
  std::optional<uint32_t> hint;
  if (frame.interface < session_of_interface_.size() && session_of_interface_[frame.interface] >= 0)
    hint = uint32_t(session_of_interface_[frame.interface]);
  if (hint) ++sessions_[*hint].rx_frames;
  deliver(hint, std::span<const uint8_t>(frame.bytes, frame.length), now);
}

void BfdSessions::onDatagram(uint32_t session, std::span<const uint8_t> datagram, bfd::Micros now) noexcept {
  if (session >= sessions_.size()) return;
  ++sessions_[session].rx_frames;
  deliver(session, datagram, now);
}

void BfdSessions::deliver(std::optional<uint32_t> hint, std::span<const uint8_t> wire,
                          bfd::Micros now) noexcept {
  bfd::ControlPacket packet;
  const bfd::DecodeResult r = bfd::decode(wire, packet);
  if (r != bfd::DecodeResult::kOk) {
    ++counters_.decode_errors[size_t(r) & 15];
    return;
  }
  const bfd::Selection sel = bfd::select(packet, discriminators_, hint);
  if (!sel.session) {
    if (sel.discard == bfd::RxDiscard::kUnknownDiscriminator) ++counters_.unknown_discriminator;
    else ++counters_.no_session_for_peer;
    return;
  }
  const uint32_t index = *sel.session;
  const bfd::RxResult result = sessions_[index].session->onPacket(packet, now, wire);
  if (sessions_[index].session->detectionDeadline() > now) sessions_[index].deferred_since = bfd::kNever;
  if (result.state_changed) {
    const auto& s = *sessions_[index].session;
    log::info("bfd " + sessions_[index].name + ": " + bfd::toString(s.state()) + " (diag " +
              bfd::toString(s.localDiag()) + ", remote " + bfd::toString(s.remoteState()) + ")");
  }
  if (result.liveness_changed) refreshLiveness(index, now);
  if (result.transmit_now) transmit(index, now);
  reschedule(index);
  applyGates(now);
}

void BfdSessions::service(bfd::Micros now) noexcept {
  while (!timers_.empty() && timers_.begin()->first <= now) {
    const uint32_t index = timers_.begin()->second;
    timers_.erase(timers_.begin());
    sessions_[index].queued = bfd::kNever;
    bfd::Session& s = *sessions_[index].session;
    const bfd::Change change = deferExpiry(index, now) ? bfd::Change{} : s.tick(now);
    if (change.state_changed)
      log::info("bfd " + sessions_[index].name + ": " + bfd::toString(s.state()) + " (diag " +
                bfd::toString(s.localDiag()) + ")");
    if (change.liveness_changed || sessions_[index].hold.deadline() <= now) refreshLiveness(index, now);
    transmit(index, now);
    reschedule(index);
    applyGates(now);
  }
}

void BfdSessions::applyGates(bfd::Micros now) noexcept {
  if (draining_) return;  // every session is held with diag 4 until the end
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    const bool closed = gateClosed(e.depends_on, liveness_);
    if (closed == e.gated) continue;
    e.gated = closed;
    if (closed) ++e.gate_holds;
    const bfd::Change change = e.session->holdDown(closed, bfd::Diag::kConcatenatedPathDown, now);
    std::string deps;
    for (const uint16_t d : e.depends_on) deps += (deps.empty() ? "" : ", ") + config_.interfaces[d].name;
    if (closed)
      log::warn("bfd " + e.name + ": held Down (diag concatenated_path_down): every interface it depends on (" +
                deps + ") is down");
    else
      log::info("bfd " + e.name + ": released (an interface it depends on is up: " + deps + ")");
    if (change.liveness_changed) refreshLiveness(i, now);
    transmit(i, now);
    reschedule(i);
  }
}

bool BfdSessions::canForward() const noexcept {
  bool any_gated_session = false;
  for (const auto& e : sessions_) {
    if (e.depends_on.empty()) continue;
    any_gated_session = true;
    if (!e.gated) return true;
  }
  return !any_gated_session;
}

bfd::Micros BfdSessions::beginDrain(bfd::Micros now) noexcept {
  bfd::Micros slowest = 0;
  // Only peers that see us Up send traffic our way and have it to move; a
  // session not Up needs no drain (its 1 s slow rate would make it 6 s).
  for (const auto& e : sessions_)
    if (e.session->state() == bfd::State::kUp)
      slowest = std::max(slowest, slowestDetection(*e.session, e.interval_us));
  draining_ = true;
  for (uint32_t i = 0; i < sessions_.size(); ++i) {
    Entry& e = sessions_[i];
    e.session->holdDown(true, bfd::Diag::kForwardingPlaneReset, now);
    log::info("bfd " + e.name + ": Down (diag forwarding_plane_reset): stopping");
    transmit(i, now);
    reschedule(i);
  }
  return slowest;
}

bool BfdSessions::deferExpiry(uint32_t index, bfd::Micros now) {
  constexpr uint64_t kNoTurnOwed = ~0ull;
  Entry& e = sessions_[index];
  const bool due = e.session->detectionDeadline() <= now;
  if (!due || e.mode != BfdMode::kInBand || receive_path_ == nullptr) {
    e.deferred_since = bfd::kNever;
    return false;
  }
  const ReceivePath& path = *receive_path_;
  const bool starting = e.deferred_since == bfd::kNever;
  if (starting) e.turns_owed.assign(path.dataplanes(), kNoTurnOwed);
  bool behind = path.handedOver();
  for (unsigned d = 0; d < e.turns_owed.size(); ++d) {
    const uint64_t turns = path.turns(d);
    // Runnable when the detection time ran out: the turn under way (maybe
    // preempted after it read the peer's packet) must end first. Only at
    // the start, so a dataplane kept busy by traffic delays nothing beyond
    // that one turn.
    if (starting && path.runnable(d)) e.turns_owed[d] = turns;
    // Waiting now: the turn under way may have started before it arrived,
    // so the one after it is the first that surely reads and hands it over.
    if (path.waiting(d, e.interface)) e.turns_owed[d] = turns + 1;
    if (e.turns_owed[d] != kNoTurnOwed && turns <= e.turns_owed[d]) behind = true;
  }
  if (starting) {
    if (!behind) return false;
    e.deferred_since = now;
    ++e.expiries_deferred;
  } else if (!behind || now - e.deferred_since >= kMaxBacklogDeferUs) {
    e.deferred_since = bfd::kNever;
    return false;
  }
  e.recheck_at = now + kBacklogRecheckUs;
  return true;
}

void BfdSessions::transmit(uint32_t index, bfd::Micros now) noexcept {
  Entry& e = sessions_[index];
  // Bounded: a session owes at most a Final and a periodic packet at once.
  for (int n = 0; n < 4 && e.session->transmitDue(now); ++n) {
    uint8_t buf[bfd::kMaxPacketLength];
    const size_t len = e.session->writePacket(now, buf);
    if (len == 0) break;
    if (!transmit_.send(index, std::span<const uint8_t>(buf, len))) {
      ++e.tx_errors;
      ++counters_.tx_errors;
    }
  }
}

void BfdSessions::reschedule(uint32_t index) noexcept {
  Entry& e = sessions_[index];
  bfd::Micros next = e.session->nextDeadline();
  if (e.deferred_since != bfd::kNever && e.session->detectionDeadline() <= next) {
    // The expiry waits (deferExpiry): the next recheck, or what else is due.
    next = e.recheck_at;
    if (e.session->periodicTxEnabled()) next = std::min(next, e.session->nextPeriodicTx());
  }
  next = std::min(next, e.hold.deadline());
  if (next == e.queued) return;
  if (e.queued != bfd::kNever) timers_.erase({e.queued, index});
  e.queued = next;
  if (next != bfd::kNever) timers_.insert({next, index});
}

bfd::Micros BfdSessions::nextDeadline() const noexcept {
  return timers_.empty() ? bfd::kNever : timers_.begin()->first;
}

void BfdSessions::refreshLiveness(uint32_t index, bfd::Micros now) noexcept {
  // Draining: our own Down must not stop the dataplanes forwarding what
  // still arrives while the peers move their traffic away.
  if (draining_) return;
  Entry& e = sessions_[index];
  const bool session_usable = e.session->forwardingUsable();
  const uint64_t damped = e.hold.damped();
  const bool was_held = e.hold.deadline() != bfd::kNever;
  const uint8_t usable = e.hold.update(session_usable, now) ? 1 : 0;
  if (e.hold.damped() != damped)
    log::info("interface " + e.name + ": BFD went down within its " +
              std::to_string(e.hold.hold() / 1000) + " ms up hold-down (flap kept out of forwarding)");
  else if (!was_held && e.hold.deadline() != bfd::kNever)
    log::info("interface " + e.name + ": BFD up, held out of forwarding for " +
              std::to_string(e.hold.hold() / 1000) + " ms");
  if (liveness_[e.interface] != usable) {
    liveness_[e.interface] = usable;
    ++liveness_version_;
    log::info("interface " + e.name + (usable ? " is up (BFD)" : " is down (BFD)"));
  }
}

std::string BfdSessions::set(const std::string& interface, const std::string& key,
                               const std::string& value, bfd::Micros now) {
  const int i = config_.interfaceIndex(interface);
  if (i < 0) return "unknown interface '" + interface + "'";
  const int index = session_of_interface_[size_t(i)];
  if (index < 0) return "interface '" + interface + "' has no BFD session";
  Entry& e = sessions_[size_t(index)];
  bfd::Session& s = *e.session;
  auto number = [&](uint64_t min, uint64_t max, uint64_t& out) -> std::string {
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
    if (ec != std::errc() || ptr != value.data() + value.size() || out < min || out > max)
      return key + ": expected a whole number " + std::to_string(min) + ".." + std::to_string(max) +
             ", got '" + value + "'";
    return {};
  };
  if (key == "interval_ms") {
    uint64_t ms = 0;
    if (auto why = number(1, 4'294'967, ms); !why.empty()) return why;
    if (!s.setTimers(ms * 1000, ms * 1000, s.detectMult(), now)) return "interval refused";
    e.interval_us = ms * 1000;
  } else if (key == "detect_mult") {
    uint64_t m = 0;
    if (auto why = number(1, 255, m); !why.empty()) return why;
    if (!s.setTimers(e.interval_us, e.interval_us, uint8_t(m), now)) return "detect_mult refused";
  } else if (key == "admin_down") {
    if (value != "true" && value != "false") return "admin_down: expected true or false";
    const bfd::Change c = s.setAdminDown(value == "true", now);
    if (c.liveness_changed) refreshLiveness(uint32_t(index), now);
    applyGates(now);
  } else if (key == "hold_up_ms") {
    uint64_t ms = 0;
    if (auto why = number(0, kMaxHoldUpMs, ms); !why.empty()) return why;
    e.hold.setHold(ms * 1000);
    refreshLiveness(uint32_t(index), now);
    applyGates(now);
  } else {
    return "unknown key '" + key + "' (expected interval_ms, detect_mult, admin_down or hold_up_ms)";
  }
  log::info("bfd " + e.name + ": " + key + " set to " + value);
  transmit(uint32_t(index), now);
  reschedule(uint32_t(index));
  return {};
}

}  // namespace ferry
