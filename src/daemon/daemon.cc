#include "ferry/daemon/daemon.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <future>

#include "ferry/control/log.h"
#include "ferry/daemon/privileges.h"
#include "ferry/daemon/takeover.h"
#include "ferry/net/steering.h"

namespace ferry {

std::vector<int> allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

namespace {

// Two spellings of one IP address ("2001:db8::1" and "2001:DB8:0::1").
bool sameAddress(const std::string& a, const std::string& b) {
  unsigned char x[16] = {}, y[16] = {};
  for (const int family : {AF_INET, AF_INET6})
    if (inet_pton(family, a.c_str(), x) == 1) return inet_pton(family, b.c_str(), y) == 1 && std::memcmp(x, y, 16) == 0;
  return false;
}

}  // namespace

Daemon::Daemon(Config config) : config_(std::move(config)) {}

Daemon::~Daemon() { stop(); }

std::vector<DataplaneView> Daemon::views() const {
  std::vector<DataplaneView> out;
  for (unsigned d = 0; d < count_; ++d) {
    DataplaneView v;
    v.id = d;
    v.cpu = cpus_[d];
    v.counters = counters_[d].get();
    for (const auto& fd : sockets_[d]) v.fds.push_back(fd.get());
    out.push_back(std::move(v));
  }
  return out;
}

nlohmann::json Daemon::stats() const { return statsJson(config_, views()); }

std::string Daemon::statusLine() const {
  const Control::Health h = health();
  std::string line = std::to_string(h.interfaces_up) + " of " + std::to_string(config_.interfaces.size()) +
                     " interfaces up, " + std::to_string(count_) + " dataplanes";
  if (h.stalled_since_us != 0) line += ", a dataplane stalled";
  return line;
}

takeover::Manifest Daemon::handoverManifest(std::vector<int>& fds, int handover_fd) const {
  takeover::Manifest m;
  m.pid = uint32_t(getpid());
  m.dataplanes = count_;
  m.hash_seed = hash_seed_;
  for (const auto& iface : config_.interfaces) m.interfaces.push_back({iface.name, iface.bind.toString()});
  fds.clear();
  for (unsigned d = 0; d < count_; ++d)
    for (const auto& fd : sockets_[d]) fds.push_back(fd.get());
  if (control_) {
    for (const auto& [bind, fd] : control_->bfdReceiveSockets()) {
      m.bfd_rx.push_back(bind);
      fds.push_back(fd);
    }
    for (const auto& [where, fd] : control_->bfdTransmitSockets()) {
      m.bfd_tx.push_back(where);
      fds.push_back(fd);
    }
    if (control_->controlListenFd() >= 0) {
      m.control_socket = config_.control_socket;
      fds.push_back(control_->controlListenFd());
    }
    if (control_->metricsListenFd() >= 0 && config_.metrics_listen) {
      m.metrics = config_.metrics_listen->toString();
      fds.push_back(control_->metricsListenFd());
    }
  }
  if (handover_fd >= 0) {
    m.handover = true;
    fds.push_back(handover_fd);
  }
  // The announcement's device: the new process holds it before this one
  // exits, so the addresses, and the BGP announcement, never go away.
  if (config_.announce && announce_.active()) {
    m.announce_device = announce_.device();
    m.announce_addresses = config_.announce->addresses;
    fds.push_back(announce_.fd());
  }
  return m;
}

Status Daemon::start(TakeoverClient* from) {
  const std::vector<int> allowed = allowedCpus();
  count_ = config_.dataplaneCount(static_cast<uint32_t>(allowed.size()));
  for (unsigned d = 0; d < count_; ++d) cpus_.push_back(allowed[d % allowed.size()]);

  // Takeover: which handed-over interface (by bind address) each of ours is.
  std::vector<long> inherited(config_.interfaces.size(), -1);
  if (from != nullptr) {
    const takeover::Manifest& m = from->manifest();
    if (m.dataplanes != count_)
      return Status::failure("takeover refused: this config starts " + std::to_string(count_) +
                             " dataplanes, but the running ferryd (pid " + std::to_string(m.pid) +
                             ") hands over " + std::to_string(m.dataplanes) +
                             " sockets per interface; a different dataplane count needs a restart");
    for (size_t i = 0; i < config_.interfaces.size(); ++i)
      for (size_t j = 0; j < m.interfaces.size(); ++j)
        if (m.interfaces[j].bind == config_.interfaces[i].bind.toString()) inherited[i] = long(j);
  }

  // 0. The announcement's device and service addresses, before the sockets
  // that bind to them. A takeover adopts the running process's device.
  // With health gating the addresses wait until an egress is up (the BFD
  // thread adds them), and the sockets bind to them with IP_FREEBIND.
  bool gated = false;
  for (const auto& iface : config_.interfaces) gated = gated || (iface.bfd && !iface.bfd->depends_on.empty());
  if (config_.announce) {
    Status announced;
    const long index = from != nullptr ? from->announceIndex() : -1;
    if (index >= 0 && from->manifest().announce_device == config_.announce->device) {
      AnnounceConfig previous{from->manifest().announce_device, from->manifest().announce_addresses};
      announced = announce_.adopt(from->take(size_t(index)), *config_.announce, &previous, !gated);
    } else {
      announced = announce_.create(*config_.announce, !gated);
    }
    if (!announced) return announced;
    std::string list;
    for (const auto& a : config_.announce->addresses) list += (list.empty() ? "" : ", ") + a;
    log::info("announce: " + list + " on device " + config_.announce->device +
              (gated && !announce_.announced() ? " once an egress is up (health gating)" : "") +
              " (removed by the kernel when ferryd exits)");
  }

  // 1. Sockets: refuse an address somebody else holds (SO_REUSEPORT would
  // silently share it), then one socket per dataplane per interface. A
  // takeover uses the sockets it was handed as they are: they stay in their
  // reuseport group in the same order, so the steering index of each
  // dataplane's socket does not move.
  // An interface bound to an announced address binds with IP_FREEBIND: the
  // address may be withdrawn (gating) when the socket is opened.
  std::vector<bool> freebind(config_.interfaces.size(), false);
  for (size_t i = 0; i < config_.interfaces.size() && config_.announce; ++i)
    for (const auto& a : config_.announce->addresses)
      if (sameAddress(a.substr(0, a.find('/')), config_.interfaces[i].bind.host())) freebind[i] = true;
  for (size_t i = 0; i < config_.interfaces.size(); ++i) {
    const auto& iface = config_.interfaces[i];
    if (inherited[i] >= 0) continue;
    if (const Status free = addressIsFree(iface.bind, freebind[i]); !free)
      return Status::failure("interface '" + iface.name + "': " + free.error());
  }
  UdpSocketOptions options;
  options.buffer_bytes = config_.tuning.socket_buffer;
  sockets_.resize(count_);
  bool buffers_checked = false;  // every socket gets the same: one warning at most
  for (unsigned d = 0; d < count_; ++d) {
    for (size_t i = 0; i < config_.interfaces.size(); ++i) {
      const auto& iface = config_.interfaces[i];
      if (inherited[i] >= 0) {
        Fd fd = from->take(from->socketIndex(d, size_t(inherited[i])));
        if (!fd) return Status::failure("interface '" + iface.name + "': takeover: socket missing");
        sockets_[d].push_back(std::move(fd));
        continue;
      }
      UdpSocketOptions these = options;
      these.freebind = freebind[i];
      auto fd = openUdpSocket(iface.bind, these);
      if (!fd) {
        sockets_.clear();
        return Status::failure("interface '" + iface.name + "': " + fd.error());
      }
      sockets_[d].push_back(std::move(fd).take());
      if (!buffers_checked) {
        buffers_checked = true;
        if (const auto granted = socketBuffers(sockets_[d].back().get()))
          if (const std::string why = bufferShortfall(options.buffer_bytes, granted.value());
              !why.empty())
            log::warn(why);
      }
    }
  }

  // Steering: one program per interface group (attached to any member).
  const auto program = steeringProgram(config_.steering, count_, cpus_);
  for (size_t i = 0; i < config_.interfaces.size() && !program.empty(); ++i) {
    if (const Status attached = attachSteering(sockets_[0][i].get(), program); !attached)
      return Status::failure("interface '" + config_.interfaces[i].name + "': steering " +
                             toString(config_.steering) + ": " + attached.error());
  }

  // 2. Shared state: counters, the first forwarding snapshot, the BFD hand-off.
  for (unsigned d = 0; d < count_; ++d)
    counters_.push_back(std::make_unique<DataplaneCounters>(config_.interfaces.size()));
  // One reader slot per dataplane and one for the control thread.
  forwarding_ = std::make_unique<Published<ForwardingState>>(count_ + 1);
  // One ECMP hash seed for all dataplanes: a flow takes one path whichever
  // dataplane receives it. Random per start, so paths are not predictable.
  uint32_t seed = 0;
  if (config_.tuning.ecmp_seed) seed = *config_.tuning.ecmp_seed;
  else if (from != nullptr) seed = from->manifest().hash_seed;  // flows keep their next hops
  else if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = uint32_t(time(nullptr));
  hash_seed_ = seed;
  try {
    forwarding_->publish(std::make_unique<ForwardingState>(ForwardingState::fromConfig(config_, count_, seed)));
  } catch (const std::exception& e) {
    return Status::failure(e.what());
  }
  bool any_bfd = false;
  for (const auto& iface : config_.interfaces) any_bfd = any_bfd || iface.bfd.has_value();
  if (any_bfd) bfd_ = std::make_unique<BfdHandoff>(count_, config_.tuning.bfd_queue);
  // Every dataplane's sockets and wake eventfd, for rescuing a stalled one.
  std::vector<std::vector<int>> fds(count_);
  for (unsigned d = 0; d < count_; ++d)
    for (const auto& fd : sockets_[d]) fds[d].push_back(fd.get());
  auto rescue = Rescue::create(std::move(fds));
  if (!rescue) return Status::failure(rescue.error());
  rescue_ = std::move(rescue).take();

  // 3. The control socket, before any thread runs.
  control_ = std::make_unique<Control>(config_, views(), *forwarding_, bfd_.get(), rescue_.get());
  if (from != nullptr) {
    const takeover::Manifest& m = from->manifest();
    std::vector<std::pair<std::string, Fd>> rx;
    for (size_t i = 0; i < m.bfd_rx.size(); ++i) rx.emplace_back(m.bfd_rx[i], from->take(from->bfdRxIndex(i)));
    std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> tx;
    for (size_t i = 0; i < m.bfd_tx.size(); ++i) tx.emplace_back(m.bfd_tx[i], from->take(from->bfdTxIndex(i)));
    Fd ctl, metrics;
    if (m.control_socket == config_.control_socket && from->controlIndex() >= 0)
      ctl = from->take(size_t(from->controlIndex()));
    if (config_.metrics_listen && m.metrics == config_.metrics_listen->toString() && from->metricsIndex() >= 0)
      metrics = from->take(size_t(from->metricsIndex()));
    control_->adopt(std::move(ctl), std::move(metrics), std::move(rx), std::move(tx));
  }
  if (Status set_up = control_->setup(); !set_up) return set_up;
  if (config_.announce)
    control_->setForwardingHook(announce_.announced(), [this](bool can_forward) {
      if (const Status done = announce_.setAnnounced(can_forward); !done)
        log::error(done.error());
      else if (announce_.active())
        log::info(can_forward ? "announce: addresses back on " + announce_.device() + " (an egress is up again)"
                              : "announce: addresses removed from " + announce_.device() +
                                    " (health gating: every egress is down)");
    });
  if (reload_hook_) control_->setReloadHook(reload_hook_);
  // The routes are the control module's from here (a reload replaces them
  // there); a copy kept here would hold a full table's RouteSet for ever.
  config_.routes.clear();
  config_.file_routes.reset();
  if (before_threads_)
    if (Status done = before_threads_(); !done) return done;

  // 3b. Least privilege: the sockets are open and no thread runs yet, so
  // every thread started below has the unprivileged credentials and only
  // the kept capabilities (privileges.h).
  if (config_.user) {
    const auto who = resolveIdentity(*config_.user, config_.group);
    if (!who) return Status::failure("user: " + who.error());
    // The control and handover sockets: the user's, mode 0660 as before.
    for (const std::string& path : {config_.control_socket, handoverPath(config_.control_socket)})
      if (::chown(path.c_str(), who->uid, who->gid) != 0 && errno != ENOENT)
        return Status::failure("chown " + path + ": " + std::strerror(errno));
    if (const Status dropped = dropPrivileges(who.value()); !dropped)
      return Status::failure("switching to user '" + *config_.user + "': " + dropped.error());
    std::string kept;
    for (const auto& name : keptCapabilityNames()) kept += (kept.empty() ? "" : ", ") + name;
    log::info("running as uid " + std::to_string(who->uid) + " gid " + std::to_string(who->gid) +
              " with at most " + kept);
  }

  // 4. Dataplanes: each sets up its own ring on its own thread (the ring is
  // single-issuer) and reports back before the daemon counts as started.
  std::vector<std::future<Status>> ready;
  std::shared_future<bool> go = go_.get_future().share();
  for (unsigned d = 0; d < count_; ++d) {
    std::vector<DataplaneInterface> ifaces;
    for (size_t i = 0; i < config_.interfaces.size(); ++i) {
      const auto& ic = config_.interfaces[i];
      DataplaneInterface di;
      di.fd = sockets_[d][i].get();
      di.peer = ic.peer;
      di.bfd_inband = ic.bfd && ic.bfd->mode == BfdMode::kInBand;
      ifaces.push_back(di);
    }
    DataplaneSettings settings{d, cpus_[d], config_.tuning};
    // With inner-flow steering GRO stays off: the kernel merges a train
    // before the steering program runs, and the program sees only its first
    // datagram, so one inner flow's datagrams could be handled by two
    // dataplanes at once and leave out of order (README, "UDP GRO").
    settings.tuning.gro = groInUse(config_);
    if (config_.icmp) {
      settings.icmp_rate = config_.icmp->rate;
      settings.icmp_burst = config_.icmp->burst;
    }
    dataplanes_.push_back(std::make_unique<Dataplane>(settings, std::move(ifaces), *forwarding_,
                                                      *counters_[d], bfd_.get(), *rescue_));
    auto promise = std::make_shared<std::promise<Status>>();
    ready.push_back(promise->get_future());
    auto ended = std::make_shared<std::promise<void>>();
    ended_.push_back(ended->get_future().share());
    Dataplane* dp = dataplanes_.back().get();
    const int cpu = cpus_[d];
    threads_.emplace_back([dp, cpu, promise, go, ended] {
      const std::string name = "ferry-dp" + std::to_string(dp->id());
      pthread_setname_np(pthread_self(), name.c_str());
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
        log::warn("dataplane " + std::to_string(dp->id()) + ": cannot pin to CPU " + std::to_string(cpu));
      Status setup = dp->setup();
      const bool ok = setup.ok();
      promise->set_value(std::move(setup));
      if (ok && go.get()) dp->run();
      dp->close();
      ended->set_value();
    });
  }
  Status failure;
  for (auto& f : ready) {
    Status setup = f.get();
    if (!setup && failure) failure = std::move(setup);
  }
  if (!failure) {
    stop();
    return failure;
  }
  if (from != nullptr) {
    // The old process freezes its BFD sessions now; ours take them over
    // before any dataplane forwards with this process's liveness.
    takeover::BfdState state;
    if (const Status exchanged = from->exchangeBfd(state); !exchanged) {
      stop();
      return Status::failure("takeover: " + exchanged.error());
    }
    const size_t taken = control_->restoreBfd(state);
    log::info("takeover: " + std::to_string(taken) + " of " + std::to_string(state.sessions.size()) +
              " BFD sessions taken over");
  }
  go_.set_value(true);
  go_set_ = true;
  control_thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "ferry-ctl");
    control_->run();
  });
  return {};
}

uint64_t Daemon::beginDrainUs() {
  const uint64_t slowest = control_ ? control_->beginDrain() : 0;
  if (config_.drain_ms) return uint64_t(*config_.drain_ms) * 1000;
  return 2 * slowest;
}

void Daemon::withdrawAnnouncement() {
  if (!announce_.active()) return;
  announce_.close();
  log::info("announce: device " + announce_.device() + " closed (its addresses are withdrawn)");
}

void Daemon::askDataplanesToStop() {
  if (!go_set_) {
    go_set_ = true;
    go_.set_value(false);
  }
  for (auto& dp : dataplanes_) dp->stop();
}

void Daemon::stopControl() {
  if (control_) control_->stop();
  if (control_thread_.joinable()) control_thread_.join();
}

void Daemon::stop() {
  askDataplanesToStop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  ended_.clear();
  stopControl();
}

std::vector<std::string> Daemon::stopWithin(std::chrono::milliseconds limit) {
  askDataplanesToStop();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<std::string> stuck;
  for (size_t d = 0; d < threads_.size(); ++d) {
    if (!threads_[d].joinable()) continue;
    if (ended_[d].wait_until(deadline) != std::future_status::ready) {
      stuck.push_back(dataplaneName(unsigned(d), cpus_[d]));
      continue;
    }
    threads_[d].join();
  }
  stopControl();
  if (stuck.empty()) {
    threads_.clear();
    ended_.clear();
  }
  return stuck;
}

}  // namespace ferry
