// Discriminator allocation and packet-to-session selection (RFC 5880 §6.3).
// Pure: the caller owns the sessions (in a vector, say) and refers to them by
// index; this table maps our discriminators to those indices.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "ferry/bfd/packet.h"
#include "ferry/bfd/random.h"
#include "ferry/bfd/session.h"

namespace ferry::bfd {

// bfd.LocalDiscr values in use, each mapped to a session index. A sorted
// vector: lookups (every received packet) are a binary search that neither
// allocates nor throws; inserts happen at configuration time.
class DiscriminatorTable {
 public:
  // `seed` seeds the PRNG that picks discriminators (§6.3: SHOULD be random).
  explicit DiscriminatorTable(uint64_t seed) noexcept : prng_(seed) {}

  // Picks a random discriminator that is non-zero and not in use, maps it to
  // `session` and returns it. A restarted daemon therefore uses new values,
  // which is how a peer tells a restart from a flap.
  uint32_t allocate(uint32_t session);

  // Maps a chosen discriminator (a config that pins one); false if it is 0 or
  // already in use.
  bool insert(uint32_t disc, uint32_t session);

  // Frees a discriminator when its session is removed; false if unknown.
  bool release(uint32_t disc) noexcept;

  // The session owning `disc`, if any.
  std::optional<uint32_t> find(uint32_t disc) const noexcept;

  size_t size() const noexcept { return entries_.size(); }

 private:
  std::vector<std::pair<uint32_t, uint32_t>> entries_;  // (disc, session), sorted by disc
  Prng prng_;
};

// Which session a decoded packet belongs to, or why none does.
struct Selection {
  std::optional<uint32_t> session;
  RxDiscard discard = RxDiscard::kNone;  // set when !session
};

// §6.3 / §6.8.6 selection for a packet that decode() accepted:
//  - Your Discriminator non-zero: the session that owns it, solely by the
//    discriminator (not the source address: FRR PR 18586), or
//    kUnknownDiscriminator.
//  - Your Discriminator zero (the peer has not learned ours yet; decode()
//    already refused this unless the packet says Down or AdminDown): the
//    session the caller chose from the receiving interface / source address,
//    `session_for_peer`, or kNoSessionForPeer when it has none.
Selection select(const ControlPacket& packet, const DiscriminatorTable& table,
                 std::optional<uint32_t> session_for_peer) noexcept;

}  // namespace ferry::bfd
