#include "ferry/control/control.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ferry/control/log.h"
#include "ferry/control/metrics.h"

namespace ferry {

namespace {

// The in-band receive path as the BFD thread sees it: the dataplanes'
// sockets (FIONREAD), loop counters and the hand-off queues.
class InBandReceivePath final : public BfdController::ReceivePath {
 public:
  InBandReceivePath(const std::vector<DataplaneView>& dataplanes, const BfdHandoff* handoff)
      : dataplanes_(dataplanes), handoff_(handoff) {}
  unsigned dataplanes() const noexcept override { return unsigned(dataplanes_.size()); }
  bool waiting(unsigned dataplane, uint16_t interface) const noexcept override {
    const std::vector<int>& fds = dataplanes_[dataplane].fds;
    int bytes = 0;  // UDP: the size of the next datagram, 0 when none waits
    return interface < fds.size() && fds[interface] >= 0 && ioctl(fds[interface], FIONREAD, &bytes) == 0 &&
           bytes > 0;
  }
  uint64_t turns(unsigned dataplane) const noexcept override {
    return dataplanes_[dataplane].counters->loops.get();
  }
  bool handedOver() const noexcept override { return handoff_ != nullptr && handoff_->pending(); }
  bool runnable(unsigned dataplane) const noexcept override {
    const int tid = dataplanes_[dataplane].counters->thread_id.load(std::memory_order_relaxed);
    if (tid <= 0) return false;
    // /proc/self/task/TID/stat: "TID (COMM) STATE ...": R = running or on a
    // run queue; S (asleep in io_uring_enter) and everything else are not.
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char text[256];
    const ssize_t n = ::read(fd, text, sizeof(text) - 1);
    ::close(fd);
    if (n <= 0) return false;
    text[n] = '\0';
    const char* end = std::strrchr(text, ')');
    return end != nullptr && end[1] == ' ' && end[2] == 'R';
  }

 private:
  const std::vector<DataplaneView>& dataplanes_;
  const BfdHandoff* handoff_;
};

}  // namespace

Control::Control(const Config& config, std::vector<DataplaneView> dataplanes,
                 Published<ForwardingState>& forwarding, BfdHandoff* bfd, Rescue* rescue)
    : config_(config),
      dataplanes_(std::move(dataplanes)),
      forwarding_(forwarding),
      bfd_handoff_(bfd),
      reader_(unsigned(dataplanes_.size())),
      bfd_wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      watch_(config_.steering, dataplanes_, rescue),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      interfaces_up_(uint32_t(config.interfaces.size())) {
  bool any_bfd = false;
  for (const auto& i : config_.interfaces) any_bfd = any_bfd || (i.bfd && i.peer);
  if (any_bfd) {
    // In-band BFD leaves through dataplane 0's socket of each interface.
    std::vector<int> send_fds = dataplanes_.empty() ? std::vector<int>{} : dataplanes_[0].fds;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = uint64_t(monotonicMicros());
    bfd_controller_ = std::make_unique<BfdController>(config_, std::move(send_fds), seed);
    receive_path_ = std::make_unique<InBandReceivePath>(dataplanes_, bfd_handoff_);
    bfd_controller_->setReceivePath(receive_path_.get());
  }
  if (config_.mode == Mode::kRoute && config_.fpm) {
    // A next hop maps to the interface whose peer has its address.
    std::vector<std::optional<route::IpAddress>> peers;
    for (const auto& i : config_.interfaces) {
      std::optional<route::IpAddress> peer;
      if (i.peer) peer = route::IpAddress::parse(i.peer->host());
      peers.push_back(peer);
    }
    fpm_ = std::make_unique<FpmServer>(*config_.fpm, std::move(peers),
                                       [this](const fpm::ResolvedRoutes& routes) { return publishFpmRoutes(routes); });
  }
}

Control::~Control() = default;

Status Control::setup() {
  if (!wake_fd_ || !bfd_wake_fd_) return Status::failure("control: eventfd failed");
  if (ctl_.listenFd() < 0)
    if (Status listening = ctl_.listen(config_.control_socket); !listening) return listening;
  if (config_.metrics_listen) {
    if (metrics_.listenFd() < 0)
      if (Status listening = metrics_.listenTcp(*config_.metrics_listen); !listening)
        return listening;
    metrics_on_ = true;
  }
  if (fpm_) {
    if (Status listening = fpm_->listen(); !listening) return listening;
    std::lock_guard lock(routes_mu_);
    config_table_ = forwarding_.current()->routes;
  }
  if (bfd_controller_) {
    std::lock_guard lock(bfd_mu_);
    if (Status opened = bfd_controller_->setup(!adopting_); !opened) return opened;
    published_liveness_ = ~0ull;  // force the first publish
    publishLiveness();
  }
  return {};
}

void Control::adopt(Fd control, Fd metrics, std::vector<std::pair<std::string, Fd>> bfd_rx,
                    std::vector<std::pair<takeover::Manifest::BfdTx, Fd>> bfd_tx) {
  adopting_ = true;
  if (control) ctl_.adopt(std::move(control), config_.control_socket);
  if (metrics && config_.metrics_listen) metrics_.adopt(std::move(metrics), "");
  if (bfd_controller_) bfd_controller_->adoptSockets(std::move(bfd_rx), std::move(bfd_tx));
}

size_t Control::restoreBfd(const takeover::BfdState& state) {
  if (!bfd_controller_) return 0;
  std::lock_guard lock(bfd_mu_);
  const size_t taken = bfd_controller_->restore(state, monotonicMicros());
  publishLiveness();
  return taken;
}

takeover::BfdState Control::freezeBfd() {
  std::lock_guard lock(bfd_mu_);
  bfd_frozen_.store(true, std::memory_order_release);
  return bfd_controller_ ? bfd_controller_->save() : takeover::BfdState{};
}

void Control::thawBfd() {
  {
    std::lock_guard lock(bfd_mu_);
    bfd_frozen_.store(false, std::memory_order_release);
  }
  wakeBfd();
}

std::vector<std::pair<std::string, int>> Control::bfdReceiveSockets() const {
  return bfd_controller_ ? bfd_controller_->receiveSockets() : std::vector<std::pair<std::string, int>>{};
}

std::vector<std::pair<takeover::Manifest::BfdTx, int>> Control::bfdTransmitSockets() const {
  return bfd_controller_ ? bfd_controller_->transmitSockets() : std::vector<std::pair<takeover::Manifest::BfdTx, int>>{};
}

void Control::publishLiveness() {
  if (!bfd_controller_ || bfd_controller_->livenessVersion() == published_liveness_) return;
  std::lock_guard lock(publish_mu_);
  const ForwardingState* current = forwarding_.current();
  auto next = std::make_unique<ForwardingState>(*current);
  next->setLiveness(bfd_controller_->liveness());
  next->version = current->version + 1;
  // The BFD thread never frees snapshots (a route table's worth of work):
  // the control thread's turns and the table publishers do.
  forwarding_.publish(std::move(next), Published<ForwardingState>::Reclaim::kLater);
  published_liveness_ = bfd_controller_->livenessVersion();
  const auto& up = bfd_controller_->liveness();
  interfaces_up_.store(uint32_t(std::count(up.begin(), up.end(), uint8_t{1})), std::memory_order_relaxed);
}

void Control::requestReload() noexcept {
  reload_requested_.store(true, std::memory_order_release);
  notifyEventFd(wake_fd_.get());
}

std::string Control::reload() {
  if (reload_hook_) reload_hook_(false);
  std::string why = reloadFile();
  if (reload_hook_) reload_hook_(true);
  return why;
}

std::string Control::reloadFile() {
  ConfigResult result = loadConfigFile(config_.file);
  if (!result.config) {
    std::string why;
    for (const auto& e : result.errors) why += (why.empty() ? "" : "; ") + e.format();
    return "reload refused, the running config stays: " + why;
  }
  if (std::string why = reloadBlocker(config_, *result.config); !why.empty())
    return "reload refused, the running config stays: " + why;
  // The new tables are built outside publish_mu_ (seconds for a large route
  // table); the hash seed never changes after startup.
  uint32_t seed;
  {
    std::lock_guard lock(publish_mu_);
    seed = forwarding_.current()->hash_seed;
  }
  std::unique_ptr<ForwardingState> next;
  try {
    next = std::make_unique<ForwardingState>(
        ForwardingState::fromConfig(*result.config, unsigned(dataplanes_.size()), seed));
  } catch (const std::exception& e) {
    return std::string("reload refused, the running config stays: ") + e.what();
  }
  // With FPM: the new config's routes plus the FPM routes of the running
  // table (the FPM thread cannot publish meanwhile: routes_mu_), then a
  // fresh merge from the FPM store at its next batch (a prefix the old
  // config shadowed comes back).
  std::unique_lock routes_lock(routes_mu_, std::defer_lock);
  if (fpm_) {
    routes_lock.lock();
    std::shared_ptr<const route::RouteTable> running;
    size_t fpm_count = 0;
    {
      std::lock_guard lock(publish_mu_);
      running = forwarding_.current()->routes;
      fpm_count = forwarding_.current()->fpm_routes;
    }
    fpm::MergedTable merged;
    try {
      merged = fpm::buildMerged(next->routes.get(), running ? fpm::fpmRoutesOf(*running, fpm_count) : fpm::ResolvedRoutes{},
                                seed);
    } catch (const std::exception& e) {
      return std::string("reload refused, the running config stays: ") + e.what();
    }
    config_table_ = next->routes;
    next->routes = std::move(merged.table);
    next->route_counters = std::make_shared<RouteCounters>(unsigned(dataplanes_.size()), next->routes->size());
    next->fpm_routes = merged.stats.fpm_routes;
  }
  carryRouteCounters(next->routes, next->route_counters);
  {
    std::lock_guard lock(publish_mu_);
    const ForwardingState* current = forwarding_.current();
    next->setLiveness(current->up);  // liveness is the BFD sessions', not the file's
    next->version = current->version + 1;
    forwarding_.publish(std::move(next), Published<ForwardingState>::Reclaim::kLater);
  }
  forwarding_.reclaim();  // outside publish_mu_, which the BFD thread takes
  if (fpm_) {
    routes_lock.unlock();
    fpm_->republish();
  }
  config_.relay = std::move(result.config->relay);
  config_.routes = std::move(result.config->routes);
  config_.routes_file = std::move(result.config->routes_file);
  config_.file_routes = std::move(result.config->file_routes);
  config_.icmp = std::move(result.config->icmp);
  // BFD keys (key rollover): the running sessions take them at once and keep
  // their state (reloadBlocker let nothing else of bfd change).
  std::vector<std::string> rekeyed;
  if (bfd_controller_) {
    std::lock_guard lock(bfd_mu_);
    for (size_t i = 0; i < config_.interfaces.size(); ++i) {
      auto& running = config_.interfaces[i].bfd;
      const auto& wanted = result.config->interfaces[i].bfd;
      if (!running || !wanted || running->auth == wanted->auth) continue;
      running->auth = wanted->auth;
      rekeyed.push_back(config_.interfaces[i].name);
    }
    if (!rekeyed.empty() && !bfd_controller_->applyAuthKeys())
      log::error(
          "reload: a BFD session refused its new keys and keeps its old ones");  // not reached
  }
  reload_rekeyed_ = rekeyed;
  std::string keys;
  for (const auto& name : rekeyed) keys += (keys.empty() ? "; new BFD keys on " : ", ") + name;
  log::info("reloaded " + config_.file + ": " + config_.summary() + keys);
  return {};
}

FpmServer::BatchResult Control::publishFpmRoutes(const fpm::ResolvedRoutes& routes) {
  const bfd::Micros start = monotonicMicros();
  std::lock_guard routes_lock(routes_mu_);
  uint32_t seed;
  std::shared_ptr<const route::RouteTable> running;
  std::shared_ptr<RouteCounters> running_counters;
  {
    std::lock_guard lock(publish_mu_);
    seed = forwarding_.current()->hash_seed;
    running = forwarding_.current()->routes;
    running_counters = forwarding_.current()->route_counters;
  }
  // Outside publish_mu_ (the BFD thread publishes liveness under it); the
  // routes cannot change meanwhile (routes_mu_).
  fpm::TableMerger::Result merged = table_merger_.merge(config_table_, running, routes, seed);
  auto counters = std::make_shared<RouteCounters>(unsigned(dataplanes_.size()), merged.table->size());
  if (running && running_counters)
    RouteCounters::carryOver(running_counters, counters, std::move(merged.from));
  FpmServer::BatchResult result;
  {
    std::lock_guard lock(publish_mu_);
    const ForwardingState* current = forwarding_.current();
    auto next = std::make_unique<ForwardingState>(*current);
    next->routes = std::move(merged.table);
    next->route_counters = std::move(counters);
    next->fpm_routes = merged.stats.fpm_routes;
    next->version = current->version + 1;
    result.version = next->version;
    forwarding_.publish(std::move(next), Published<ForwardingState>::Reclaim::kLater);
  }
  forwarding_.reclaim();  // outside publish_mu_, which the BFD thread takes
  result.routes = merged.stats.fpm_routes;
  result.shadowed = merged.stats.shadowed;
  result.tries_patched = merged.tries_patched;
  result.build_us = uint64_t(monotonicMicros() - start);
  return result;
}

void Control::carryRouteCounters(const std::shared_ptr<const route::RouteTable>& table,
                                 const std::shared_ptr<RouteCounters>& counters) {
  if (!table || !counters) return;
  std::shared_ptr<const route::RouteTable> running;
  std::shared_ptr<RouteCounters> running_counters;
  {
    std::lock_guard lock(publish_mu_);
    running = forwarding_.current()->routes;
    running_counters = forwarding_.current()->route_counters;
  }
  // Outside publish_mu_ (the BFD thread publishes liveness under it): the
  // prefix match sorts the running table (0.43 s for a million routes).
  if (running && running_counters)
    RouteCounters::carryOver(running_counters, counters, table->indicesIn(*running));
}

nlohmann::json Control::routesView(const ForwardingState* state) const {
  nlohmann::json j = routesJson(config_, state);
  const size_t count = state != nullptr && state->routes ? state->routes->size() : 0;
  const size_t from_fpm = state != nullptr ? state->fpm_routes : 0;
  j["sources"] = {{"config", count - from_fpm}, {"fpm", from_fpm}};
  if (fpm_) j["fpm"] = fpm_->statusJson();
  return j;
}

void Control::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  notifyEventFd(wake_fd_.get());
  wakeBfd();
}

void Control::wakeBfd() noexcept { notifyEventFd(bfd_wake_fd_.get()); }

namespace {

// The control thread's hold on a snapshot while it renders one.
class Reading {
 public:
  Reading(Published<ForwardingState>& p, unsigned reader) : p_(p), reader_(reader), state_(p.enter(reader)) {}
  ~Reading() { p_.leave(reader_); }
  Reading(const Reading&) = delete;
  Reading& operator=(const Reading&) = delete;
  const ForwardingState* get() const { return state_; }

 private:
  Published<ForwardingState>& p_;
  unsigned reader_;
  const ForwardingState* state_;
};

}  // namespace

std::string Control::handleRequest(const std::string& request) {
  std::istringstream words(request);
  std::string verb, what, extra;
  words >> verb >> what >> extra;
  nlohmann::json reply;
  if (verb == "show" && what == "bfd" && extra.empty()) {
    if (!bfd_controller_) return nlohmann::json{{"sessions", nlohmann::json::array()}}.dump();
    nlohmann::json j;
    {
      std::lock_guard lock(bfd_mu_);
      j = bfd_controller_->showJson(monotonicMicros());
    }
    return j.dump();
  }
  if (verb == "set" && what == "bfd") {
    std::string key, value, more;
    words >> key >> value >> more;
    if (!bfd_controller_) return nlohmann::json{{"error", "no interface has BFD"}}.dump();
    if (bfd_frozen_.load(std::memory_order_acquire))
      return nlohmann::json{{"error", "BFD is being handed over to a new ferryd; ask it instead"}}.dump();
    if (extra.empty() || key.empty() || value.empty() || !more.empty())
      return nlohmann::json{{"error", "expected: set bfd INTERFACE interval_ms|detect_mult|admin_down|hold_up_ms VALUE"}}.dump();
    {
      std::lock_guard lock(bfd_mu_);
      const std::string why = bfd_controller_->set(extra, key, value, monotonicMicros());
      if (!why.empty()) return nlohmann::json{{"error", why}}.dump();
      publishLiveness();
    }
    wakeBfd();  // its next deadline may have moved
    return nlohmann::json{{"ok", true}}.dump();
  }
  if (verb == "reload" && what.empty()) {
    const std::string why = reload();
    if (!why.empty()) {
      log::error(why);
      return nlohmann::json{{"error", why}}.dump();
    }
    return nlohmann::json{
        {"ok", true}, {"summary", config_.summary()}, {"bfd_keys_changed", reload_rekeyed_}}
        .dump();
  }
  if (verb == "show" && what == "routes" && !extra.empty()) {
    // show routes ADDRESS|PREFIX: the route a packet to that address takes
    // (longest-prefix match; a prefix is looked up by its first address).
    std::string more;
    words >> more;
    std::string why;
    std::optional<route::IpAddress> address = route::IpAddress::parse(extra, &why);
    if (!address)
      if (auto prefix = route::Prefix::parse(extra, nullptr, route::HostBits::kKeep)) address = prefix->address();
    if (!address || !more.empty())
      return nlohmann::json{{"error", "expected: show routes [ADDRESS|PREFIX] (" + why + ")"}}.dump();
    const Reading state(forwarding_, reader_);
    nlohmann::json j{{"address", address->toString()}, {"route", nullptr}, {"local", false}};
    // ferry's own address (an ICMP source) is never routed (dataplane/decide.cc).
    if (state.get() != nullptr &&
        (state.get()->icmp_source_v4 == address || state.get()->icmp_source_v6 == address)) {
      j["local"] = true;
      return j.dump();
    }
    if (state.get() != nullptr && state.get()->routes) {
      const uint32_t r = state.get()->routes->lookup(*address);
      if (r != route::kNoRouteIndex) j["route"] = routeJson(config_, *state.get(), r);
    }
    return j.dump();
  }
  if (verb == "show" && extra.empty()) {
    if (what == "stats") {
      const auto health = watch_.health();
      return statsJson(config_, dataplanes_, &health).dump();
    }
    if (what == "dataplanes") {
      const auto health = watch_.health();
      return dataplanesJson(config_, dataplanes_, &health).dump();
    }
    if (what == "interfaces") {
      const Reading state(forwarding_, reader_);
      return interfacesJson(config_, dataplanes_, state.get()).dump();
    }
    if (what == "routes") {
      const Reading state(forwarding_, reader_);
      return routesView(state.get()).dump();
    }
  }
  reply["error"] = "unknown request '" + request +
                   "' (expected: show stats | show interfaces | show dataplanes | show bfd | show routes | "
                   "set bfd INTERFACE KEY VALUE | reload)";
  return reply.dump();
}

std::string Control::handleMetrics(const std::string& request_line) {
  nlohmann::json bfd;
  if (bfd_controller_) {
    std::lock_guard lock(bfd_mu_);
    bfd = bfd_controller_->showJson(monotonicMicros());
  }
  const auto health = watch_.health();
  const Reading state(forwarding_, reader_);
  const nlohmann::json routes =
      config_.mode == Mode::kRoute ? routesView(state.get()) : nlohmann::json();
  return httpResponse(request_line,
                      prometheusText(statsJson(config_, dataplanes_, &health),
                                     interfacesJson(config_, dataplanes_, state.get()), bfd, routes));
}

Control::Health Control::health() const noexcept {
  const uint64_t now = monotonicMicros();
  const uint64_t stalled_for = watch_.longestStallUs(now);
  return {control_turn_us_.load(std::memory_order_relaxed), bfd_turn_us_.load(std::memory_order_relaxed),
          stalled_for > 0 ? now - stalled_for : 0, interfaces_up_.load(std::memory_order_relaxed)};
}

void Control::runBfd() noexcept {
  pthread_setname_np(pthread_self(), "ferry-bfd");
  // BFD timers are tens of milliseconds; under CPU load an ordinary thread
  // can wait longer than that for a CPU and flap every session (SCION's
  // issue #4019). A low real-time priority lets this thread preempt
  // dataplanes and other processes; it sleeps in ppoll() between events,
  // and the kernel's RT throttling bounds it even if it did not.
  sched_param param{};
  param.sched_priority = 10;
  if (const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); err != 0)
    log::warn(std::string("BFD thread: cannot use SCHED_FIFO (") + std::strerror(err) +
              "); BFD timing may suffer under CPU load");
  std::vector<int> rx_fds;
  if (bfd_controller_) {
    std::lock_guard lock(bfd_mu_);
    rx_fds = bfd_controller_->pollFds();
  }
  std::vector<pollfd> fds;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    bfd::Micros next = bfd::kNever;
    // Frozen (handed over): no timer, no transmission, and the RFC 5881
    // sockets are left for the new process to read.
    const bool frozen = bfd_frozen_.load(std::memory_order_acquire);
    if (bfd_controller_ && !frozen) {
      std::lock_guard lock(bfd_mu_);
      if (!bfd_frozen_.load(std::memory_order_relaxed)) {
        bfd_controller_->service(monotonicMicros());
        publishLiveness();
        if (forwarding_hook_ && bfd_controller_->canForward() != can_forward_) {
          can_forward_ = !can_forward_;
          forwarding_hook_(can_forward_);
        }
        next = bfd_controller_->nextDeadline();
      }
    }
    fds.clear();
    fds.push_back({bfd_wake_fd_.get(), POLLIN, 0});
    fds.push_back({bfd_handoff_ != nullptr ? bfd_handoff_->eventFd() : -1, POLLIN, 0});
    if (!frozen)
      for (int fd : rx_fds) fds.push_back({fd, POLLIN, 0});
    const bfd::Micros now = monotonicMicros();
    bfd::Micros wait_us = 1'000'000;
    if (next != bfd::kNever) wait_us = next > now ? std::min<bfd::Micros>(next - now, wait_us) : 0;
    if (bfd_handoff_ != nullptr && !bfd_handoff_->prepareToSleep()) wait_us = 0;
    const timespec timeout{time_t(wait_us / 1'000'000), long(wait_us % 1'000'000) * 1000};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (bfd_handoff_ != nullptr) bfd_handoff_->awake();
    bfd_turn_us_.store(monotonicMicros(), std::memory_order_relaxed);
    if (ready < 0) continue;  // EINTR
    const bfd::Micros after = monotonicMicros();
    if (fds[0].revents & POLLIN) clearEventFd(bfd_wake_fd_.get());
    std::lock_guard lock(bfd_mu_);
    // Frozen: what the old dataplanes still hand over is dropped (the new
    // process's own dataplanes receive the rest).
    const bool drop = bfd_frozen_.load(std::memory_order_relaxed);
    if (bfd_handoff_ != nullptr)
      bfd_handoff_->drain([&](const BfdFrame& frame) {
        if (bfd_controller_ && !drop) bfd_controller_->onFrame(frame, after);
      });
    for (size_t i = 0; i + 2 < fds.size() && !drop; ++i)
      if (fds[2 + i].revents & POLLIN) bfd_controller_->onReadable(rx_fds[i], after);
    // Health gating changed whether this host can forward: the announcement
    // follows (a few netlink messages, only on a change).
    if (bfd_controller_ && !drop && forwarding_hook_ && bfd_controller_->canForward() != can_forward_) {
      can_forward_ = !can_forward_;
      forwarding_hook_(can_forward_);
    }
  }
}

uint64_t Control::beginDrain() {
  if (!bfd_controller_) return 0;
  uint64_t slowest = 0;
  {
    std::lock_guard lock(bfd_mu_);
    slowest = bfd_controller_->beginDrain(monotonicMicros());
  }
  wakeBfd();
  return slowest;
}

void Control::run() noexcept {
  const auto handler = [this](const std::string& request) {
    try {
      return handleRequest(request);
    } catch (const std::exception& e) {
      nlohmann::json reply;
      reply["error"] = std::string("internal error: ") + e.what();
      return reply.dump();
    }
  };
  std::thread bfd_thread;
  if (bfd_controller_ || bfd_handoff_ != nullptr) bfd_thread = std::thread([this] { runBfd(); });
  std::thread watch_thread([this] { watch_.run(); });
  if (fpm_) fpm_->start();
  std::vector<pollfd> fds;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({wake_fd_.get(), POLLIN, 0});
    const size_t ctl_first = fds.size();
    ctl_.addPollFds(fds);
    const size_t metrics_first = fds.size();
    if (metrics_on_) metrics_.addPollFds(fds);
    // At most 1 s between turns: snapshot reclamation.
    const timespec timeout{1, 0};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, nullptr);
    control_turn_us_.store(monotonicMicros(), std::memory_order_relaxed);
    if (ready < 0) continue;  // EINTR
    if (fds[0].revents & POLLIN) clearEventFd(wake_fd_.get());
    if (reload_requested_.exchange(false, std::memory_order_acq_rel)) {
      if (const std::string why = reload(); !why.empty()) log::error(why);
    }
    ctl_.onPoll(fds.data() + ctl_first, metrics_first - ctl_first, handler);
    if (metrics_on_)
      metrics_.onPoll(fds.data() + metrics_first, fds.size() - metrics_first,
                      [this](const std::string& line) {
                        try {
                          return handleMetrics(line);
                        } catch (const std::exception& e) {
                          return httpResponse(line, std::string("# error: ") + e.what() + "\n");
                        }
                      });
    forwarding_.reclaim();
  }
  watch_.stop();
  watch_thread.join();
  if (fpm_) fpm_->stop();
  if (bfd_thread.joinable()) bfd_thread.join();
}

}  // namespace ferry
