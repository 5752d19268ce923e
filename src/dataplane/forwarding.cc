#include "ferry/forwarding.h"

namespace ferry {

ForwardingState ForwardingState::fromConfig(const Config& config) {
  ForwardingState state;
  state.mode = config.mode;
  state.relay_to.assign(config.interfaces.size(), kNoInterface);
  for (const auto& rule : config.relay) state.relay_to[rule.from] = rule.to;
  state.up.assign(config.interfaces.size(), 1);
  return state;
}

}  // namespace ferry
