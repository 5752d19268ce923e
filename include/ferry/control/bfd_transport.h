// BfdTransport: the sockets BFD packets travel through, one way per
// session's mode:
//   - in-band (default): the dataplanes hand over BFD packets that arrived on
//     an interface's data port (BfdHandoff, straight to BfdSessions::onFrame);
//     replies go out with sendto() on dataplane 0's socket for that
//     interface, so the source port is the interface's;
//   - RFC 5881 (`bfd: {mode: rfc5881}`): sockets of its own, UDP 3784 on the
//     interface's bind address for receiving (TTL/hop limit must be 255:
//     GTSM, RFC 5881 §5), and per session a socket on a source port fixed in
//     49152–65535 that sends with TTL 255 to the peer's address, port 3784.
// It is BfdSessions' Transmit; what it receives it hands to BfdSessions.
// Used from the BFD thread only, like the sessions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ferry/bfd/session.h"
#include "ferry/bfd/takeover_state.h"
#include "ferry/config/config.h"
#include "ferry/control/bfd_sessions.h"
#include "ferry/net/address.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class BfdTransport final : public BfdSessions::Transmit {
 public:
  static constexpr uint16_t kRfc5881Port = 3784;

  // Received RFC 5881 datagrams that reached no session, for `show bfd`'s
  // `unmatched`.
  struct Counters {
    uint64_t bad_ttl = 0;         // GTSM: TTL/hop limit != 255
    uint64_t unknown_source = 0;  // from an address that is no session's peer
  };

  // One endpoint per session of bfdInterfaces(config), in session order.
  // `send_fds[i]`: the socket in-band BFD of interface i is sent from
  // (dataplane 0's); -1 for interfaces without in-band BFD. `config` must
  // outlive the transport.
  BfdTransport(const Config& config, std::vector<int> send_fds);

  // Takeover. RFC 5881 sockets handed over by the old process, adopted by
  // openSockets() instead of opening new ones: receive sockets by local address
  // (ip:3784), transmit sockets by interface and local address (so the
  // session keeps its source port, RFC 5881 §4).
  void adoptSockets(std::vector<std::pair<std::string, Fd>> rx,
                    std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx);
  // Opens (or adopts) the RFC 5881 sockets: one receive socket per local
  // address, shared by its sessions, and one transmit socket per session,
  // whose search for a free source port starts from the session's local
  // discriminator in `sessions`. Sockets handed over and not used close.
  // Failures name the interface.
  Status openSockets(const BfdSessions& sessions);

  // The sockets to hand over at a takeover, in adoptSockets()' terms
  // (descriptors stay owned here).
  std::vector<std::pair<std::string, int>> receiveSockets() const;
  std::vector<std::pair<takeover::Manifest::BfdTx, int>> transmitSockets() const;

  // Descriptors the BFD thread must poll for reading (the receive sockets).
  std::vector<int> pollFds() const;
  // Drains a receive socket that poll() reported readable: each datagram
  // with TTL 255 from a session's peer, received on that session's local
  // address, goes to `sessions.onDatagram()`; the others are counted.
  void onReadable(int fd, BfdSessions& sessions, bfd::Micros now) noexcept;

  // BfdSessions::Transmit: sendto() on the session's socket (non-blocking).
  bool send(uint32_t session, std::span<const uint8_t> packet) noexcept override;

  const Counters& counters() const noexcept { return counters_; }

 private:
  // One per session; its name, peer and mode are its interface's config.
  struct Endpoint {
    uint16_t interface = 0;
    bool rfc5881 = false;  // bfd.mode: rfc5881 (else in-band)
    int send_fd = -1;      // in-band: dataplane 0's socket; RFC 5881: tx_socket
    Fd tx_socket;          // RFC 5881 only
    SockAddr destination;  // where packets go (peer, or peer ip:3784)
  };
  struct RxSocket {
    SockAddr bind;
    Fd fd;
  };

  const InterfaceConfig& config(const Endpoint& e) const noexcept {
    return config_.interfaces[e.interface];
  }
  // The handed-over transmit socket of `interface` bound to `bind`'s host.
  Fd takeAdoptedTx(const std::string& interface, const SockAddr& bind);

  const Config& config_;
  std::vector<Endpoint> endpoints_;
  std::vector<RxSocket> rx_sockets_;
  Counters counters_;
  // Handed over by the old process, until openSockets() takes or closes them.
  std::vector<std::pair<std::string, Fd>> adopted_rx_;
  std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> adopted_tx_;
};

}  // namespace ferry
