// Takeover: a new ferryd takes the running one's sockets and BFD sessions
// without closing a socket (`ferryd run --config FILE --takeover`, or
// `kill -USR2` of the running one). The two talk over the handover socket,
// a Unix SOCK_SEQPACKET socket next to the control socket
// (handoverPath()), one message per packet (takeover_state.h):
//
//   new                                   old
//   Hello ───────────────────────────────►
//         ◄─────────────────────────────── Manifest, Fds… (SCM_RIGHTS)
//   checks its config against them, opens what is new, sets up its
//   dataplanes on the received sockets (not yet receiving)
//   Ready ───────────────────────────────►
//         ◄─────────────────────────────── BfdState (old BFD now frozen)
//   takes the sessions over, starts its dataplanes and BFD
//   Taken ───────────────────────────────►
//                                          cancels its receives, completes
//                                          its sends, exits 0
//
// Either side may send Abort (with why) instead; a closed connection is an
// abort too. Until Taken the old process is in charge: on an abort it thaws
// its BFD sessions and carries on as before.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "ferry/bfd/takeover_state.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class Daemon;

// The handover socket of the daemon whose control socket is `control_socket`.
std::string handoverPath(const std::string& control_socket);

// New process side: one conversation with the running daemon.
class TakeoverClient {
 public:
  static constexpr std::chrono::seconds kTimeout{10};

  ~TakeoverClient();  // an unfinished takeover is aborted

  // Connects to the daemon behind `control_socket`, says Hello and receives
  // the Manifest and every descriptor. Fails saying why not ("no ferryd is
  // running there", "handover socket ... is absent").
  Status connect(const std::string& control_socket);
  const takeover::Manifest& manifest() const noexcept { return manifest_; }
  // The received descriptors in Manifest order; taking one leaves -1.
  Fd take(size_t index);
  // The index of each group in the descriptor list.
  size_t socketIndex(size_t dataplane, size_t interface) const noexcept {
    return dataplane * manifest_.interfaces.size() + interface;
  }
  size_t bfdRxIndex(size_t i) const noexcept { return socketIndex(manifest_.dataplanes, 0) + i; }
  size_t bfdTxIndex(size_t i) const noexcept { return bfdRxIndex(manifest_.bfd_rx.size()) + i; }
  // -1 when that listening socket was not handed over.
  long controlIndex() const noexcept;
  long metricsIndex() const noexcept;
  long handoverIndex() const noexcept;
  long announceIndex() const noexcept;  // the `announce:` TUN device, -1 if none

  // Ready → BfdState.
  Status exchangeBfd(takeover::BfdState& state);
  // Taken: the old process stops. Closes the descriptors not taken. On
  // failure the old process may still be running.
  Status finish();
  // Tells the old process to carry on; closes every descriptor received.
  void abort(const std::string& why);

 private:
  Fd fd_;
  takeover::Manifest manifest_;
  std::vector<Fd> fds_;
  bool done_ = false;
};

// Old process side: the listening handover socket.
class HandoverServer {
 public:
  ~HandoverServer();
  // Creates the socket at `path` (replacing a stale file).
  Status listen(const std::string& path);
  // Serves on a listening socket handed over by the previous process.
  void adopt(Fd listening, const std::string& path);
  // Whether the destructor removes the socket file (see CtlServer::ownPath).
  void ownPath(bool own) noexcept { owns_path_ = own; }
  int fd() const noexcept { return listen_fd_.get(); }
  const std::string& path() const noexcept { return path_; }

  // Accepts one waiting connection and runs the conversation with it.
  // Returns true when the daemon has been taken over (stop it now, without
  // removing the socket files), false when the takeover did not happen
  // (then the daemon carries on; `why` says what went wrong).
  bool serve(Daemon& daemon, std::string& why);
  // The process of the last connection served (SO_PEERCRED), or 0: after a
  // takeover, the new main process (systemd's MAINPID=).
  pid_t peerPid() const noexcept { return peer_pid_; }

 private:
  pid_t peer_pid_ = 0;
  Fd listen_fd_;
  std::string path_;
  bool owns_path_ = false;
};

}  // namespace ferry
