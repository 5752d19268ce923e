// Rescue: how a healthy dataplane takes the datagrams waiting on a stalled
// dataplane's sockets. Re-steering (control/resteer.h) sends a stalled
// dataplane's share of *new* datagrams elsewhere, but what already waits in
// its socket queues — and what still arrives there while the steering
// programs are replaced — is its own ring's to receive. A rescuer arms
// multishot receives on those sockets in its own ring (a UDP socket hands
// each datagram to one receiver, so nothing is received twice) until the
// watch thread asks it to stop; the stalled dataplane, when it runs again,
// receives on its sockets as before.
//
// Shared by the watch thread (the only writer of the requests) and the
// dataplanes (each reads its own row after a wake). It also owns each
// dataplane's wake eventfd, so that the watch thread can wake a dataplane
// at any time, also while the dataplane is stopping or gone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class Rescue {
 public:
  // `fds[d][i]`: dataplane d's socket for interface i (not owned; they must
  // outlive this object and every dataplane). Fails if an eventfd cannot be
  // made.
  static Result<std::unique_ptr<Rescue>> create(std::vector<std::vector<int>> fds);
  Rescue(const Rescue&) = delete;
  Rescue& operator=(const Rescue&) = delete;

  unsigned dataplanes() const noexcept { return unsigned(fds_.size()); }
  std::size_t interfaces() const noexcept { return fds_.empty() ? 0 : fds_[0].size(); }
  int socket(unsigned dataplane, std::size_t interface) const noexcept {
    return fds_[dataplane][interface];
  }
  int wakeFd(unsigned dataplane) const noexcept { return wake_[dataplane].get(); }

  // The watch thread: dataplane `rescuer` is to receive (or to stop
  // receiving) on dataplane `stalled`'s sockets. Takes effect at the
  // rescuer's next wake().
  void ask(unsigned rescuer, unsigned stalled, bool receive) noexcept {
    wanted_[std::size_t(rescuer) * fds_.size() + stalled].store(receive, std::memory_order_release);
  }
  // The rescuer, after a wake: whether it is to receive on `stalled`'s sockets.
  bool asked(unsigned rescuer, unsigned stalled) const noexcept {
    return wanted_[std::size_t(rescuer) * fds_.size() + stalled].load(std::memory_order_acquire);
  }
  // Makes dataplane `d` turn its loop (and read its requests); any thread.
  void wake(unsigned d) const noexcept { notifyEventFd(wake_[d].get()); }

 private:
  Rescue(std::vector<std::vector<int>> fds, std::vector<Fd> wake)
      : fds_(std::move(fds)),
        wake_(std::move(wake)),
        wanted_(std::make_unique<std::atomic<bool>[]>(fds_.size() * fds_.size())) {}

  std::vector<std::vector<int>> fds_;
  std::vector<Fd> wake_;
  std::unique_ptr<std::atomic<bool>[]> wanted_;  // [rescuer * dataplanes + stalled]
};

}  // namespace ferry
