#include "ferry/route/route_table.h"

#include <map>

#include "text.h"

namespace ferry::route {

std::string_view toString(RouteIssue::Field field) noexcept {
  switch (field) {
    case RouteIssue::Field::kPrefix:
      return "prefix";
    case RouteIssue::Field::kVia:
      return "via";
    case RouteIssue::Field::kEcmp:
      return "ecmp";
  }
  return "unknown";
}

std::optional<RouteTable> RouteTable::build(std::span<const RouteSpec> routes,
                                            std::span<const std::string> interfaces,
                                            const RouteTableOptions& options,
                                            std::vector<RouteIssue>* issues) {
  std::vector<RouteIssue> found;
  bool failed = false;
  auto report = [&](size_t route, RouteIssue::Field field, size_t item,
                    RouteIssue::Severity severity, std::string message) {
    failed |= severity == RouteIssue::Severity::kError;
    found.push_back({route, field, item, severity, std::move(message)});
  };
  constexpr auto kError = RouteIssue::Severity::kError;
  constexpr auto kWarning = RouteIssue::Severity::kWarning;
  using Field = RouteIssue::Field;

  if (interfaces.size() > kMaxInterfaces) {
    report(0, Field::kVia, 0, kError,
           cat({"at most ", std::to_string(kMaxInterfaces), " interfaces can carry routes, not ",
                std::to_string(interfaces.size())}));
  }
  std::map<std::string, uint32_t, std::less<>> index_of;
  std::string known;
  for (size_t i = 0; i < interfaces.size(); ++i) {
    index_of.emplace(interfaces[i], static_cast<uint32_t>(i));
    if (i) known += ", ";
    known += interfaces[i];
  }

  RouteTable table;
  table.seed_ = options.hash_seed;
  std::vector<Route> v4_routes;
  std::vector<Route> v6_routes;
  std::map<Prefix, size_t> first_with_prefix;
  for (size_t r = 0; r < routes.size(); ++r) {
    const RouteSpec& spec = routes[r];
    std::string error;
    auto prefix = Prefix::parse(spec.prefix, &error, HostBits::kKeep);
    if (prefix && prefix->hasHostBits()) {
      const std::string canonical = prefix->masked().toString();
      if (options.host_bits == HostBits::kReject) {
        report(r, Field::kPrefix, 0, kError,
               cat({"'", spec.prefix, "' has host bits set beyond /",
                    std::to_string(prefix->length()), " (did you mean ", canonical, "?)"}));
        prefix.reset();
      } else {
        report(r, Field::kPrefix, 0, kWarning,
               cat({"'", spec.prefix, "' has host bits set; using ", canonical}));
        prefix = prefix->masked();
      }
    } else if (!prefix) {
      report(r, Field::kPrefix, 0, kError, error);
    }
    if (prefix) {
      auto [it, inserted] = first_with_prefix.emplace(*prefix, r);
      if (!inserted) {
        report(r, Field::kPrefix, 0, kError,
               cat({"duplicate prefix ", prefix->toString(), " (also route ",
                    std::to_string(it->second), ")"}));
        prefix.reset();
      }
    }

    std::vector<uint32_t> members;
    bool via_ok = true;
    if (spec.via.empty()) {
      report(r, Field::kVia, 0, kError, "'via' names no interface");
      via_ok = false;
    }
    for (size_t j = 0; j < spec.via.size(); ++j) {
      const auto it = index_of.find(spec.via[j]);
      if (it == index_of.end()) {
        report(r, Field::kVia, j, kError,
               cat({"unknown interface '", spec.via[j], "' (interfaces: ", known, ")"}));
        via_ok = false;
        continue;
      }
      for (size_t k = 0; k < j; ++k) {
        if (spec.via[k] == spec.via[j]) {
          report(r, Field::kVia, j, kError,
                 cat({"interface '", spec.via[j], "' appears twice in 'via'"}));
          via_ok = false;
          break;
        }
      }
      members.push_back(it->second);
    }
    if (spec.via.size() > kMaxGroupMembers) {
      report(r, Field::kVia, kMaxGroupMembers, kError,
             cat({"'via' names ", std::to_string(spec.via.size()), " interfaces; at most ",
                  std::to_string(kMaxGroupMembers), " are allowed"}));
      via_ok = false;
    }
    if (spec.ecmp && spec.via.size() < 2) {
      report(r, Field::kEcmp, 0, kError, "'ecmp: true' needs at least two interfaces in 'via'");
      via_ok = false;
    }
    if (!prefix || !via_ok || failed) continue;

    std::string group_error;
    auto group = NextHopGroup::create(spec.ecmp ? GroupMode::kEcmp : GroupMode::kFailover, members,
                                      &group_error);
    if (!group) {  // not expected after the checks above; report rather than assume
      report(r, Field::kVia, 0, kError, group_error);
      continue;
    }
    const auto index = static_cast<uint32_t>(table.routes_.size());
    table.routes_.push_back({*prefix, *group});
    (prefix->isV4() ? v4_routes : v6_routes).push_back({*prefix, index});
  }

  if (!failed) {
    // The checks above already exclude every reason a build can fail.
    std::string error;
    auto v4 = Ipv4Lpm::build(v4_routes, &error);
    auto v6 = v4 ? Ipv6Lpm::build(v6_routes, &error) : std::nullopt;
    if (!v4 || !v6) {
      report(0, Field::kPrefix, 0, kError, error);
    } else {
      table.v4_ = std::move(*v4);
      table.v6_ = std::move(*v6);
    }
  }
  if (issues) *issues = std::move(found);
  if (failed) return std::nullopt;
  return table;
}

Decision RouteTable::forward(std::span<uint8_t> payload, uint64_t up_mask) const noexcept {
  Decision d;
  const InnerPacket p = parseInner(payload, seed_);
  d.verdict = p.verdict;
  d.family = p.family;
  if (p.verdict == Verdict::kTtlExceeded) {
    d.icmp = IcmpError::kTimeExceeded;
    return d;
  }
  if (p.verdict != Verdict::kForward) return d;
  d.route = lookup(p.destination);
  if (d.route == kNoRoute) {
    d.verdict = Verdict::kNoRoute;
    d.icmp = IcmpError::kDestinationUnreachable;
    return d;
  }
  d.interface = routes_[d.route].group.select(p.flow_hash, up_mask);
  if (d.interface == kAllDown) {
    d.verdict = Verdict::kAllNextHopsDown;
    d.icmp = IcmpError::kDestinationUnreachable;
    return d;
  }
  decrementTtl(payload, p);
  d.length = p.length;
  return d;
}

}  // namespace ferry::route
