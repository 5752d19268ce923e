#include "ferry/control/fpm_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "ferry/clock.h"
#include "ferry/control/log.h"

namespace ferry {

namespace {

// Bytes read per turn at most, so that a continuous stream (a full table)
// still lets each turn check whether a batch is due.
constexpr size_t kReadPerTurn = 1 << 20;
constexpr size_t kReadChunk = 256 << 10;

uint64_t unixMillis() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
}

}  // namespace

FpmServer::FpmServer(const FpmConfig& config, std::vector<std::optional<route::IpAddress>> peers,
                     Publish publish)
    : config_(config),
      publish_(std::move(publish)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      store_(std::move(peers),
             {.batch_us = uint64_t(config.batch_ms) * 1000,
              .resync_us = uint64_t(config.resync_ms) * 1000,
              .quiet_us = std::min<uint64_t>(uint64_t(config.resync_ms) * 1000, 1'000'000),
              .resync_max_us = uint64_t(config.resync_ms) * 1000 * 10}),
      read_buffer_(kReadChunk) {}

FpmServer::~FpmServer() { stop(); }

Status FpmServer::listen() {
  if (!wake_fd_) return Status::failure("fpm: eventfd failed");
  const SockAddr& address = config_.listen;
  Fd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::failure(std::string("fpm: socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), address.sa(), address.len()) != 0)
    return Status::failure("fpm: bind " + address.toString() + ": " + std::strerror(errno));
  if (::listen(fd.get(), 4) != 0)
    return Status::failure(std::string("fpm: listen: ") + std::strerror(errno));
  listen_fd_ = std::move(fd);
  log::info("fpm: listening for zebra on " + address.toString());
  return {};
}

void FpmServer::start() {
  if (!listen_fd_ || thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

void FpmServer::stop() noexcept {
  stop_.store(true, std::memory_order_release);
  notifyEventFd(wake_fd_.get());
  if (thread_.joinable()) thread_.join();
}

void FpmServer::republish() noexcept {
  republish_.store(true, std::memory_order_release);
  notifyEventFd(wake_fd_.get());
}

void FpmServer::accept(uint64_t now_us) {
  sockaddr_storage from{};
  socklen_t from_len = sizeof(from);
  Fd fd(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&from), &from_len,
                  SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd) return;  // EAGAIN, or the client went away
  const auto peer = SockAddr::fromSockaddr(reinterpret_cast<const sockaddr*>(&from), from_len);
  const std::string who = peer ? peer->toString() : "?";
  if (conn_) closeConnection(now_us, "replaced by a new connection from " + who);
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  conn_ = std::move(fd);
  decoder_.reset();
  store_.connected(now_us);
  {
    std::lock_guard lock(status_mu_);
    ++status_.connects;
    status_.peer = who;
  }
  log::info("fpm: zebra connected from " + who +
            (store_.resyncing() ? "; resync: routes not re-sent are swept after it" : ""));
}

void FpmServer::closeConnection(uint64_t now_us, const std::string& why) {
  conn_ = Fd();
  decoder_.reset();
  store_.disconnected(now_us);
  {
    std::lock_guard lock(status_mu_);
    ++status_.disconnects;
    status_.peer.clear();
  }
  log::warn("fpm: zebra connection closed (" + why + "); forwarding goes on with the " +
            std::to_string(store_.routeCount()) + " routes received");
}

bool FpmServer::readConnection(uint64_t now_us) {
  size_t total = 0;
  while (total < kReadPerTurn) {
    const ssize_t n = ::read(conn_.get(), read_buffer_.data(), read_buffer_.size());
    if (n == 0) {
      closeConnection(now_us, "zebra closed it");
      return false;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      closeConnection(now_us, std::string("read: ") + std::strerror(errno));
      return false;
    }
    total += size_t(n);
    updates_.clear();
    const uint64_t errors_before = decoder_.counters().errors;
    const bool ok = decoder_.feed({read_buffer_.data(), size_t(n)}, updates_);
    for (const auto& u : updates_) store_.apply(u, now_us);
    if (!updates_.empty()) {
      const uint64_t now_ms = unixMillis();
      std::lock_guard lock(status_mu_);
      if (now_ms >= status_.last_update_unix_ms + 1000) status_.burst_start_unix_ms = now_ms;
      status_.last_update_unix_ms = now_ms;
    }
    if (decoder_.counters().errors != errors_before && ok)
      log::warn("fpm: malformed message skipped (" + decoder_.error() + ")");
    if (!ok) {
      {
        std::lock_guard lock(status_mu_);
        ++status_.stream_errors;
      }
      closeConnection(now_us, decoder_.error());
      return false;
    }
  }
  return true;
}

void FpmServer::publishIfDue(uint64_t now_us) {
  if (republish_.exchange(false, std::memory_order_acq_rel)) store_.markChanged();
  if (!store_.publishDue(now_us)) return;
  const uint64_t start = uint64_t(monotonicMicros());
  const fpm::ResolvedRoutes routes = store_.take(start);
  BatchResult result;
  try {
    result = publish_(routes);
  } catch (const std::exception& e) {
    store_.built(uint64_t(monotonicMicros()) - start);
    log::error(std::string("fpm: cannot build the forwarding table: ") + e.what());
    return;
  }
  store_.built(uint64_t(monotonicMicros()) - start);
  std::lock_guard lock(status_mu_);
  ++status_.batches;
  status_.tries_patched += result.tries_patched;
  status_.tries_built += 2 - result.tries_patched;
  status_.routes_installed = result.routes;
  status_.routes_shadowed = result.shadowed;
  status_.left_out = routes.left_out;
  status_.unmapped_nexthops = routes.unmapped_nexthops;
  status_.left_out_examples = routes.left_out_examples;
  status_.last_build_us = result.build_us;
  status_.max_build_us = std::max(status_.max_build_us, result.build_us);
  status_.last_publish_unix_ms = unixMillis();
  status_.version = result.version;
}

void FpmServer::updateStatus(uint64_t /*now_us*/) {
  std::lock_guard lock(status_mu_);
  status_.state = conn_ ? (store_.resyncing() ? "resyncing" : "connected")
                        : (status_.connects == 0 ? "listening" : "disconnected");
  status_.decoder = decoder_.counters();
  status_.store = store_.counters();
  status_.last_error = decoder_.error();
  status_.routes_received = store_.routeCount();
  status_.nexthops = store_.nextHopCount();
  status_.last_swept = store_.lastSwept();
}

void FpmServer::run() noexcept {
  pthread_setname_np(pthread_self(), "ferry-fpm");
  std::vector<pollfd> fds;
  while (!stop_.load(std::memory_order_acquire)) {
    uint64_t now = uint64_t(monotonicMicros());
    const uint64_t deadline = store_.nextDeadline();
    uint64_t wait_us = 1'000'000;
    if (deadline != UINT64_MAX)
      wait_us = deadline > now ? std::min<uint64_t>(deadline - now, wait_us) : 0;
    fds.clear();
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    if (conn_) fds.push_back({conn_.get(), POLLIN, 0});
    const timespec timeout{time_t(wait_us / 1'000'000), long(wait_us % 1'000'000) * 1000};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (ready < 0 && errno != EINTR) {
      log::error(std::string("fpm: ppoll: ") + std::strerror(errno) + "; the FPM server stops");
      break;
    }
    now = uint64_t(monotonicMicros());
    if (fds[0].revents & POLLIN) clearEventFd(wake_fd_.get());
    if (fds.size() > 2 && fds[2].revents != 0) readConnection(now);
    if (fds[1].revents & POLLIN) accept(now);
    store_.tick(now);
    publishIfDue(now);
    updateStatus(now);
  }
}

nlohmann::json FpmServer::statusJson() const {
  std::lock_guard lock(status_mu_);
  const SessionState& s = status_;
  nlohmann::json left_out = nlohmann::json::array();
  for (const auto& [prefix, why] : s.left_out_examples)
    left_out.push_back({{"prefix", prefix.toString()}, {"why", why}});
  nlohmann::json swept = nlohmann::json::array();
  for (const auto& prefix : s.last_swept) swept.push_back(prefix.toString());
  const uint64_t now_ms = unixMillis();
  return {
      {"listen", config_.listen.toString()},
      {"state", s.state},
      {"peer", s.peer},
      {"connects", s.connects},
      {"disconnects", s.disconnects},
      {"stream_errors", s.stream_errors},
      {"bytes", s.decoder.bytes},
      {"frames", s.decoder.frames},
      {"messages", s.decoder.messages},
      {"route_updates", s.decoder.route_updates},
      {"nexthop_updates", s.decoder.nexthop_updates},
      {"ignored", s.decoder.ignored},
      {"errors", s.decoder.errors},
      {"last_error", s.last_error},
      {"routes_received", s.routes_received},
      {"nexthops", s.nexthops},
      {"routes_installed", s.routes_installed},
      {"routes_shadowed_by_config", s.routes_shadowed},
      {"routes_left_out", s.left_out},
      {"unmapped_nexthops", s.unmapped_nexthops},
      {"left_out", std::move(left_out)},
      {"stale_swept", s.store.stale_swept},
      {"last_swept", std::move(swept)},
      {"sweeps", s.store.sweeps},
      {"batches", s.batches},
      {"tries_patched", s.tries_patched},
      {"tries_built", s.tries_built},
      {"batch_ms", config_.batch_ms},
      {"resync_ms", config_.resync_ms},
      {"last_update_unix_ms", s.last_update_unix_ms},
      {"burst_start_unix_ms", s.burst_start_unix_ms},
      {"last_update_ago_ms", s.last_update_unix_ms == 0
                                 ? nlohmann::json()
                                 : nlohmann::json(now_ms - s.last_update_unix_ms)},
      {"last_publish_unix_ms", s.last_publish_unix_ms},
      {"last_build_ms", double(s.last_build_us) / 1000.0},
      {"last_build_us", s.last_build_us},
      {"max_build_ms", double(s.max_build_us) / 1000.0},
      {"version", s.version},
  };
}

}  // namespace ferry
