// The takeover conversation over the handover socket (takeover.h): messages
// of takeover_state.h, one per SOCK_SEQPACKET packet, descriptors as
// SCM_RIGHTS in batches.
#include "ferry/daemon/takeover.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>

#include "ferry/control/log.h"
#include "ferry/daemon/daemon.h"

namespace ferry {
namespace {

using takeover::Kind;

// SCM_MAX_FD is 253 per message on Linux.
constexpr size_t kFdsPerMessage = 200;
// Larger than any message: a BFD session is about 350 bytes.
constexpr size_t kMaxMessage = 8 << 20;

Status sendMessage(int fd, const std::vector<uint8_t>& bytes, std::span<const int> fds = {}) {
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<uint8_t> control;
  if (!fds.empty()) {
    control.assign(CMSG_SPACE(sizeof(int) * fds.size()), 0);
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cm), fds.data(), sizeof(int) * fds.size());
  }
  if (::sendmsg(fd, &msg, MSG_NOSIGNAL) != ssize_t(bytes.size()))
    return Status::failure(std::string("handover: send: ") + std::strerror(errno));
  return {};
}

// One message (and the descriptors that came with it), waiting at most
// TakeoverClient::kTimeout.
Status receiveMessage(int fd, std::vector<uint8_t>& bytes, std::vector<Fd>* fds = nullptr) {
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, int(std::chrono::milliseconds(TakeoverClient::kTimeout).count()));
  if (ready == 0)
    return Status::failure("handover: no answer within " +
                           std::to_string(TakeoverClient::kTimeout.count()) + " s");
  if (ready < 0) return Status::failure(std::string("handover: poll: ") + std::strerror(errno));
  bytes.assign(kMaxMessage, 0);
  iovec iov{bytes.data(), bytes.size()};
  std::vector<uint8_t> control(CMSG_SPACE(sizeof(int) * kFdsPerMessage));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  const ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return Status::failure(std::string("handover: receive: ") + std::strerror(errno));
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
      if (fds)
        fds->emplace_back(received);
      else
        ::close(received);
    }
  }
  if (n == 0) return Status::failure("handover: the other ferryd closed the connection");
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
    return Status::failure("handover: message truncated");
  bytes.resize(size_t(n));
  return {};
}

// An Abort from the other side as an error, or a decode error for `expected`.
std::string unexpected(const std::vector<uint8_t>& bytes, const std::string& decode_error) {
  std::string text;
  if (takeover::decodeSimple(bytes, Kind::kAbort, &text).empty()) return text;
  return "handover: " + decode_error;
}

}  // namespace

std::string handoverPath(const std::string& control_socket) { return control_socket + ".takeover"; }

// ---------------------------------------------------------------- new side

TakeoverClient::~TakeoverClient() {
  if (fd_ && !done_) abort("the new ferryd gave up");
}

long TakeoverClient::controlIndex() const noexcept {
  return manifest_.control_socket.empty() ? -1 : long(bfdTxIndex(manifest_.bfd_tx.size()));
}
long TakeoverClient::metricsIndex() const noexcept {
  if (manifest_.metrics.empty()) return -1;
  return long(bfdTxIndex(manifest_.bfd_tx.size())) + (manifest_.control_socket.empty() ? 0 : 1);
}
long TakeoverClient::handoverIndex() const noexcept {
  if (!manifest_.handover) return -1;
  return long(bfdTxIndex(manifest_.bfd_tx.size())) + (manifest_.control_socket.empty() ? 0 : 1) +
         (manifest_.metrics.empty() ? 0 : 1);
}
long TakeoverClient::announceIndex() const noexcept {
  if (manifest_.announce_device.empty()) return -1;
  return long(bfdTxIndex(manifest_.bfd_tx.size())) + (manifest_.control_socket.empty() ? 0 : 1) +
         (manifest_.metrics.empty() ? 0 : 1) + (manifest_.handover ? 1 : 0);
}

Fd TakeoverClient::take(size_t index) {
  if (index >= fds_.size()) return Fd();
  return std::move(fds_[index]);
}

Status TakeoverClient::connect(const std::string& control_socket) {
  const std::string path = handoverPath(control_socket);
  struct stat st {};
  if (::stat(control_socket.c_str(), &st) != 0)
    return Status::failure("no ferryd is running with control socket " + control_socket +
                           " (nothing to take over)");
  if (::stat(path.c_str(), &st) != 0)
    return Status::failure("handover socket " + path +
                           " is absent: the running ferryd cannot hand over (too old, or "
                           "not started by ferryd run)");
  sockaddr_un addr;
  if (!unixAddress(path, addr))
    return Status::failure("handover socket path '" + path + "' is too long");
  fd_ = Fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd_) return Status::failure(std::string("handover: socket: ") + std::strerror(errno));
  if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    fd_.reset();
    if (err == ECONNREFUSED)
      return Status::failure("no ferryd is running behind " + path + " (a stale socket file)");
    return Status::failure("handover: connect " + path + ": " + std::strerror(err));
  }
  if (Status sent = sendMessage(fd_.get(), takeover::encodeSimple(Kind::kHello)); !sent)
    return sent;
  std::vector<uint8_t> bytes;
  if (Status got = receiveMessage(fd_.get(), bytes); !got) return got;
  if (std::string why = takeover::decode(bytes, manifest_); !why.empty()) {
    const std::string reason = unexpected(bytes, why);
    abort("cannot read the manifest: " + why);
    return Status::failure(reason);
  }
  const size_t expected = manifest_.fdCount();
  while (fds_.size() < expected) {
    std::vector<Fd> batch;
    if (Status got = receiveMessage(fd_.get(), bytes, &batch); !got) return got;
    uint32_t count = 0;
    if (std::string why = takeover::decodeFds(bytes, count); !why.empty())
      return Status::failure(unexpected(bytes, why));
    if (count != batch.size() || fds_.size() + batch.size() > expected) {
      abort("descriptor batch mismatch");
      return Status::failure("handover: expected " + std::to_string(count) +
                             " descriptors, received " + std::to_string(batch.size()));
    }
    for (auto& f : batch) fds_.push_back(std::move(f));
  }
  return {};
}

Status TakeoverClient::exchangeBfd(takeover::BfdState& state) {
  if (Status sent = sendMessage(fd_.get(), takeover::encodeSimple(Kind::kReady)); !sent)
    return sent;
  std::vector<uint8_t> bytes;
  if (Status got = receiveMessage(fd_.get(), bytes); !got) return got;
  if (std::string why = takeover::decode(bytes, state); !why.empty()) {
    const std::string reason = unexpected(bytes, why);
    abort("cannot read the BFD state: " + why);
    return Status::failure(reason);
  }
  return {};
}

Status TakeoverClient::finish() {
  done_ = true;
  // What this process did not take (interfaces removed or moved, listeners
  // it opened afresh) closes now; the kernel closes each socket when the
  // old process exits too.
  fds_.clear();
  Status sent = sendMessage(fd_.get(), takeover::encodeSimple(Kind::kTaken));
  fd_.reset();
  return sent;
}

void TakeoverClient::abort(const std::string& why) {
  fds_.clear();
  if (!fd_ || done_) return;
  done_ = true;
  // The old process carries on whether or not it hears this.
  (void)sendMessage(fd_.get(), takeover::encodeSimple(Kind::kAbort, why));
  fd_.reset();
}

// ---------------------------------------------------------------- old side

HandoverServer::~HandoverServer() {
  if (listen_fd_ && owns_path_) ::unlink(path_.c_str());
}

Status HandoverServer::listen(const std::string& path) {
  sockaddr_un addr;
  if (!unixAddress(path, addr))
    return Status::failure("handover socket path '" + path + "' is too long");
  // The control socket at the same place was free (CtlServer::listen ran
  // first), so a file here is stale.
  ::unlink(path.c_str());
  // Same access as the control socket: whoever may reconfigure may upgrade.
  auto listening = listenUnix(path, SOCK_SEQPACKET, 4, "handover socket");
  if (!listening) return Status::failure(listening.error());
  listen_fd_ = std::move(listening).take();
  path_ = path;
  owns_path_ = true;
  return {};
}

void HandoverServer::adopt(Fd listening, const std::string& path) {
  listen_fd_ = std::move(listening);
  path_ = path;
  owns_path_ = false;
}

bool HandoverServer::serve(Daemon& daemon, std::string& why) {
  Fd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) {
    why = errno == EAGAIN ? "" : std::string("handover: accept: ") + std::strerror(errno);
    return false;
  }
  ucred peer{};
  socklen_t peer_len = sizeof(peer);
  peer_pid_ = ::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) == 0 ? peer.pid : 0;
  // A SOCK_SEQPACKET message must fit the sender's buffer whole; the BFD
  // state is ~300 bytes a session, past the default 208 KiB at ~700 sessions.
  const int buffer = int(kMaxMessage);
  if (::setsockopt(conn.get(), SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof(buffer)) != 0)
    ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
  // A failed send or receive: its message in `why`.
  auto failed = [&why](const Status& status) {
    if (status) return false;
    why = status.error();
    return true;
  };
  std::vector<uint8_t> bytes;
  if (failed(receiveMessage(conn.get(), bytes))) return false;
  if (std::string bad = takeover::decodeSimple(bytes, Kind::kHello); !bad.empty()) {
    why = "refused a takeover: " + bad;
    // The new process reports its own failure whether or not it hears why.
    (void)sendMessage(conn.get(),
                      takeover::encodeSimple(Kind::kAbort, "the running ferryd refused: " + bad));
    return false;
  }
  std::vector<int> fds;
  const takeover::Manifest manifest = daemon.handoverManifest(fds, listen_fd_.get());
  if (failed(sendMessage(conn.get(), takeover::encode(manifest)))) return false;
  for (size_t at = 0; at < fds.size(); at += kFdsPerMessage) {
    const size_t n = std::min(kFdsPerMessage, fds.size() - at);
    if (failed(sendMessage(conn.get(), takeover::encodeFds(uint32_t(n)),
                           std::span(fds.data() + at, n))))
      return false;
  }
  log::info("takeover: handed " + std::to_string(fds.size()) + " sockets to a new ferryd");
  if (failed(receiveMessage(conn.get(), bytes))) return false;
  if (std::string bad = takeover::decodeSimple(bytes, Kind::kReady); !bad.empty()) {
    why = "takeover abandoned: " + unexpected(bytes, bad);
    return false;
  }
  // From here the sessions are the new process's: it must hear them as the
  // old one left them, so the old one says nothing more.
  const takeover::BfdState state = daemon.freezeBfd();
  if (failed(sendMessage(conn.get(), takeover::encode(state)))) {
    daemon.thawBfd();
    return false;
  }
  if (!failed(receiveMessage(conn.get(), bytes))) {
    if (std::string bad = takeover::decodeSimple(bytes, Kind::kTaken); bad.empty())
      return true;
    else
      why = "takeover abandoned: " + unexpected(bytes, bad);
  }
  daemon.thawBfd();
  return false;
}

}  // namespace ferry
