// BfdController: every BFD session of the daemon as Control drives it from
// its BFD thread (the one place BFD runs; no thread per session; the control
// thread reads and changes it only under Control's bfd_mu_). It joins two
// parts and adds the clock:
//   - BfdSessions (bfd_sessions.h): the sessions, their timers, hold-downs,
//     gates and drain, without I/O;
//   - BfdTransport (bfd_transport.h): in-band sends through dataplane 0's
//     sockets and the RFC 5881 sockets, with their GTSM check.
// In-band packets depend on the dataplanes getting a CPU, which the
// real-time BFD thread cannot give them: see BfdSessions::ReceivePath.
// When a session's forwarding liveness flips, liveness() changes and the
// BFD thread publishes a new forwarding snapshot.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "ferry/bfd/session.h"
#include "ferry/bfd/takeover_state.h"
#include "ferry/clock.h"  // monotonicMicros: the BFD clock
#include "ferry/config/config.h"
#include "ferry/control/bfd_sessions.h"
#include "ferry/control/bfd_transport.h"
#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class BfdController {
 public:
  using ReceivePath = BfdSessions::ReceivePath;

  // `send_fds[i]`: the socket in-band BFD of interface i is sent from
  // (dataplane 0's); -1 for interfaces without in-band BFD. `seed` seeds
  // discriminators and jitter (random in the daemon, fixed in tests).
  // `config` must outlive the controller.
  BfdController(const Config& config, std::vector<int> send_fds, uint64_t seed);

  // Opens the RFC 5881 sockets and, with `start`, schedules every session
  // and sends what is due (as of the monotonic clock). A takeover passes
  // start = false: its sessions must not speak before restore() gave them
  // the old process's state. Failures name the interface.
  Status setup(bool start = true);

  // Takeover: BfdTransport::adoptSockets(), receiveSockets(),
  // transmitSockets(); BfdSessions::save(), restore().
  void adoptSockets(std::vector<std::pair<std::string, Fd>> rx,
                    std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx) {
    transport_.adoptSockets(std::move(rx), std::move(tx));
  }
  std::vector<std::pair<std::string, int>> receiveSockets() const {
    return transport_.receiveSockets();
  }
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> transmitSockets() const {
    return transport_.transmitSockets();
  }
  takeover::BfdState save() const { return sessions_.save(); }
  size_t restore(const takeover::BfdState& state, bfd::Micros now) {
    return sessions_.restore(state, now);
  }

  // Descriptors the control loop must poll for reading (RFC 5881 receive sockets).
  std::vector<int> pollFds() const { return transport_.pollFds(); }
  // Handles one datagram handed over by a dataplane.
  void onFrame(const BfdFrame& frame, bfd::Micros now) noexcept { sessions_.onFrame(frame, now); }
  // Drains an RFC 5881 receive socket that poll() reported readable.
  void onReadable(int fd, bfd::Micros now) noexcept { transport_.onReadable(fd, sessions_, now); }
  // BfdSessions::service(), nextDeadline().
  void service(bfd::Micros now) noexcept { sessions_.service(now); }
  bfd::Micros nextDeadline() const noexcept { return sessions_.nextDeadline(); }

  // BfdSessions::liveness(), livenessVersion(), beginDrain(), draining(),
  // canForward(), set().
  const std::vector<uint8_t>& liveness() const noexcept { return sessions_.liveness(); }
  uint64_t livenessVersion() const noexcept { return sessions_.livenessVersion(); }
  bfd::Micros beginDrain(bfd::Micros now) noexcept { return sessions_.beginDrain(now); }
  bool draining() const noexcept { return sessions_.draining(); }
  bool canForward() const noexcept { return sessions_.canForward(); }
  std::string set(const std::string& interface, const std::string& key, const std::string& value,
                  bfd::Micros now) {
    return sessions_.set(interface, key, value, now);
  }

  // BfdSessions::applyAuthKeys().
  [[nodiscard]] bool applyAuthKeys() { return sessions_.applyAuthKeys(); }

  // `ferryctl show bfd` (bfdJson(), render.h; keys documented in the README).
  nlohmann::json showJson(bfd::Micros now) const;

  // `path` must outlive the controller; called from service() only.
  void setReceivePath(const ReceivePath* path) noexcept { sessions_.setReceivePath(path); }

  size_t sessionCount() const noexcept { return sessions_.size(); }
  const BfdSessions& sessions() const noexcept { return sessions_; }
  const BfdTransport& transport() const noexcept { return transport_; }

 private:
  BfdTransport transport_;  // before sessions_: it is their Transmit
  BfdSessions sessions_;
};

}  // namespace ferry
