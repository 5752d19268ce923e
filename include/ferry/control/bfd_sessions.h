// BfdSessions: every BFD session of the daemon with its timers, up
// hold-down, health gate and drain, as logic without I/O. Time is an
// argument everywhere (`now`, CLOCK_MONOTONIC µs in the daemon) and packets
// leave through a Transmit the caller provides, so the whole of it runs in
// a test with a fake clock and no sockets. The daemon drives it from
// Control's BFD thread through BfdController, whose BfdTransport owns the
// sockets.
//
// Inputs:  onFrame() / onDatagram()  a received datagram, decoded here;
//          service(now)              timers that are due (nextDeadline());
//          set(), beginDrain()       the operator and a graceful stop.
// Outputs: Transmit::send()          each packet, as soon as it is due;
//          liveness()                per interface: usable for forwarding,
//                                    with livenessVersion() bumped on change;
//          canForward()              whether gated interfaces can forward.
//
// Timers sit in one ordered queue keyed by each session's next deadline.
// Not thread-safe: one thread calls everything (Control serialises under
// its bfd_mu_).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ferry/bfd/demux.h"
#include "ferry/bfd/hold_down.h"
#include "ferry/bfd/packet.h"
#include "ferry/bfd/session.h"
#include "ferry/bfd/takeover_state.h"
#include "ferry/config/config.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/net/address.h"

namespace ferry {

// Health gating (bfd.depends_on): whether a session whose traffic leaves
// through the interfaces `depends_on` must be held Down (diagnostic 6),
// given each interface's liveness (1 = usable): when none of them is usable.
// An empty list never gates.
bool gateClosed(const std::vector<uint16_t>& depends_on,
                const std::vector<uint8_t>& liveness) noexcept;

// The longer of the two detection times of a session: ours of the peer
// (§6.8.4), and the peer's of us (our Detect Mult × our transmit interval,
// which is what it waits before it gives up on us). A session never heard
// from counts with its configured values (`interval_us` × detect mult).
bfd::Micros slowestDetection(const bfd::Session& session, bfd::Micros interval_us) noexcept;

// The interfaces that have a BFD session (`bfd:` and a peer), in session
// order: session i runs on interface bfdInterfaces(config)[i].
std::vector<uint16_t> bfdInterfaces(const Config& config);

class BfdSessions {
 public:
  // Where a session's packets go. The daemon's is BfdTransport (in-band
  // through dataplane 0's socket, or the session's RFC 5881 socket).
  class Transmit {
   public:
    virtual ~Transmit() = default;
    // Sends one encoded control packet of session `session` (an index in
    // session order) to its peer. False when it could not be sent: the
    // session and the `unmatched` counters count a tx error.
    virtual bool send(uint32_t session, std::span<const uint8_t> packet) noexcept = 0;
  };

  // In-band BFD packets reach the sessions only through the dataplanes,
  // ordinary threads pinned to one CPU each: when that CPU is busy (a loaded
  // host) a dataplane can wait hundreds of milliseconds to run while the
  // peer's packets sit unread on its socket or read but not yet handed over,
  // and the real-time BFD thread's detection timer would then measure our own
  // dataplane's lateness, not the peer's silence. So an in-band session's
  // detection expiry waits while its packets may still be on their way to
  // us: a datagram of its interface waits on a dataplane's socket, a
  // dataplane that had one has not completed a loop turn since its socket
  // was read (each turn hands over what it read), a dataplane that was
  // runnable when the detection time ran out has not finished that turn, or
  // a handed-over frame is not drained yet. Rechecked every kBacklogRecheckUs,
  // for at most kMaxBacklogDeferUs; each such wait counts in `show bfd`'s
  // `expiries_deferred`. Without a ReceivePath expiries never wait; RFC 5881
  // sessions never wait.
  class ReceivePath {
   public:
    virtual ~ReceivePath() = default;
    virtual unsigned dataplanes() const noexcept = 0;
    // A datagram of `interface` waits unread on `dataplane`'s socket.
    virtual bool waiting(unsigned dataplane, uint16_t interface) const noexcept = 0;
    // Loop turns `dataplane` has completed.
    virtual uint64_t turns(unsigned dataplane) const noexcept = 0;
    // `dataplane`'s thread is runnable (running, or preempted): not asleep
    // waiting for completions. A turn under way may hold this interface's
    // packets read from the socket but not yet handed over.
    virtual bool runnable(unsigned dataplane) const noexcept = 0;
    // Frames handed over and not yet drained.
    virtual bool handedOver() const noexcept = 0;
  };
  static constexpr bfd::Micros kBacklogRecheckUs = 5'000;
  static constexpr bfd::Micros kMaxBacklogDeferUs = 1'000'000;

  // Why a received packet never reached a session (beyond the sessions' own
  // counters), and sends that failed, for `show bfd`'s `unmatched`.
  struct Counters {
    uint64_t decode_errors[16] = {};  // by bfd::DecodeResult
    uint64_t unknown_discriminator = 0;
    uint64_t no_session_for_peer = 0;
    uint64_t tx_errors = 0;  // Transmit::send() failed
  };

  // One session: what it is configured as, its state and what it counted.
  // Read-only outside BfdSessions (entry()).
  struct Entry {
    uint16_t interface = 0;
    std::string name;
    SockAddr peer;
    BfdMode mode = BfdMode::kInBand;
    bfd::Micros interval_us = 0;  // configured DesiredMinTx = RequiredMinRx (set may change it)
    std::unique_ptr<bfd::Session> session;
    bfd::HoldDown hold;                // bfd.hold_up_ms between the session's up and the link's
    bfd::Micros queued = bfd::kNever;  // its key in the timer queue
    uint64_t tx_errors = 0;
    uint64_t rx_frames = 0;  // datagrams received for it, before decoding
    // A detection expiry waiting for the receive backlog (ReceivePath).
    bfd::Micros deferred_since = bfd::kNever;
    bfd::Micros recheck_at = bfd::kNever;
    // Per dataplane: the turn count it must pass before what it read of this
    // interface has surely been handed over (~0: nothing owed).
    std::vector<uint64_t> turns_owed;
    uint64_t expiries_deferred = 0;
    // bfd.depends_on (interface indices) and whether the gate holds it Down.
    std::vector<uint16_t> depends_on;
    bool gated = false;
    uint64_t gate_holds = 0;  // how often the gate closed
  };

  // A session for every interface with `bfd:` and a peer, Down and not yet
  // scheduled (start() or restore() schedules). `seed` seeds discriminators
  // and jitter (random in the daemon, fixed in tests). `config` and
  // `transmit` must outlive the sessions.
  BfdSessions(const Config& config, Transmit& transmit, uint64_t seed);

  // Schedules every session and sends what is due; sessions whose gate is
  // closed are held from the start.
  void start(bfd::Micros now) noexcept;

  // Takeover: every session's state, for the process that takes over.
  takeover::BfdState save() const;
  // Takes over the sessions of `state` whose interface (by name) and mode
  // are the same here: discriminators, state, timers and auth sequence carry
  // on; configured timers that differ start a Poll Sequence. Then schedules
  // every session and sends what is due (instead of start()). Sessions of
  // interfaces that are new start Down. Returns how many sessions were
  // taken over.
  size_t restore(const takeover::BfdState& state, bfd::Micros now);

  // A datagram a dataplane handed over (in-band): the session of the
  // receiving interface is the one for a packet without Your Discriminator.
  void onFrame(const BfdFrame& frame, bfd::Micros now) noexcept;
  // A datagram from session `session`'s peer (RFC 5881, GTSM already checked).
  void onDatagram(uint32_t session, std::span<const uint8_t> datagram, bfd::Micros now) noexcept;
  // Expires detection timers, ends hold-downs and sends whatever is due.
  void service(bfd::Micros now) noexcept;
  // When service() must run next (bfd::kNever if nothing is scheduled).
  bfd::Micros nextDeadline() const noexcept;

  // Per interface: 1 when usable for forwarding (no BFD, or the session says
  // so and its up hold-down has passed). livenessVersion() increments
  // whenever any entry changes.
  const std::vector<uint8_t>& liveness() const noexcept { return liveness_; }
  uint64_t livenessVersion() const noexcept { return liveness_version_; }

  // Graceful stop: every session is held Down with diagnostic 4 (Forwarding
  // Plane Reset) and told to its peer at once; the interfaces' liveness is
  // frozen as it is, so the dataplanes go on forwarding through the drain
  // whatever the peers answer. Returns the largest slowestDetection() of
  // the sessions that were Up (0 when none was).
  bfd::Micros beginDrain(bfd::Micros now) noexcept;
  bool draining() const noexcept { return draining_; }

  // Whether this host can forward from its gated interfaces: false while
  // every session with a depends_on is held Down by its gate (the host would
  // drop everything it attracts), true otherwise and when no session has a
  // depends_on. The daemon withdraws its BGP announcement while it is false.
  bool canForward() const noexcept;

  // Key rollover at a reload: every session takes the keys (bfd.auth key_id,
  // secret, accept) that the config now holds, keeping its state, timers and
  // auth sequence numbers. False if a session refused them (another auth
  // type: reloadBlocker refuses that first); it keeps its keys.
  bool applyAuthKeys();

  // `ferryctl set bfd IFACE KEY VALUE`: interval_ms (1..4294967),
  // detect_mult (1..255), admin_down (true/false), hold_up_ms
  // (0..kMaxHoldUpMs). Returns "" or what is wrong.
  std::string set(const std::string& interface, const std::string& key, const std::string& value,
                  bfd::Micros now);

  // `path` must outlive the sessions; called from service() only.
  void setReceivePath(const ReceivePath* path) noexcept { receive_path_ = path; }

  size_t size() const noexcept { return sessions_.size(); }
  const Entry& entry(uint32_t session) const noexcept { return sessions_[session]; }
  const Counters& counters() const noexcept { return counters_; }
  const Config& config() const noexcept { return config_; }

 private:
  // decode → select (hint: the session of the receiving interface / source)
  // → onPacket, then whatever the result asks for.
  void deliver(std::optional<uint32_t> hint, std::span<const uint8_t> wire,
               bfd::Micros now) noexcept;
  void reschedule(uint32_t index) noexcept;
  // Whether session `index`'s detection expiry, due at `now`, waits for the
  // receive path (ReceivePath); false also ends a finished wait.
  bool deferExpiry(uint32_t index, bfd::Micros now);
  // Sends what session `index` owes at `now` (at most 4 packets).
  void transmit(uint32_t index, bfd::Micros now) noexcept;
  // Re-evaluates the link's usability (session and hold-down) as of `now`.
  // While draining, the liveness stays as it was.
  void refreshLiveness(uint32_t index, bfd::Micros now) noexcept;
  // Health gating: holds or releases each gated session after a liveness
  // change (depended-on interfaces are never gated themselves: one pass).
  void applyGates(bfd::Micros now) noexcept;

  const Config& config_;
  Transmit& transmit_;
  std::vector<Entry> sessions_;
  std::vector<int> session_of_interface_;  // -1 when the interface has no BFD
  bfd::DiscriminatorTable discriminators_;
  std::set<std::pair<bfd::Micros, uint32_t>> timers_;  // (deadline, session)
  std::vector<uint8_t> liveness_;
  uint64_t liveness_version_ = 0;
  bool draining_ = false;
  Counters counters_;
  const ReceivePath* receive_path_ = nullptr;
};

}  // namespace ferry
