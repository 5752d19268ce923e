#include "ferry/route/next_hop.h"

#include <algorithm>

#include "text.h"

namespace ferry::route {

// Read per packet, and held per route in an FPM batch's resolved routes.
static_assert(sizeof(NextHopGroup) <= 48);

std::optional<NextHopGroup> NextHopGroup::create(GroupMode mode, std::span<const uint32_t> members,
                                                 std::string* error) {
  auto fail = [&](std::string message) -> std::optional<NextHopGroup> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  if (members.empty()) return fail("a next-hop group needs at least one interface");
  if (mode != GroupMode::kFailover && mode != GroupMode::kEcmp)
    return fail("a next-hop group with interfaces is failover or ecmp");
  if (members.size() > kMaxGroupMembers) {
    return fail(cat({"a next-hop group has at most ", std::to_string(kMaxGroupMembers),
                     " interfaces, not ", std::to_string(members.size())}));
  }
  NextHopGroup group;
  group.mode_ = mode;
  for (size_t i = 0; i < members.size(); ++i) {
    const uint32_t interface = members[i];
    if (interface >= kMaxInterfaces) {
      return fail(cat({"interface index ", std::to_string(interface), " is beyond the maximum ",
                       std::to_string(kMaxInterfaces - 1)}));
    }
    const uint64_t bit = uint64_t{1} << interface;
    if (group.member_mask_ & bit) {
      const auto first = std::find(members.begin(), members.end(), interface) - members.begin();
      return fail(cat({"interface index ", std::to_string(interface), " appears twice (positions ",
                       std::to_string(first), " and ", std::to_string(i), ")"}));
    }
    group.member_mask_ |= bit;
    group.members_[i] = static_cast<uint8_t>(interface);
  }
  group.count_ = static_cast<uint8_t>(members.size());
  return group;
}

std::optional<NextHopGroup> NextHopGroup::createWeighted(std::span<const uint32_t> members,
                                                         std::span<const uint32_t> weights,
                                                         std::string* error) {
  if (weights.size() != members.size()) {
    if (error)
      *error = cat({std::to_string(weights.size()), " weights for ", std::to_string(members.size()),
                    " interfaces"});
    return std::nullopt;
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] == 0 || weights[i] > kMaxWeight) {
      if (error)
        *error = cat({"weight ", std::to_string(weights[i]), " (position ", std::to_string(i),
                      ") is not 1..", std::to_string(kMaxWeight)});
      return std::nullopt;
    }
  }
  auto group = create(GroupMode::kEcmp, members, error);
  if (!group) return group;
  if (std::all_of(weights.begin(), weights.end(), [&](uint32_t w) { return w == weights[0]; }))
    return group;  // the even split
  group->weighted_ = true;
  for (size_t i = 0; i < weights.size(); ++i) {
    group->weights_less1_[i] = static_cast<uint8_t>(weights[i] - 1);
    group->total_weight_ = static_cast<uint16_t>(group->total_weight_ + weights[i]);
  }
  return group;
}

std::string_view toString(GroupMode mode) noexcept {
  switch (mode) {
    case GroupMode::kFailover:
      return "failover";
    case GroupMode::kEcmp:
      return "ecmp";
    case GroupMode::kBlackhole:
      return "blackhole";
    case GroupMode::kUnreachable:
      return "unreachable";
    case GroupMode::kProhibit:
      return "prohibit";
  }
  return "unknown";
}

std::optional<GroupMode> dropModeNamed(std::string_view name) noexcept {
  for (const GroupMode mode :
       {GroupMode::kBlackhole, GroupMode::kUnreachable, GroupMode::kProhibit})
    if (name == toString(mode)) return mode;
  return std::nullopt;
}

uint64_t NextHopGroup::activeMask(uint64_t up_mask) const noexcept {
  if (mode_ == GroupMode::kEcmp) return member_mask_ & up_mask;
  const uint32_t first = nthUp(up_mask, 0);
  return first == kAllDown ? 0 : uint64_t{1} << first;
}

}  // namespace ferry::route
