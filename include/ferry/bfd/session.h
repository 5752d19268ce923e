// One BFD session (RFC 5880), as pure logic: no sockets, no clock, no global
// state. The control thread owns every Session and drives it with three
// inputs, each carrying the current monotonic time in microseconds:
//
//   decoded packet ──► onPacket(packet, now)   state machine (§6.8.6)
//   timer          ──► tick(now)               detection-time expiry (§6.8.4)
//   operator       ──► setAdminDown(), setTimers(), setAuthKeys()
//
// and reads two outputs:
//
//   while (session.transmitDue(now)) send(session.writePacket(now, buf));
//   arm a timer at session.nextDeadline();      // earliest TX or detection expiry
//   session.forwardingUsable()                  // what the dataplane should believe
//
// Typical control-loop iteration:
//
//   for each datagram handed over by a dataplane:
//     if (decode(bytes, pkt) != DecodeResult::kOk) { count(result); continue; }
//     Selection sel = select(pkt, table, session_for_interface);      // demux.h
//     if (!sel.session) { count(sel.discard); continue; }
//     RxResult r = sessions[*sel.session].onPacket(pkt, now, bytes);
//     if (r.liveness_changed) publish a new snapshot;
//   for each session: tick(now); while (transmitDue(now)) send(writePacket(now, buf));
//   sleep until min(nextDeadline()) or the next datagram.
//
// A received Poll is answered by RxResult::transmit_now (transmitDue() turns
// true at once): send it before sleeping, outside the periodic schedule (§6.5).
// A state change also makes the next packet due at once (as FRR does), so the
// peer learns of it in one trip instead of after a slow 1 s interval.
//
// Threading: a Session is not thread-safe; one thread (the control thread)
// calls everything. Methods marked noexcept never allocate.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ferry/bfd/packet.h"
#include "ferry/bfd/random.h"

namespace ferry::bfd {

// Microseconds: monotonic timestamps (CLOCK_MONOTONIC, any epoch) and
// intervals alike. 64-bit everywhere: the largest detection time, 255 ×
// 0xFFFFFFFF µs, is about 12.7 days and needs 41 bits.
using Micros = uint64_t;
inline constexpr Micros kNever = UINT64_MAX;
// §6.8.3: DesiredMinTxInterval while the session is not Up.
inline constexpr Micros kSlowTxInterval = 1'000'000;
// Largest interval the 32-bit wire fields carry.
inline constexpr Micros kMaxInterval = 0xffffffff;

// Authentication for a session (§6.7). type kNone: no auth section is sent
// and packets carrying one are discarded.
struct AuthConfig {
  AuthType type = AuthType::kNone;
  uint8_t key_id = 0;
  // Simple Password: the password, 1-16 bytes (§4.2). Keyed MD5: a key of
  // 1-16 bytes; Keyed SHA1: 1-20 bytes (§4.3, §4.4; shorter keys are padded
  // with zeros to the digest length).
  std::string secret;
  // Key rollover (§6.7: the Key ID "allows multiple keys to be active
  // simultaneously"): packets under these keys are accepted too; only
  // key_id/secret is sent. Distinct key ids other than key_id, of the same
  // type, at most kMaxAcceptKeys. The auth sequence numbers are the
  // session's, whichever key a packet carries.
  std::vector<AuthKey> accept;
};

struct SessionConfig {
  // bfd.DesiredMinTxInterval once Up (raised to 1 s while not Up, §6.8.3),
  // and bfd.RequiredMinRxInterval. 1 .. 0xFFFFFFFF µs.
  Micros desired_min_tx_us = kSlowTxInterval;
  Micros required_min_rx_us = kSlowTxInterval;
  uint8_t detect_mult = 3;  // bfd.DetectMult, 1..255
  bool admin_down = false;  // start in AdminDown (§6.8.16)
  // §6.1 Passive role: send nothing until the peer's first packet tells us
  // its discriminator (and again after a detection time of silence).
  bool passive = false;
  AuthConfig auth;
};

// nullptr when `config` is usable, else what is wrong ("detect_mult must be
// 1..255"). The Session constructor and setAuthKeys() check with it; the
// config parser makes the same checks itself, to place each error on its
// YAML item (config.cc parseBfd, parseBfdAuth).
const char* validate(const SessionConfig& config) noexcept;
// The same for the authentication part alone.
const char* validate(const AuthConfig& auth) noexcept;

// Why a decoded packet was discarded at session level (§6.8.6, §6.3, §6.7),
// or kNone. kUnknownDiscriminator and kNoSessionForPeer come from demux
// (demux.h), the others from Session::onPacket.
enum class RxDiscard : uint8_t {
  kNone = 0,
  kUnknownDiscriminator,       // Your Discriminator != 0 and no session has it (§6.3)
  kNoSessionForPeer,           // Your Discriminator = 0 and no session for the sender
  kYourDiscriminatorMismatch,  // Your Discriminator != 0 and not this session's
  kAuthBitMismatch,            // A bit set without auth configured, or clear with it
  kAuthTypeMismatch,           // Auth Type differs from the configured type
  kAuthKeyIdMismatch,          // Auth Key ID is none of the keys we hold (sent or accepted)
  kAuthFailed,                 // wrong password or digest (or no wire bytes to check)
  kAuthSequence,               // sequence number outside the §6.7.3/§6.7.4 window
  kLocalAdminDown,             // we are AdminDown: "discard the packet" (§6.8.6)
};
inline constexpr size_t kRxDiscardCount = 10;
const char* toString(RxDiscard discard) noexcept;  // snake_case: "unknown_discriminator"

// What onPacket() did.
struct RxResult {
  RxDiscard discard = RxDiscard::kNone;
  // A Final is owed (the packet had P set): transmitDue() is now true; send
  // before waiting on anything else (§6.5 "as soon as practicable").
  bool transmit_now = false;
  bool state_changed = false;
  bool liveness_changed = false;  // forwardingUsable() flipped: publish a snapshot

  bool accepted() const noexcept { return discard == RxDiscard::kNone; }
};

// What tick(), setAdminDown() and setTimers() changed.
struct Change {
  bool state_changed = false;
  bool liveness_changed = false;
};

struct SessionCounters {
  uint64_t rx_accepted = 0;
  uint64_t tx_packets = 0;  // every packet built, Finals included
  uint64_t tx_finals = 0;   // answers to a received Poll
  uint64_t polls_started = 0;
  uint64_t polls_completed = 0;
  uint64_t detection_expiries = 0;
  std::array<uint64_t, kRxDiscardCount> rx_discarded{};  // indexed by RxDiscard

  uint64_t discarded(RxDiscard why) const noexcept {
    return rx_discarded[static_cast<size_t>(why)];
  }
  friend bool operator==(const SessionCounters&, const SessionCounters&) = default;
};

// Everything `ferryctl show bfd` prints for one session. Intervals in µs.
struct SessionStatus {
  State state = State::kDown;
  State remote_state = State::kDown;
  bool forwarding_usable = false;
  bool peer_admin_down = false;  // Down because the peer said AdminDown (no failover)
  uint32_t local_disc = 0;
  uint32_t remote_disc = 0;  // 0 until the peer is heard, and after a detection time of silence
  Diag local_diag = Diag::kNone;
  Diag remote_diag = Diag::kNone;
  Micros tx_interval_us = 0;     // negotiated periodic interval, before jitter (§6.8.2)
  bool periodic_tx = false;      // false: passive and unheard, RemoteMinRx 0, or peer in demand
  Micros detection_time_us = 0;  // 0 until a packet has been received (§6.8.4)
  uint64_t transitions = 0;
  Micros last_change_us = 0;  // `now` of the last state change (0: never changed)
  // `now` of the last packet accepted (0: none): the detection time counts from it.
  Micros last_rx_us = 0;
  bool poll_active = false;
  bool remote_demand = false;
  // What we advertise (bfd.DesiredMinTxInterval etc.) and what the peer does.
  Micros desired_min_tx_us = 0;
  Micros required_min_rx_us = 0;
  uint8_t detect_mult = 0;
  Micros remote_desired_min_tx_us = 0;
  Micros remote_required_min_rx_us = 0;
  Micros remote_required_min_echo_rx_us = 0;
  uint8_t remote_detect_mult = 0;
  AuthType auth_type = AuthType::kNone;
  // With authentication: the key id sent, the ones also accepted, and the
  // key id of the last packet accepted (-1: none yet). Never a secret.
  uint8_t auth_key_id = 0;
  std::array<uint8_t, kMaxAcceptKeys> accept_key_ids{};
  uint8_t accept_key_count = 0;
  int peer_key_id = -1;
  SessionCounters counters;
};

// The whole dynamic state of a Session (everything but its configuration
// and its PRNG), for handing a running session to another process at a
// takeover (takeover_state.h serializes it). Times are CLOCK_MONOTONIC µs,
// which is one clock for every process of the host, so deadlines carry over
// as they are.
struct SessionState {
  uint32_t local_disc = 0;
  State state = State::kDown;
  Diag local_diag = Diag::kNone;
  uint32_t remote_disc = 0;
  State remote_state = State::kDown;
  Diag remote_diag = Diag::kNone;
  bool remote_demand = false;
  Micros remote_min_rx = 1;
  Micros remote_desired_tx = 0;
  Micros remote_echo_rx = 0;
  uint8_t remote_mult = 0;
  Micros adv_tx = kSlowTxInterval;
  Micros adv_rx = 0;
  uint8_t adv_mult = 0;
  Micros eff_tx = kSlowTxInterval;
  Micros eff_rx = 0;
  bool poll_active = false;
  bool poll_sent = false;
  bool final_owed = false;
  Micros tx_interval = 0;
  Micros next_tx = 0;
  Micros last_periodic_tx = 0;
  bool sent_periodic = false;
  Micros last_rx = 0;
  Micros detection_deadline = kNever;
  uint32_t xmit_auth_seq = 0;
  uint32_t rcv_auth_seq = 0;
  bool auth_seq_known = false;
  Micros auth_seq_expiry = 0;
  bool peer_admin_down = false;
  uint64_t transitions = 0;
  Micros last_change = 0;
  SessionCounters counters;
  // Not carried by the takeover format: the new process decides its own
  // holds (gating is recomputed from liveness, a stop is never handed over).
  friend bool operator==(const SessionState&, const SessionState&) = default;
};

class Session {
 public:
  // `config` must pass validate() (throws std::invalid_argument otherwise:
  // setup code). `local_disc` is bfd.LocalDiscr, non-zero and unique among
  // this system's sessions (DiscriminatorTable::allocate). `seed` seeds the
  // jitter and auth-sequence PRNG.
  Session(const SessionConfig& config, uint32_t local_disc, uint64_t seed);
  // Wipes the keys (OPENSSL_cleanse) before the memory is freed.
  ~Session();
  Session(const Session&) = default;
  Session& operator=(const Session&) = default;

  // A packet that decode() accepted and demux selected for this session.
  // `wire` is the exact datagram it was decoded from; it is needed only to
  // verify MD5/SHA1 digests and may be empty when no auth is configured.
  RxResult onPacket(const ControlPacket& packet, Micros now,
                    std::span<const uint8_t> wire = {}) noexcept;

  // Expires the detection timer when now >= its deadline (§6.8.4): Init/Up go
  // Down with diag 1, and the peer's discriminator is forgotten (§6.8.1).
  Change tick(Micros now) noexcept;

  // Earliest time something is due: the next periodic TX or the detection
  // expiry; 0 (already due) while a Final is owed; kNever when nothing is.
  Micros nextDeadline() const noexcept;

  // True when a packet should be sent now: a Final is owed, or the periodic
  // transmission is enabled (§6.8.7) and its jittered time has come.
  bool transmitDue(Micros now) const noexcept;

  // The next packet to send, with P/F set properly (an owed Final goes out
  // with F and without P; otherwise P while our Poll Sequence runs). Call it
  // while transmitDue(now): a periodic packet schedules the next one with
  // jitter; a Final leaves the schedule alone unless it can double as the
  // due periodic packet (no Poll of ours needs the P bit). Does not compute
  // an auth digest: with MD5/SHA1 auth use writePacket(); call exactly one of
  // the two per packet sent.
  ControlPacket buildPacket(Micros now) noexcept;

  // buildPacket() + encode() + the auth section's password or digest
  // (MD5/SHA1 over the whole packet with the key in the digest field, §6.7.3,
  // §6.7.4, computed by libcrypto). Returns the byte count; 0 (send nothing)
  // if `out` is shorter than kMaxPacketLength or libcrypto fails. With digest
  // auth OpenSSL may allocate internally; without auth nothing allocates.
  size_t writePacket(Micros now, std::span<uint8_t> out) noexcept;

  // Enters or leaves AdminDown (§6.8.16). Entering: state AdminDown, diag 7,
  // AdminDown packets keep going out at the slow rate, received packets are
  // discarded. Leaving: state Down, diag 0.
  Change setAdminDown(bool admin_down, Micros now) noexcept;

  // Changes bfd.DesiredMinTxInterval, bfd.RequiredMinRxInterval and
  // bfd.DetectMult (§6.8.3). While Up, a change starts a Poll Sequence; a
  // slower TX or a faster RX takes effect only when the Final arrives, the
  // opposite changes at once. Returns false (and changes nothing) for values
  // validate() would refuse.
  bool setTimers(Micros desired_min_tx_us, Micros required_min_rx_us, uint8_t detect_mult,
                 Micros now) noexcept;

  // Key rollover: replaces the key sent and the keys accepted (§6.7), with
  // nothing else touched: the state, the timers and the auth sequence
  // numbers stay, so a peer that accepts the new key sees no change. Returns
  // false (and changes nothing) for another auth type than the session's or
  // keys validate() would refuse.
  bool setAuthKeys(const AuthConfig& auth) noexcept;

  // Holds the session Down with diagnostic `diag` (held = true), or lets it
  // follow the state machine again (held = false). For what the local system
  // knows and the peer cannot see: its forwarding plane is going away (diag 4
  // Forwarding Plane Reset, a graceful stop) or every path behind it is down
  // (diag 6 Concatenated Path Down, health gating). Not AdminDown: RFC 5882
  // §3.2 says a peer must not fail over on AdminDown, and the point here is
  // that it does. While held, received packets are accepted (the peer's
  // discriminator and timers are learnt, its silence still detected) but the
  // state stays Down, so the peer sees Down and never reaches Up. Holding
  // again with another diag only changes the diag. Released, the session is
  // Down and comes up by the usual three-way handshake. While AdminDown the
  // hold is remembered and takes effect when AdminDown ends.
  Change holdDown(bool held, Diag diag, Micros now) noexcept;
  bool heldDown() const noexcept { return held_diag_ != Diag::kNone; }

  // Whether the dataplane may send through this neighbour: Up, or Down/Init
  // only because the peer announced AdminDown while we were Up (RFC 5882
  // §3.2: a peer's administrative shutdown is not a failure, so no failover;
  // FRR topotest bfd_admin_down_no_impact). That hold ends when the session
  // comes Up again, when a detection time expires while Init, or when we go
  // AdminDown ourselves. Locally AdminDown is not usable: the operator shut
  // this session (remove its bfd block to forward without BFD).
  bool forwardingUsable() const noexcept;

  State state() const noexcept { return state_; }
  State remoteState() const noexcept { return remote_state_; }
  Diag localDiag() const noexcept { return local_diag_; }
  Diag remoteDiag() const noexcept { return remote_diag_; }
  uint32_t localDiscriminator() const noexcept { return local_disc_; }
  uint32_t remoteDiscriminator() const noexcept { return remote_disc_; }
  bool peerAdminDown() const noexcept { return peer_admin_down_; }
  bool pollActive() const noexcept { return poll_active_; }
  bool remoteDemandActive() const noexcept;
  bool periodicTxEnabled() const noexcept;
  // §6.8.2: max(DesiredMinTxInterval in force, RemoteMinRxInterval), before jitter.
  Micros txInterval() const noexcept;
  // §6.8.4: remote Detect Mult × max(RequiredMinRxInterval in force, remote
  // Desired Min TX); 0 before the first packet.
  Micros detectionTime() const noexcept;
  Micros detectionDeadline() const noexcept { return detection_deadline_; }
  Micros nextPeriodicTx() const noexcept { return next_tx_; }
  // The values we advertise (bfd.DesiredMinTxInterval is 1 s while not Up).
  Micros advertisedDesiredMinTx() const noexcept { return adv_tx_; }
  Micros advertisedRequiredMinRx() const noexcept { return adv_rx_; }
  uint8_t detectMult() const noexcept { return adv_mult_; }
  uint64_t transitions() const noexcept { return transitions_; }
  Micros lastChange() const noexcept { return last_change_; }
  const SessionCounters& counters() const noexcept { return counters_; }
  SessionStatus status() const noexcept;

  // Takeover: the state to hand over, and taking it on. restoreState() keeps
  // this session's own configuration (intervals, auth) and takes everything
  // else, including the local discriminator and the auth sequence numbers;
  // then a setTimers() with the configured values starts a Poll Sequence if
  // they differ from what the old process advertised (no flap).
  SessionState saveState() const noexcept;
  void restoreState(const SessionState& state) noexcept;

 private:
  struct Snapshot {
    State state;
    bool usable;
  };
  Snapshot snapshot() const noexcept { return {state_, forwardingUsable()}; }
  Change changeSince(Snapshot before) const noexcept;

  RxDiscard authenticate(const ControlPacket& packet, std::span<const uint8_t> wire,
                         Micros now) noexcept;
  void fillAuth(ControlPacket& packet) noexcept;
  void setState(State next, Diag diag, Micros now) noexcept;
  void applyStateMachine(State received, Micros now) noexcept;
  void updateAdvertised() noexcept;
  void onFinal() noexcept;
  void retime() noexcept;
  void forgetRemote() noexcept;
  Micros jittered(Micros interval) noexcept;
  void countDiscard(RxDiscard why) noexcept;

  // Configuration.
  Micros cfg_tx_;
  Micros cfg_rx_;
  bool passive_;
  AuthType auth_type_;
  struct Key {
    uint8_t id = 0;
    uint8_t length = 0;
    std::array<uint8_t, kSha1DigestLength> secret{};  // zero padded
  };
  // keys_[0] is sent; keys_[0..key_count_) are accepted. No allocation, so
  // setAuthKeys() can be noexcept.
  std::array<Key, 1 + kMaxAcceptKeys> keys_{};
  uint8_t key_count_ = 0;
  int peer_key_id_ = -1;  // status only: the key id of the last packet accepted
  void setKeys(const AuthConfig& auth) noexcept;

  // §6.8.1 state variables.
  uint32_t local_disc_;
  State state_ = State::kDown;
  Diag local_diag_ = Diag::kNone;
  uint32_t remote_disc_ = 0;
  State remote_state_ = State::kDown;
  Diag remote_diag_ = Diag::kNone;
  bool remote_demand_ = false;
  Micros remote_min_rx_ = 1;  // bfd.RemoteMinRxInterval: initialised to 1 µs (§6.8.1)
  Micros remote_desired_tx_ = 0;
  Micros remote_echo_rx_ = 0;
  uint8_t remote_mult_ = 0;

  // Advertised values (what packets carry) and the values in force for our
  // own timing; they differ only while a Poll Sequence defers a change.
  Micros adv_tx_ = kSlowTxInterval;
  Micros adv_rx_ = 0;
  uint8_t adv_mult_ = 0;
  Micros eff_tx_ = kSlowTxInterval;
  Micros eff_rx_ = 0;

  // Poll Sequence (§6.5). `poll_sent_`: a P packet carrying the current
  // values has gone out, so a Final now acknowledges them.
  bool poll_active_ = false;
  bool poll_sent_ = false;
  bool final_owed_ = false;

  // Transmit schedule (§6.8.7).
  Micros tx_interval_ = 0;  // interval the schedule was last computed for
  Micros next_tx_ = 0;      // 0: as soon as possible
  Micros last_periodic_tx_ = 0;
  bool sent_periodic_ = false;

  // Reception and detection (§6.8.4).
  Micros last_rx_ = 0;
  Micros detection_deadline_ = kNever;

  // Auth sequence numbers (§6.7.3, §6.7.4).
  uint32_t xmit_auth_seq_ = 0;
  uint32_t rcv_auth_seq_ = 0;
  bool auth_seq_known_ = false;
  Micros auth_seq_expiry_ = 0;  // bfd.AuthSeqKnown lapses 2 detection times after the last packet

  bool peer_admin_down_ = false;
  Diag held_diag_ = Diag::kNone;  // holdDown(): kNone when not held
  uint64_t transitions_ = 0;
  Micros last_change_ = 0;
  SessionCounters counters_;
  Prng prng_;
};

}  // namespace ferry::bfd
