#include "ferry/control.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include <sstream>

#include "ferry/log.h"
#include "ferry/metrics.h"

namespace ferry {

Control::Control(const Config& config, std::vector<DataplaneView> dataplanes,
                 Published<ForwardingState>& forwarding, BfdHandoff* bfd)
    : config_(config),
      dataplanes_(std::move(dataplanes)),
      forwarding_(forwarding),
      bfd_(bfd),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  bool any_bfd = false;
  for (const auto& i : config_.interfaces) any_bfd = any_bfd || (i.bfd && i.peer);
  if (any_bfd) {
    // In-band BFD leaves through dataplane 0's socket of each interface.
    std::vector<int> send_fds = dataplanes_.empty() ? std::vector<int>{} : dataplanes_[0].fds;
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = uint64_t(monotonicMicros());
    sessions_ = std::make_unique<BfdController>(config_, std::move(send_fds), seed);
  }
}

Control::~Control() = default;

std::string Control::setup() {
  if (!stop_fd_) return "control: eventfd failed";
  if (std::string why = ctl_.listen(config_.control_socket); !why.empty()) return why;
  if (config_.metrics_listen) {
    if (std::string why = metrics_.listenTcp(*config_.metrics_listen); !why.empty()) return why;
    metrics_on_ = true;
  }
  if (sessions_) {
    if (std::string why = sessions_->setup(); !why.empty()) return why;
    published_liveness_ = ~0ull;  // force the first publish
    publishLiveness();
  }
  return {};
}

void Control::publishLiveness() {
  if (!sessions_ || sessions_->livenessVersion() == published_liveness_) return;
  const ForwardingState* current = forwarding_.current();
  auto next = std::make_unique<ForwardingState>(*current);
  next->setLiveness(sessions_->liveness());
  next->version = current->version + 1;
  forwarding_.publish(std::move(next));
  published_liveness_ = sessions_->livenessVersion();
}

void Control::requestReload() noexcept {
  reload_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(stop_fd_.get(), &one, sizeof(one));
}

std::string Control::reload() {
  ConfigResult result = loadConfigFile(config_.file);
  if (!result.config) {
    std::string why;
    for (const auto& e : result.errors) why += (why.empty() ? "" : "; ") + e.format();
    return "reload refused, the running config stays: " + why;
  }
  if (std::string why = reloadBlocker(config_, *result.config); !why.empty())
    return "reload refused, the running config stays: " + why;
  const ForwardingState* current = forwarding_.current();
  std::unique_ptr<ForwardingState> next;
  try {
    next = std::make_unique<ForwardingState>(ForwardingState::fromConfig(
        *result.config, unsigned(dataplanes_.size()), current->hash_seed));
  } catch (const std::exception& e) {
    return std::string("reload refused, the running config stays: ") + e.what();
  }
  next->setLiveness(current->up);  // liveness is the BFD sessions', not the file's
  next->version = current->version + 1;
  forwarding_.publish(std::move(next));
  config_.relay = std::move(result.config->relay);
  config_.routes = std::move(result.config->routes);
  config_.icmp = std::move(result.config->icmp);
  log::info("reloaded " + config_.file + ": " + config_.summary());
  return {};
}

void Control::stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = write(stop_fd_.get(), &one, sizeof(one));
}

std::string Control::handleRequest(const std::string& request) {
  std::istringstream words(request);
  std::string verb, what, extra;
  words >> verb >> what >> extra;
  nlohmann::json reply;
  if (verb == "show" && what == "bfd" && extra.empty()) {
    if (!sessions_) return nlohmann::json{{"sessions", nlohmann::json::array()}}.dump();
    return sessions_->showJson(monotonicMicros()).dump();
  }
  if (verb == "set" && what == "bfd") {
    std::string key, value, more;
    words >> key >> value >> more;
    if (!sessions_) return nlohmann::json{{"error", "no interface has BFD"}}.dump();
    if (extra.empty() || key.empty() || value.empty() || !more.empty())
      return nlohmann::json{{"error", "expected: set bfd INTERFACE interval_ms|detect_mult|admin_down|hold_up_ms VALUE"}}.dump();
    const std::string why = sessions_->set(extra, key, value, monotonicMicros());
    if (!why.empty()) return nlohmann::json{{"error", why}}.dump();
    publishLiveness();
    return nlohmann::json{{"ok", true}}.dump();
  }
  if (verb == "reload" && what.empty()) {
    const std::string why = reload();
    if (!why.empty()) {
      log::error(why);
      return nlohmann::json{{"error", why}}.dump();
    }
    return nlohmann::json{{"ok", true}, {"summary", config_.summary()}}.dump();
  }
  if (verb == "show" && extra.empty()) {
    if (what == "stats") return statsJson(config_, dataplanes_).dump();
    if (what == "dataplanes") return dataplanesJson(config_, dataplanes_).dump();
    if (what == "interfaces")
      return interfacesJson(config_, dataplanes_, forwarding_.current()).dump();
    if (what == "routes") return routesJson(config_, forwarding_.current()).dump();
  }
  reply["error"] = "unknown request '" + request +
                   "' (expected: show stats | show interfaces | show dataplanes | show bfd | show routes | "
                   "set bfd INTERFACE KEY VALUE | reload)";
  return reply.dump();
}

bfd::Micros Control::serviceBfd() {
  if (!sessions_) return bfd::kNever;
  sessions_->service(monotonicMicros());
  publishLiveness();
  return sessions_->nextDeadline();
}

std::string Control::handleMetrics(const std::string& request_line) {
  const ForwardingState* state = forwarding_.current();
  const nlohmann::json bfd = sessions_ ? sessions_->showJson(monotonicMicros()) : nlohmann::json();
  const nlohmann::json routes =
      config_.mode == Mode::Route ? routesJson(config_, state) : nlohmann::json();
  return httpResponse(request_line,
                      prometheusText(statsJson(config_, dataplanes_),
                                     interfacesJson(config_, dataplanes_, state), bfd, routes));
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
  const std::vector<int> bfd_fds = sessions_ ? sessions_->pollFds() : std::vector<int>{};
  std::vector<pollfd> fds;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    // BFD first: its deadlines bound how long we may sleep.
    const bfd::Micros next = serviceBfd();
    fds.clear();
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    fds.push_back({bfd_ != nullptr ? bfd_->eventFd() : -1, POLLIN, 0});
    for (int fd : bfd_fds) fds.push_back({fd, POLLIN, 0});
    const size_t ctl_first = fds.size();
    ctl_.addPollFds(fds);
    const size_t metrics_first = fds.size();
    if (metrics_on_) metrics_.addPollFds(fds);
    // At most 1 s between turns (snapshot reclamation); less when BFD is due.
    const bfd::Micros now = monotonicMicros();
    bfd::Micros wait_us = 1'000'000;
    if (next != bfd::kNever) wait_us = next > now ? std::min<bfd::Micros>(next - now, wait_us) : 0;
    if (bfd_ != nullptr && !bfd_->prepareToSleep()) wait_us = 0;
    const timespec timeout{time_t(wait_us / 1'000'000), long(wait_us % 1'000'000) * 1000};
    const int ready = ppoll(fds.data(), fds.size(), &timeout, nullptr);
    if (bfd_ != nullptr) bfd_->awake();
    if (ready < 0) continue;  // EINTR
    const bfd::Micros after = monotonicMicros();
    if (fds[0].revents & POLLIN) {
      uint64_t value;
      [[maybe_unused]] const ssize_t n = read(stop_fd_.get(), &value, sizeof(value));
    }
    if (reload_requested_.exchange(false, std::memory_order_acq_rel)) {
      if (const std::string why = reload(); !why.empty()) log::error(why);
    }
    if (bfd_ != nullptr && sessions_)
      bfd_->drain([&](const BfdFrame& frame) { sessions_->onFrame(frame, after); });
    for (size_t i = 0; i < bfd_fds.size(); ++i)
      if (fds[2 + i].revents & POLLIN) sessions_->onReadable(bfd_fds[i], after);
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
}

}  // namespace ferry
