// Next-hop groups: the `via: [east, west]` of a route. A group is an ordered
// list of interface indices with a mode:
//
//  - kFailover: the first member that is up (config order = preference).
//  - kEcmp: spread by the inner 5-tuple hash (inner.h flowHash) over the
//    members that are up, so one inner flow keeps one path.
//
// or, without members, a drop route (`drop:` in the config; zebra's
// blackhole, unreachable and prohibit routes over FPM):
//
//  - kBlackhole: every packet is dropped silently.
//  - kUnreachable: every packet is dropped and answered with ICMP
//    Destination Unreachable (network unreachable / no route).
//  - kProhibit: every packet is dropped and answered with ICMP Destination
//    Unreachable, communication administratively prohibited.
//
// A drop group's select() is kAllDown, like a group with no member up; the
// route table tells the two apart by mode() only then, off the forwarding
// path.
//
// Liveness is a bitmap passed in per call (bit i = interface index i is up;
// the control thread sets the bits of interfaces without BFD), so a BFD state
// change needs no new group or table, only a new bitmap.
//
// ECMP choice: with all members up, member floor(hash * n / 2^32) — an even
// split (each member gets an equal share of the hash space). When that member
// is down, the flow is re-spread by a remixed hash over the members that are
// up. So a member going down moves only its own flows (evenly onto the
// others), and they come back when it recovers; flows on healthy members
// never move (unlike modulo-N over the live members, which reshuffles ~all
// flows on every change).
//
// Weighted ECMP (zebra's next-hop weights over FPM: BGP link bandwidth,
// weighted next-hop groups): member i gets weight_i / Σ weights of the hash
// space, in member order, and a down member's flows are re-spread by the
// remixed hash over the members that are up, in proportion to their
// weights. The same properties hold: only a down member's flows move. Equal
// weights make the plain group, so the two split identically.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::route {

// select() result when no member is up (count Verdict::kAllNextHopsDown).
inline constexpr uint32_t kAllDown = UINT32_MAX;
// Interface indices are bit positions of a uint64_t liveness bitmap.
inline constexpr uint32_t kMaxInterfaces = 64;
inline constexpr size_t kMaxGroupMembers = 16;
// The largest member weight: 1..256, the kernel's and zebra's range.
inline constexpr uint32_t kMaxWeight = 256;

enum class GroupMode : uint8_t { kFailover, kEcmp, kBlackhole, kUnreachable, kProhibit };

// "failover", "ecmp", "blackhole", "unreachable", "prohibit".
std::string_view toString(GroupMode mode) noexcept;
// The drop mode a config's `drop:` or a routes file's first word names
// ("blackhole", "unreachable", "prohibit": toString's names of the modes
// whose groups drop), or nullopt.
std::optional<GroupMode> dropModeNamed(std::string_view name) noexcept;

class NextHopGroup {
 public:
  // Checks the members: 1..kMaxGroupMembers of them, each < kMaxInterfaces, no
  // repeats. (An ECMP group of one member is legal and acts as failover; the
  // config may still call it a mistake.)
  static std::optional<NextHopGroup> create(GroupMode mode, std::span<const uint32_t> members,
                                            std::string* error = nullptr);
  // An ECMP group whose members take shares of the hash space in proportion
  // to `weights` (as many as members, each 1..kMaxWeight). With all weights
  // equal it is create(kEcmp, members), weights() empty.
  static std::optional<NextHopGroup> createWeighted(std::span<const uint32_t> members,
                                                    std::span<const uint32_t> weights,
                                                    std::string* error = nullptr);
  // A drop route's group: no members, `mode` kBlackhole, kUnreachable or
  // kProhibit (anything else is taken as kBlackhole).
  static NextHopGroup drop(GroupMode mode) noexcept {
    NextHopGroup group;
    group.mode_ = mode == GroupMode::kUnreachable || mode == GroupMode::kProhibit
                      ? mode
                      : GroupMode::kBlackhole;
    return group;
  }

  // The chosen interface index, or kAllDown. Pure, branch-light, O(1) when the
  // preferred member is up, O(members) otherwise and for a weighted group.
  uint32_t select(uint32_t flow_hash, uint64_t up_mask) const noexcept {
    if (mode_ == GroupMode::kEcmp) {
      if (weighted_) [[unlikely]]
        return selectWeighted(flow_hash, up_mask);
      const uint32_t preferred = members_[scale(flow_hash, count_)];
      if (up_mask >> preferred & 1) return preferred;
      const int live = std::popcount(member_mask_ & up_mask);
      if (live == 0) return kAllDown;
      return nthUp(up_mask, scale(remix(flow_hash), static_cast<uint32_t>(live)));
    }
    return nthUp(up_mask, 0);
  }

  GroupMode mode() const noexcept { return mode_; }
  // A drop route's group (kBlackhole, kUnreachable, kProhibit).
  bool drops() const noexcept {
    return mode_ == GroupMode::kBlackhole || mode_ == GroupMode::kUnreachable ||
           mode_ == GroupMode::kProhibit;
  }
  std::span<const uint8_t> members() const noexcept { return {members_, count_}; }
  // The members' weights, in member order; empty for a group without
  // weights (every member's share the same).
  std::vector<uint32_t> weights() const {
    std::vector<uint32_t> out;
    for (uint8_t i = 0; weighted_ && i < count_; ++i) out.push_back(weight(i));
    return out;
  }
  bool weighted() const noexcept { return weighted_; }
  // Member i's weight (1 for every member of a group without weights).
  uint32_t weight(size_t member) const noexcept { return weights_less1_[member] + 1u; }
  // Bit i set: interface i is a member.
  uint64_t memberMask() const noexcept { return member_mask_; }
  // The members select() can return under `up_mask` (for `ferryctl show
  // routes`: failover → the first up member; ECMP → every up member).
  uint64_t activeMask(uint64_t up_mask) const noexcept;

  // The same mode, members, order and weights (every constructor zeroes
  // what a group does not use).
  friend bool operator==(const NextHopGroup&, const NextHopGroup&) = default;

 private:
  NextHopGroup() = default;

  // floor(hash * n / 2^32): an even map of the 32-bit hash onto 0..n-1.
  static uint32_t scale(uint32_t hash, uint32_t n) noexcept {
    return static_cast<uint32_t>((uint64_t{hash} * n) >> 32);
  }
  // A second, independent hash (lowbias32 by C. Wellons) for the fallback, so
  // that the flows of a down member, which share one slice of the first hash's
  // range, spread over all the live members.
  static uint32_t remix(uint32_t h) noexcept {
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    h ^= h >> 16;
    return h;
  }
  // The n-th (from 0) member, in config order, that is up; kAllDown if none.
  uint32_t nthUp(uint64_t up_mask, uint32_t n) const noexcept {
    for (uint8_t i = 0; i < count_; ++i) {
      if (up_mask >> members_[i] & 1) {
        if (n == 0) return members_[i];
        --n;
      }
    }
    return kAllDown;
  }

  // select() of a weighted ECMP group: member i takes the hashes whose
  // scale(hash, total) falls in its run of `weight(i)` values, in member order.
  uint32_t selectWeighted(uint32_t flow_hash, uint64_t up_mask) const noexcept {
    uint32_t target = scale(flow_hash, total_weight_);
    uint8_t i = 0;
    while (i + 1 < count_ && target >= weight(i)) target -= weight(i++);
    if (up_mask >> members_[i] & 1) return members_[i];
    uint32_t live_weight = 0;
    for (uint8_t k = 0; k < count_; ++k)
      if (up_mask >> members_[k] & 1) live_weight += weight(k);
    if (live_weight == 0) return kAllDown;
    target = scale(remix(flow_hash), live_weight);
    for (uint8_t k = 0; k < count_; ++k) {
      if ((up_mask >> members_[k] & 1) == 0) continue;
      if (target < weight(k)) return members_[k];
      target -= weight(k);
    }
    return kAllDown;  // not reached: target < live_weight
  }

  uint64_t member_mask_ = 0;
  GroupMode mode_ = GroupMode::kFailover;
  uint8_t count_ = 0;
  bool weighted_ = false;
  uint8_t members_[kMaxGroupMembers] = {};
  // Weighted groups only: each member's weight - 1 (1..256 in a byte), and
  // their sum. 48 bytes in all (32 without weights before them).
  uint8_t weights_less1_[kMaxGroupMembers] = {};
  uint16_t total_weight_ = 0;
};

}  // namespace ferry::route
