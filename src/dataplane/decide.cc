#include "ferry/dataplane/decide.h"

#include <optional>

#include "ferry/dataplane/bfd_handoff.h"
#include "ferry/net/byte_order.h"
#include "ferry/net/ip_header.h"
#include "ferry/route/icmp.h"
#include "ferry/route/route_table.h"

namespace ferry {
namespace {

Drop dropFor(route::Verdict verdict) noexcept {
  switch (verdict) {
    case route::Verdict::kBadInnerHeader:
      return Drop::kBadInnerHeader;
    case route::Verdict::kTtlExceeded:
      return Drop::kTtlExceeded;
    case route::Verdict::kMartian:
      return Drop::kMartian;
    case route::Verdict::kNoRoute:
      return Drop::kNoRoute;
    case route::Verdict::kAllNextHopsDown:
      return Drop::kAllNextHopsDown;
    case route::Verdict::kBlackhole:
      return Drop::kBlackhole;
    case route::Verdict::kUnreachable:
      return Drop::kUnreachable;
    case route::Verdict::kProhibited:
      return Drop::kProhibited;
    case route::Verdict::kForward: break;
  }
  return Drop::kBadInnerHeader;
}

Action actionFor(const route::Decision& d, const ForwardingState& state) noexcept {
  if (d.verdict == route::Verdict::kForward)
    return Action::forward(uint16_t(d.interface), d.length, d.route);
  Action a = Action::dropped(dropFor(d.verdict));
  // A drop route's packets count on it, as a forwarding route's do.
  if (d.verdict == route::Verdict::kBlackhole || d.verdict == route::Verdict::kUnreachable ||
      d.verdict == route::Verdict::kProhibited)
    a.route_index = d.route;
  const auto& source = d.family == route::Family::kIpv4 ? state.icmp_source_v4 : state.icmp_source_v6;
  if (d.icmp && source) {
    a.kind = Action::Kind::kIcmp;
    a.family = d.family;
    a.icmp = *d.icmp;
  }
  return a;
}

// Route mode, before the route lookup: an inner packet to ferry's own
// address (its ICMP source of that family) is for the router itself and is
// never routed (a route covering the address would send it on, and a
// neighbour with a route back would loop it until its TTL ran out). An echo
// request is answered; anything else is dropped as `local`. The address is
// compared before any other check, as Linux looks up its local table first:
// TTL 1 is no reason to refuse a ping of the router.
std::optional<Action> toSelf(std::span<const uint8_t> d, const ForwardingState& state) noexcept {
  if (d.empty()) return std::nullopt;
  const std::optional<route::IpAddress>* self = nullptr;
  if (d[0] >> 4 == 4) {
    if (state.icmp_source_v4 && d.size() >= ip::kIpv4MinHeader &&
        loadBe32(&d[16]) == state.icmp_source_v4->v4())
      self = &state.icmp_source_v4;
  } else if (d[0] >> 4 == 6) {
    if (state.icmp_source_v6 && d.size() >= ip::kIpv6Header &&
        route::Ipv6::load(&d[24]) == state.icmp_source_v6->v6())
      self = &state.icmp_source_v6;
  }
  if (self == nullptr) return std::nullopt;
  if (route::isEchoRequestTo(**self, d)) return Action::echo((*self)->family());
  return Action::dropped(Drop::kLocal);
}

// What holds before the mode's own decision: the size limit and in-band BFD.
std::optional<Action> screen(const Ingress& ingress, std::span<const uint8_t> datagram,
                             uint32_t max_datagram) noexcept {
  if (datagram.size() > max_datagram) return Action::dropped(Drop::kTruncated);
  if (ingress.bfd_inband && looksLikeBfd(datagram)) {
    return ingress.has_peer ? Action::toBfd() : Action::dropped(Drop::kBadBfd);
  }
  return std::nullopt;
}

}  // namespace

bool looksLikeBfd(std::span<const uint8_t> datagram) noexcept {
  const size_t length = datagram.size();
  return length >= 24 && length <= BfdFrame::kMaxBytes && (datagram[0] >> 5) == 1 &&
         datagram[3] >= 24 && datagram[3] <= length;
}

Action decide(const Ingress& ingress, std::span<uint8_t> datagram, uint32_t max_datagram,
              const ForwardingState& state) noexcept {
  if (const auto screened = screen(ingress, datagram, max_datagram)) return *screened;
  if (state.mode == Mode::kRoute) {
    if (const auto local = toSelf(datagram, state)) return *local;
    if (!state.routes) return Action::dropped(Drop::kNoRoute);
    return actionFor(state.routes->forward(datagram, state.up_mask), state);
  }
  const uint16_t egress =
      ingress.index < state.relay_to.size() ? state.relay_to[ingress.index] : ForwardingState::kNoInterface;
  if (egress == ForwardingState::kNoInterface) return Action::dropped(Drop::kNoRoute);
  if (egress >= state.up.size() || !state.up[egress]) return Action::dropped(Drop::kEgressDown);
  return Action::forward(egress, uint32_t(datagram.size()));
}

void decide(const Ingress& ingress, std::span<const std::span<uint8_t>> datagrams,
            uint32_t max_datagram, const ForwardingState& state, std::span<Action> actions) noexcept {
  if (state.mode != Mode::kRoute || !state.routes) {
    for (size_t i = 0; i < datagrams.size(); ++i)
      actions[i] = decide(ingress, datagrams[i], max_datagram, state);
    return;
  }
  // Route mode: screen each datagram; the inner packets among them go to the
  // route table kMaxBatch at a time.
  constexpr size_t kBatch = route::RouteTable::kMaxBatch;
  std::span<uint8_t> inner[kBatch];
  size_t inner_of[kBatch];  // inner[j] is datagrams[inner_of[j]]
  route::Decision decisions[kBatch];
  size_t count = 0;
  auto flush = [&] {
    state.routes->forward(std::span<const std::span<uint8_t>>(inner, count), state.up_mask,
                          std::span<route::Decision>(decisions, count));
    for (size_t j = 0; j < count; ++j) actions[inner_of[j]] = actionFor(decisions[j], state);
    count = 0;
  };
  for (size_t i = 0; i < datagrams.size(); ++i) {
    if (const auto screened = screen(ingress, datagrams[i], max_datagram)) {
      actions[i] = *screened;
      continue;
    }
    if (const auto local = toSelf(datagrams[i], state)) {
      actions[i] = *local;
      continue;
    }
    inner[count] = datagrams[i];
    inner_of[count++] = i;
    if (count == kBatch) flush();
  }
  if (count > 0) flush();
}

}  // namespace ferry
