#include "ferry/control/bfd_controller.h"

#include "ferry/control/render.h"

namespace ferry {

BfdController::BfdController(const Config& config, std::vector<int> send_fds, uint64_t seed)
    : transport_(config, std::move(send_fds)), sessions_(config, transport_, seed) {}

Status BfdController::setup(bool start) {
  if (Status opened = transport_.openSockets(sessions_); !opened) return opened;
  if (start) sessions_.start(monotonicMicros());
  return {};
}

nlohmann::json BfdController::showJson(bfd::Micros now) const { return bfdJson(sessions_, transport_, now); }

}  // namespace ferry
