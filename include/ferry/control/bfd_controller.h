// BfdController: every BFD session of the daemon, driven by Control's BFD
// thread (the one place BFD runs; no thread per session; the control thread
// reads and changes it only under Control's bfd_mu_). It takes packets
// from two sources:
//   - in-band (default): the dataplanes hand over BFD packets that arrived on
//     an interface's data port (BfdHandoff); replies go out with sendto() on
//     dataplane 0's socket for that interface, so the source port is the
//     interface's;
//   - RFC 5881 (`bfd: {mode: rfc5881}`): the controller's own sockets, UDP
//     3784 on the interface's bind address for receiving (TTL/hop limit must
//     be 255: GTSM), and per session a socket on a source port fixed in
//     49152–65535 that sends with TTL 255 to the peer's address, port 3784.
// In-band packets therefore depend on the dataplanes getting a CPU, which the
// real-time BFD thread cannot give them: see ReceivePath.
// Timers sit in one ordered queue keyed by each session's next deadline.
// When a session's forwarding liveness flips, liveness() changes and the
// BFD thread publishes a new forwarding snapshot.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ferry/bfd/demux.h"
#include "ferry/bfd/hold_down.h"
#include "ferry/bfd/packet.h"
#include "ferry/bfd/session.h"
#include "ferry/bfd/takeover_state.h"
#include "ferry/clock.h"  // monotonicMicros: the BFD clock
#include "ferry/config/config.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/net/socket.h"

namespace ferry {

// Health gating (bfd.depends_on): whether a session whose traffic leaves
// through the interfaces `depends_on` must be held Down (diagnostic 6),
// given each interface's liveness (1 = usable): when none of them is usable.
// An empty list never gates.
bool gateClosed(const std::vector<uint16_t>& depends_on, const std::vector<uint8_t>& liveness) noexcept;

// The longer of the two detection times of a session: ours of the peer
// (§6.8.4), and the peer's of us (our Detect Mult × our transmit interval,
// which is what it waits before it gives up on us). A session never heard
// from counts with its configured values (`interval_us` × detect mult).
bfd::Micros slowestDetection(const bfd::Session& session, bfd::Micros interval_us) noexcept;

class BfdController {
 public:
  static constexpr uint16_t kRfc5881Port = 3784;

  // Why a received packet never reached a session (beyond the sessions' own
  // counters), for `show bfd`.
  struct Counters {
    uint64_t decode_errors[16] = {};  // by bfd::DecodeResult
    uint64_t unknown_discriminator = 0;
    uint64_t no_session_for_peer = 0;
    uint64_t bad_ttl = 0;         // RFC 5881 GTSM: TTL/hop limit != 255
    uint64_t unknown_source = 0;  // RFC 5881: from an address that is no session's peer
    uint64_t tx_errors = 0;       // sendto() failed
  };

  // `send_fds[i]`: the socket in-band BFD of interface i is sent from
  // (dataplane 0's); -1 for interfaces without in-band BFD. `seed` seeds
  // discriminators and jitter (random in the daemon, fixed in tests).
  BfdController(const Config& config, std::vector<int> send_fds, uint64_t seed);

  // Opens the RFC 5881 sockets and, with `start`, schedules every session
  // and sends what is due. A takeover passes start = false: its sessions
  // must not speak before restore() gave them the old process's state.
  // "" or an error naming the interface.
  std::string setup(bool start = true);

  // Takeover. RFC 5881 sockets handed over by the old process, adopted by
  // setup() instead of opening new ones: receive sockets by local address
  // (ip:3784), transmit sockets by interface and local address (so the
  // session keeps its source port, RFC 5881 §4).
  void adoptSockets(std::vector<std::pair<std::string, Fd>> rx,
                    std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx);
  // The sockets to hand over, in the same terms (descriptors stay owned here).
  std::vector<std::pair<std::string, int>> receiveSockets() const;
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> transmitSockets() const;
  // Every session's state, for the process that takes over.
  takeover::BfdState save() const;
  // Takes over the sessions of `state` whose interface (by name) and mode
  // are the same here: discriminators, state, timers and auth sequence carry
  // on; configured timers that differ start a Poll Sequence. Then schedules
  // every session and sends what is due (what setup(false) left out).
  // Sessions of interfaces that are new start Down. Returns how many sessions
  // were taken over.
  size_t restore(const takeover::BfdState& state, bfd::Micros now);

  // Descriptors the control loop must poll for reading (RFC 5881 receive sockets).
  std::vector<int> pollFds() const;
  // Handles one datagram handed over by a dataplane.
  void onFrame(const BfdFrame& frame, bfd::Micros now) noexcept;
  // Drains an RFC 5881 receive socket that poll() reported readable.
  void onReadable(int fd, bfd::Micros now) noexcept;
  // Expires detection timers and sends whatever is due.
  void service(bfd::Micros now) noexcept;
  // When service() must run next (bfd::kNever if no session).
  bfd::Micros nextDeadline() const noexcept;

  // Per interface: 1 when usable for forwarding (no BFD, or the session says
  // so and its up hold-down has passed). `version` increments whenever any entry changes.
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

  // `ferryctl show bfd` (keys documented in the README).
  nlohmann::json showJson(bfd::Micros now) const;
  // `ferryctl set bfd IFACE KEY VALUE`: interval_ms, detect_mult, admin_down,
  // hold_up_ms.
  // Returns "" or what is wrong.
  std::string set(const std::string& interface, const std::string& key, const std::string& value,
                  bfd::Micros now);

  // In-band BFD packets reach the controller only through the dataplanes,
  // ordinary threads pinned to one CPU each: when that CPU is busy (a loaded
  // host) a dataplane can wait hundreds of milliseconds to run while the
  // peer's packets sit unread on its socket or read but not yet handed over,
  // and this real-time thread's detection timer would then measure our own
  // dataplane's lateness, not the peer's silence. So an in-band session's
  // detection expiry waits while its packets may still be on their way to
  // us: a datagram of its interface waits on a dataplane's socket, a
  // dataplane that had one has not completed a loop turn since its socket
  // was read (each turn hands over what it read), a dataplane that was
  // runnable when the detection time ran out has not finished that turn, or
  // a handed-over frame is not drained yet. Rechecked every kBacklogRecheckUs, for at most
  // kMaxBacklogDeferUs; each such wait counts in `show bfd`'s
  // `expiries_deferred`. Without a ReceivePath expiries never wait.
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
  // `path` must outlive the controller; called from service() only.
  void setReceivePath(const ReceivePath* path) noexcept { receive_path_ = path; }

  size_t sessionCount() const noexcept { return sessions_.size(); }
  const Counters& counters() const noexcept { return counters_; }

 private:
  struct Entry {
    uint16_t interface = 0;
    std::string name;
    SockAddr peer;
    BfdMode mode = BfdMode::InBand;
    bfd::Micros interval_us = 0;  // configured DesiredMinTx = RequiredMinRx (set bfd may change it)
    std::unique_ptr<bfd::Session> session;
    bfd::HoldDown hold;      // bfd.hold_up_ms between the session's up and the link's
    int send_fd = -1;        // in-band: dataplane 0's socket; RFC 5881: tx_socket
    Fd tx_socket;            // RFC 5881 only
    SockAddr destination;    // where packets go (peer, or peer ip:3784)
    bfd::Micros queued = bfd::kNever;  // its key in timers_
    uint64_t tx_errors = 0;
    uint64_t rx_frames = 0;
    // A detection expiry waiting for the receive backlog (setBacklogProbe).
    bfd::Micros deferred_since = bfd::kNever;
    bfd::Micros recheck_at = bfd::kNever;
    // Per dataplane: the turn count it must pass before what it read of this
    // interface has surely been handed over (kNoTurnOwed: nothing owed).
    std::vector<uint64_t> turns_owed;
    uint64_t expiries_deferred = 0;
    // bfd.depends_on (interface indices) and whether the gate holds it Down.
    std::vector<uint16_t> depends_on;
    bool gated = false;
    uint64_t gate_holds = 0;  // how often the gate closed
  };
  struct RxSocket {
    SockAddr bind;
    Fd fd;
  };

  // decode → select (hint: the session of the receiving interface / source)
  // → onPacket, then whatever the result asks for.
  void deliver(std::optional<uint32_t> hint, const uint8_t* data, size_t length,
               bfd::Micros now) noexcept;
  void reschedule(uint32_t index) noexcept;
  // Whether session `index`'s detection expiry, due at `now`, waits for the
  // receive path (ReceivePath); false also ends a finished wait.
  bool deferExpiry(uint32_t index, bfd::Micros now);
  void transmit(uint32_t index, bfd::Micros now) noexcept;
  // Re-evaluates the link's usability (session and hold-down) as of `now`.
  // While draining, the liveness stays as it was.
  void refreshLiveness(uint32_t index, bfd::Micros now) noexcept;
  // Health gating: holds or releases each gated session after a liveness
  // change (depended-on interfaces are never gated themselves: one pass).
  void applyGates(bfd::Micros now) noexcept;
  // The handed-over transmit socket of `interface` bound to `bind`'s host.
  Fd takeAdoptedTx(const std::string& interface, const SockAddr& bind);

  const Config& config_;
  std::vector<Entry> sessions_;
  std::vector<int> session_of_interface_;  // -1 when the interface has no BFD
  std::vector<RxSocket> rx_sockets_;
  bfd::DiscriminatorTable discriminators_;
  std::set<std::pair<bfd::Micros, uint32_t>> timers_;  // (deadline, session)
  std::vector<uint8_t> liveness_;
  uint64_t liveness_version_ = 0;
  bool draining_ = false;
  Counters counters_;
  const ReceivePath* receive_path_ = nullptr;
  // Handed over by the old process, until setup() takes or closes them.
  std::vector<std::pair<std::string, Fd>> adopted_rx_;
  std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> adopted_tx_;
};

}  // namespace ferry
