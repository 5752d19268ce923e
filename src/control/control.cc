#include "ferry/control.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sstream>

#include "ferry/log.h"

namespace ferry {

Control::Control(const Config& config, std::vector<DataplaneView> dataplanes,
                 Published<ForwardingState>& forwarding, BfdHandoff* bfd)
    : config_(config),
      dataplanes_(std::move(dataplanes)),
      forwarding_(forwarding),
      bfd_(bfd),
      stop_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

Control::~Control() = default;

std::string Control::setup() {
  if (!stop_fd_) return "control: eventfd failed";
  return ctl_.listen(config_.control_socket);
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
  if (verb == "show" && extra.empty()) {
    if (what == "stats") return statsJson(config_, dataplanes_).dump();
    if (what == "dataplanes") return dataplanesJson(config_, dataplanes_).dump();
    if (what == "interfaces")
      return interfacesJson(config_, dataplanes_, forwarding_.current()).dump();
  }
  reply["error"] = "unknown request '" + request +
                   "' (expected: show stats | show interfaces | show dataplanes)";
  return reply.dump();
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
  std::vector<pollfd> fds;
  while (!stop_requested_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    fds.push_back({bfd_ != nullptr ? bfd_->eventFd() : -1, POLLIN, 0});
    ctl_.addPollFds(fds);
    int timeout_ms = 1000;
    if (bfd_ != nullptr && !bfd_->prepareToSleep()) timeout_ms = 0;
    const int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (bfd_ != nullptr) bfd_->awake();
    if (ready < 0) continue;  // EINTR
    if (bfd_ != nullptr) {
      bfd_->drain([&](const BfdFrame&) {});
    }
    ctl_.onPoll(fds.data() + 2, fds.size() - 2, handler);
    forwarding_.reclaim();
  }
}

}  // namespace ferry
