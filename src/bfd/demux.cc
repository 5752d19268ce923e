// Discriminator table and §6.3 session selection.
#include <algorithm>

#include "ferry/bfd/demux.h"

namespace ferry::bfd {
namespace {

struct ByDisc {
  bool operator()(const std::pair<uint32_t, uint32_t>& entry, uint32_t disc) const noexcept {
    return entry.first < disc;
  }
};

}  // namespace

uint32_t DiscriminatorTable::allocate(uint32_t session) {
  // With at most a few thousand sessions in 2^32 - 1 values, a collision is
  // rare and the loop ends after one or two draws.
  for (;;) {
    const auto disc = static_cast<uint32_t>(prng_.next());
    if (disc != 0 && insert(disc, session)) return disc;
  }
}

bool DiscriminatorTable::insert(uint32_t disc, uint32_t session) {
  if (disc == 0) return false;
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), disc, ByDisc{});
  if (it != entries_.end() && it->first == disc) return false;
  entries_.insert(it, {disc, session});
  return true;
}

bool DiscriminatorTable::release(uint32_t disc) noexcept {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), disc, ByDisc{});
  if (it == entries_.end() || it->first != disc) return false;
  entries_.erase(it);
  return true;
}

std::optional<uint32_t> DiscriminatorTable::find(uint32_t disc) const noexcept {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), disc, ByDisc{});
  if (it == entries_.end() || it->first != disc) return std::nullopt;
  return it->second;
}

Selection select(const ControlPacket& packet, const DiscriminatorTable& table,
                 std::optional<uint32_t> session_for_peer) noexcept {
  if (packet.your_disc != 0) {
    if (const auto session = table.find(packet.your_disc)) return {session, RxDiscard::kNone};
    return {std::nullopt, RxDiscard::kUnknownDiscriminator};
  }
  if (session_for_peer) return {session_for_peer, RxDiscard::kNone};
  return {std::nullopt, RxDiscard::kNoSessionForPeer};
}

}  // namespace ferry::bfd
