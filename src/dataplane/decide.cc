#include "ferry/decide.h"

#include "ferry/bfd_handoff.h"

namespace ferry {
namespace {

Drop dropFor(route::Verdict verdict) noexcept {
  switch (verdict) {
    case route::Verdict::kBadInnerHeader: return Drop::BadInnerHeader;
    case route::Verdict::kTtlExceeded: return Drop::TtlExceeded;
    case route::Verdict::kMartian: return Drop::Martian;
    case route::Verdict::kNoRoute: return Drop::NoRoute;
    case route::Verdict::kAllNextHopsDown: return Drop::AllNextHopsDown;
    case route::Verdict::kForward: break;
  }
  return Drop::BadInnerHeader;
}

Action routeDecision(std::span<uint8_t> datagram, const ForwardingState& state) noexcept {
  const route::Decision d = state.routes->forward(datagram, state.up_mask);
  if (d.verdict == route::Verdict::kForward)
    return Action::forward(uint16_t(d.interface), d.length, d.route);
  Action a = Action::dropped(dropFor(d.verdict));
  const auto& source = d.family == route::Family::kIpv4 ? state.icmp_source_v4 : state.icmp_source_v6;
  if (d.icmp && source) {
    a.kind = Action::Kind::Icmp;
    a.family = d.family;
    a.icmp = *d.icmp;
  }
  return a;
}

}  // namespace

bool looksLikeBfd(std::span<const uint8_t> datagram) noexcept {
  const size_t length = datagram.size();
  return length >= 24 && length <= BfdFrame::kMaxBytes && (datagram[0] >> 5) == 1 &&
         datagram[3] >= 24 && datagram[3] <= length;
}

Action decide(const Ingress& ingress, std::span<uint8_t> datagram, uint32_t max_datagram,
              const ForwardingState& state) noexcept {
  if (datagram.size() > max_datagram) return Action::dropped(Drop::Truncated);
  if (ingress.bfd_inband && looksLikeBfd(datagram)) {
    return ingress.has_peer ? Action::toBfd() : Action::dropped(Drop::BadBfd);
  }
  if (state.mode == Mode::Route) {
    if (!state.routes) return Action::dropped(Drop::NoRoute);
    return routeDecision(datagram, state);
  }
  const uint16_t egress =
      ingress.index < state.relay_to.size() ? state.relay_to[ingress.index] : ForwardingState::kNoInterface;
  if (egress == ForwardingState::kNoInterface) return Action::dropped(Drop::NoRoute);
  if (egress >= state.up.size() || !state.up[egress]) return Action::dropped(Drop::EgressDown);
  return Action::forward(egress, uint32_t(datagram.size()));
}

}  // namespace ferry
