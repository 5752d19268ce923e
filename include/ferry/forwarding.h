// ForwardingState: the immutable snapshot every dataplane forwards by. The
// control module builds a new one off the hot path when config or liveness
// changes and publishes it (Published<ForwardingState>); dataplanes read it
// with one atomic load per batch.
#pragma once

#include <cstdint>
#include <vector>

#include "ferry/config.h"

namespace ferry {

struct ForwardingState {
  static constexpr uint16_t kNoInterface = 0xffff;

  Mode mode = Mode::Relay;
  uint64_t version = 0;            // increments with every publish, for logs and tests
  std::vector<uint16_t> relay_to;  // relay mode: egress per ingress interface, or kNoInterface
  std::vector<uint8_t> up;         // per interface: 1 when usable (no BFD, or BFD says usable)

  // The relay-mode state for `config`, every interface up.
  static ForwardingState fromConfig(const Config& config);
};

}  // namespace ferry
