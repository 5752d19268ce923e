// The host's BGP announcement of its service addresses, tied to ferryd's
// life (README "Scaling out"). ferryd creates a TUN device (non-persistent:
// no TUNSETPERSIST) and puts the service addresses on it; the host's FRR
// announces them while they exist. The device lives exactly as long as a
// descriptor of it is open, so the kernel deletes it, its addresses and
// their connected routes when ferryd exits for any reason, SIGKILL and
// crashes included, and zebra tells bgpd to withdraw. No supervisor is
// needed.
//
//   create()          at start, before the sockets are bound (they bind to
//                     these addresses)
//   setAnnounced()    health gating: addresses off while the host cannot
//                     forward, back on when it can (the device stays)
//   close()           graceful stop: half-way through the drain
//   fd()              handed to the new process at a takeover (SCM_RIGHTS),
//                     so the device never goes away: adopt() there
//
// Thread-safe: the BFD thread (gating) and the main thread (stop) both call it.
#pragma once

#include <mutex>
#include <string>

#include "ferry/config/config.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class Announcement {
 public:
  // Creates the device, brings it up and adds the addresses. Fails with a
  // message naming the device and the cause (no /dev/net/tun, no CAP_NET_ADMIN, a
  // device of that name already in use, an address refused).
  // `with_addresses` false: the device comes up empty (health gating will
  // add them once the host can forward).
  Status create(const AnnounceConfig& config, bool with_addresses);
  // Takeover: `fd` is the running ferryd's descriptor of the device; the
  // addresses are (re)added, those of the old config that the new one
  // lacks are removed.
  Status adopt(Fd fd, const AnnounceConfig& config, const AnnounceConfig* previous,
               bool with_addresses);
  // Adds (true) or removes (false) every address; the device stays. Does
  // nothing once closed.
  Status setAnnounced(bool on);
  // Closes the descriptor: the kernel deletes the device and its addresses.
  void close();

  bool active() const;
  bool announced() const;
  int fd() const;
  const std::string& device() const noexcept { return config_.device; }

 private:
  Status addressesLocked(bool add, const std::vector<std::string>& addresses);

  mutable std::mutex mu_;
  AnnounceConfig config_;
  Fd fd_;
  int ifindex_ = 0;
  bool announced_ = false;
};

}  // namespace ferry
