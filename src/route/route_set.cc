#include "ferry/route/route_set.h"

#include <algorithm>
#include <charconv>
#include <numeric>

#include "text.h"

namespace ferry::route {

uint32_t RouteSet::add(const Prefix& prefix, const NextHopGroup& group) {
  uint32_t group_index = UINT32_MAX;
  size_t hit = 0;
  for (; hit < kRecentGroups && recent_[hit] != UINT32_MAX; ++hit) {
    if (groups_[recent_[hit]] == group) {
      group_index = recent_[hit];
      break;
    }
  }
  if (group_index == UINT32_MAX) {
    std::string key(1, static_cast<char>(group.mode()));
    key.push_back(static_cast<char>(group.members().size()));
    for (const uint8_t m : group.members()) key.push_back(static_cast<char>(m));
    for (size_t i = 0; group.weighted() && i < group.members().size(); ++i)
      key.push_back(static_cast<char>(group.weight(i) - 1));  // 0..255
    const auto [known, added] =
        group_index_.try_emplace(std::move(key), static_cast<uint32_t>(groups_.size()));
    if (added) groups_.push_back(group);
    group_index = known->second;
    hit = std::min(hit, kRecentGroups - 1);  // the least recent makes room
  }
  std::copy_backward(recent_, recent_ + hit, recent_ + hit + 1);
  recent_[0] = group_index;
  const auto index = static_cast<uint32_t>(prefixes_.size());
  prefixes_.push_back(prefix);
  group_of_.push_back(group_index);
  return index;
}

void RouteSet::reserve(size_t routes) {
  prefixes_.reserve(routes);
  group_of_.reserve(routes);
}

namespace {

constexpr size_t kMaxLine = 1024;

bool isBlank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

// The whitespace-separated fields of `line` before any '#'.
size_t splitFields(std::string_view line, std::string_view* fields, size_t max_fields) {
  const size_t hash = line.find('#');
  if (hash != std::string_view::npos) line = line.substr(0, hash);
  size_t n = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && isBlank(line[i])) ++i;
    if (i == line.size()) break;
    size_t end = i;
    while (end < line.size() && !isBlank(line[end])) ++end;
    if (n < max_fields) fields[n] = line.substr(i, end - i);
    ++n;
    i = end;
  }
  return n;
}

}  // namespace

RoutesFileResult readRoutesFile(std::istream& in, std::span<const std::string> interfaces) {
  RoutesFileResult result;
  auto fail = [&](size_t line, std::string message) {
    if (result.errors.size() < kMaxRoutesFileErrors)
      result.errors.push_back({line, std::move(message)});
    else
      result.more_errors = true;
  };
  if (interfaces.size() > kMaxInterfaces) {
    fail(0, cat({"at most ", std::to_string(kMaxInterfaces), " interfaces can carry routes, not ",
                 std::to_string(interfaces.size())}));
    return result;
  }
  std::string known;
  for (size_t i = 0; i < interfaces.size(); ++i) known += (i ? ", " : "") + interfaces[i];

  RouteSet set;
  std::vector<uint32_t> line_of;  // line_of[route]: its line, for duplicate reports
  std::string text;
  size_t line = 0;
  std::vector<uint32_t> members;
  std::vector<uint32_t> weights;
  while (std::getline(in, text)) {
    ++line;
    if (text.size() > kMaxLine) {
      fail(line, cat({"line is ", std::to_string(text.size()), " bytes long; at most ",
                      std::to_string(kMaxLine), " are allowed"}));
      continue;
    }
    std::string_view fields[3];
    const size_t n = splitFields(text, fields, 3);
    if (n == 0) continue;
    if (const std::optional<GroupMode> mode = dropModeNamed(fields[0])) {
      // A drop route, written as iproute2 writes one ('blackhole PREFIX'):
      // no prefix reads as either word, so no interface name can clash.
      if (n != 2) {
        fail(line, cat({"expected '", fields[0], " PREFIX'"}));
        continue;
      }
      std::string error;
      const auto prefix = Prefix::parse(fields[1], &error, HostBits::kReject);
      if (!prefix) {
        fail(line, error);
        continue;
      }
      set.add(*prefix, NextHopGroup::drop(*mode));
      line_of.push_back(static_cast<uint32_t>(line));
      continue;
    }
    if (n == 1) {
      fail(line, cat({"'", fields[0],
                      "': a route needs a prefix and its interfaces ('PREFIX "
                      "IFACE[*W][,IFACE[*W]...] [ecmp]')"}));
      continue;
    }
    if (n > 3 || (n == 3 && fields[2] != "ecmp")) {
      fail(line,
           n > 3 ? std::string("too many fields; expected 'PREFIX IFACE[*W][,IFACE[*W]...] [ecmp]'")
                 : cat({"unexpected '", fields[2],
                        "' after the interfaces (only 'ecmp' may follow)"}));
      continue;
    }
    bool ok = true;
    std::string error;
    const auto prefix = Prefix::parse(fields[0], &error, HostBits::kReject);
    if (!prefix) {
      fail(line, error);
      ok = false;
    }
    members.clear();
    weights.clear();
    bool weighted = false;
    std::string_view via = fields[1];
    size_t item = 0;
    while (true) {
      const size_t comma = via.find(',');
      std::string_view name = via.substr(0, comma);
      ++item;
      // NAME*W: a weight (weighted ECMP).
      uint32_t weight = 1;
      if (const size_t star = name.find('*'); star != std::string_view::npos) {
        const std::string_view digits = name.substr(star + 1);
        name = name.substr(0, star);
        weighted = true;
        uint32_t w = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), w);
        if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || w == 0 ||
            w > kMaxWeight) {
          fail(line, cat({"weight '", digits, "' of '", name, "' is not 1..",
                          std::to_string(kMaxWeight)}));
          ok = false;
        } else {
          weight = w;
        }
      }
      weights.push_back(weight);
      const auto it = std::find(interfaces.begin(), interfaces.end(), name);
      if (name.empty()) {
        fail(line, cat({"interface ", std::to_string(item), " in '", fields[1], "' is empty"}));
        ok = false;
      } else if (it == interfaces.end()) {
        fail(line, cat({"unknown interface '", name, "' (interfaces: ", known, ")"}));
        ok = false;
      } else {
        const auto index = static_cast<uint32_t>(it - interfaces.begin());
        if (std::find(members.begin(), members.end(), index) != members.end()) {
          fail(line, cat({"interface '", name, "' appears twice"}));
          ok = false;
        }
        members.push_back(index);
      }
      if (comma == std::string_view::npos) break;
      via.remove_prefix(comma + 1);
    }
    if (item > kMaxGroupMembers) {
      fail(line, cat({"names ", std::to_string(item), " interfaces; at most ",
                      std::to_string(kMaxGroupMembers), " are allowed"}));
      ok = false;
    }
    const bool ecmp = n == 3;
    if (ecmp && item < 2) {
      fail(line, "'ecmp' needs at least two interfaces");
      ok = false;
    }
    if (weighted && !ecmp) {
      fail(line, "weights (IFACE*W) share the flows of an ECMP route: it needs 'ecmp'");
      ok = false;
    }
    if (!ok) continue;
    std::string group_error;
    const auto group = weighted
                           ? NextHopGroup::createWeighted(members, weights, &group_error)
                           : NextHopGroup::create(ecmp ? GroupMode::kEcmp : GroupMode::kFailover,
                                                  members, &group_error);
    if (!group) {  // not expected after the checks above; reported rather than assumed
      fail(line, group_error);
      continue;
    }
    set.add(*prefix, *group);
    line_of.push_back(static_cast<uint32_t>(line));
  }
  if (in.bad()) fail(line, "read error");

  // Duplicates: sort the route indices by prefix; equal neighbours collide.
  std::vector<uint32_t> order(set.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const auto c = set.prefix(a) <=> set.prefix(b);
    return c != 0 ? c < 0 : a < b;
  });
  std::vector<std::pair<uint32_t, uint32_t>> duplicates;  // (later route, first route)
  size_t run = 0;  // the first of a run of equal prefixes (the lowest index: sorted by index too)
  for (size_t i = 1; i < order.size(); ++i) {
    if (set.prefix(order[i]) == set.prefix(order[run]))
      duplicates.emplace_back(order[i], order[run]);
    else
      run = i;
  }
  std::sort(duplicates.begin(), duplicates.end());
  for (const auto& [later, first] : duplicates) {
    fail(line_of[later], cat({"duplicate prefix ", set.prefix(later).toString(), " (first on line ",
                              std::to_string(line_of[first]), ")"}));
  }
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const RoutesFileError& a, const RoutesFileError& b) { return a.line < b.line; });
  if (result.errors.empty()) result.routes = std::move(set);
  return result;
}

}  // namespace ferry::route
