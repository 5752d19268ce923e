// Poptrie construction (see lpm.h for the structure and why it was chosen).
//
// The routes are sorted by (masked address, length). In that order a prefix
// always precedes the prefixes it contains, and the prefixes below one trie slot
// form one contiguous run, so the trie is built top-down in one pass per level
// with plain index ranges: at each node, prefixes that end within the node's 6
// bits are expanded over the slots they cover (longer ones overwrite the shorter
// ones that precede them), and prefixes that go deeper make their slot a child
// node, built recursively with the slot's value as the inherited default.
#include "ferry/route/lpm.h"

#include <algorithm>
#include <array>
#include <utility>

#include "text.h"

namespace ferry::route {
// Not an anonymous namespace: LpmTable<>::Builder, a class of the header,
// holds Items (GCC's -Wsubobject-linkage, which a unity build turns on).
namespace lpm_build {

struct Item {
  detail::LpmKey key;  // masked
  uint32_t value;
  uint32_t index;  // position in the caller's list, for error messages
  uint8_t length;
};

bool keyLess(const Item& a, const Item& b) noexcept {
  if (a.key.hi != b.key.hi) return a.key.hi < b.key.hi;
  if (a.key.lo != b.key.lo) return a.key.lo < b.key.lo;
  return a.length < b.length;
}

}  // namespace lpm_build

using lpm_build::Item;
using lpm_build::keyLess;

template <class Traits>
class LpmTable<Traits>::Builder {
 public:
  Builder(LpmTable& table, const std::vector<Item>& items) : table_(table), items_(items) {}

  // Direct slot `slot` from scratch, the items being the routes longer than
  // the direct level below it and `inherited` the value the direct level
  // gives it (patchIndexed).
  void buildSlot(size_t slot, uint32_t inherited) {
    auto& direct = table_.direct_;
    if (items_.empty()) {
      direct[slot] = inherited;
      return;
    }
    const auto node = static_cast<uint32_t>(table_.nodes_.size());
    table_.nodes_.emplace_back();
    direct[slot] = kNodeFlag | node;
    buildNode(node, 0, items_.size(), Traits::kDirectBits, inherited);
  }

  void run() {
    constexpr unsigned s = Traits::kDirectBits;
    auto& direct = table_.direct_;
    // Prefixes no longer than the direct level are expanded into it, in sorted
    // order so that a more specific prefix overwrites the one containing it.
    for (const Item& item : items_) {
      if (item.length > s) continue;
      const size_t first = directIndex(item);
      const size_t count = size_t{1} << (s - item.length);
      std::fill_n(direct.begin() + static_cast<std::ptrdiff_t>(first), count, item.value);
    }
    // Longer prefixes turn their direct slot into a node. Those of one slot are
    // contiguous (a shorter prefix of the same slot sorts before all of them).
    for (size_t i = 0; i < items_.size();) {
      if (items_[i].length <= s) {
        ++i;
        continue;
      }
      const size_t slot = directIndex(items_[i]);
      size_t end = i + 1;
      while (end < items_.size() && directIndex(items_[end]) == slot) ++end;
      const uint32_t inherited = direct[slot];
      const auto node = static_cast<uint32_t>(table_.nodes_.size());
      table_.nodes_.emplace_back();
      direct[slot] = kNodeFlag | node;
      buildNode(node, i, end, s, inherited);
      i = end;
    }
  }

 private:
  static size_t directIndex(const Item& item) noexcept {
    return static_cast<size_t>(item.key.hi >> (64 - Traits::kDirectBits));
  }

  // Fills nodes_[node] for the trie level starting at bit `offset`, from the
  // items [begin, end) (all longer than `offset`, all below this node), with
  // `inherited` the value of the longest prefix above the node.
  void buildNode(uint32_t node, size_t begin, size_t end, unsigned offset, uint32_t inherited) {
    std::array<uint32_t, 64> value;
    value.fill(inherited);
    std::array<size_t, 64> child_begin{};
    std::array<size_t, 64> child_end{};
    uint64_t children = 0;
    for (size_t i = begin; i < end; ++i) {
      const Item& item = items_[i];
      const unsigned slot = Traits::slot(item.key, offset);
      if (item.length <= offset + kStride) {
        const unsigned count = 1u << (offset + kStride - item.length);
        std::fill_n(value.begin() + slot, count, item.value);
      } else {
        if (!(children >> slot & 1)) child_begin[slot] = i;
        children |= uint64_t{1} << slot;
        child_end[slot] = i + 1;
      }
    }

    // Leaves: one entry per run of equal values over the non-child slots.
    auto& leaves = table_.leaves_;
    const auto leaf_base = static_cast<uint32_t>(leaves.size());
    uint64_t leaf_starts = 0;
    bool first_leaf = true;
    for (unsigned slot = 0; slot < 64; ++slot) {
      if (children >> slot & 1) continue;
      if (first_leaf || value[slot] != leaves.back()) {
        leaf_starts |= uint64_t{1} << slot;
        leaves.push_back(value[slot]);
      }
      first_leaf = false;
    }

    // Children are allocated as one block so that a popcount indexes them.
    auto& nodes = table_.nodes_;
    const auto child_base = static_cast<uint32_t>(nodes.size());
    nodes.resize(nodes.size() + static_cast<size_t>(std::popcount(children)));
    nodes[node] = Node{children, leaf_starts, leaf_base, child_base};

    uint32_t next = child_base;
    for (unsigned slot = 0; slot < 64; ++slot) {
      if (!(children >> slot & 1)) continue;
      buildNode(next++, child_begin[slot], child_end[slot], offset + kStride, value[slot]);
    }
  }

  LpmTable& table_;
  const std::vector<Item>& items_;
};

namespace {

// The trie key of a masked prefix of the family of `Traits`.
template <class Traits>
detail::LpmKey keyOf(const Prefix& p) noexcept {
  if constexpr (Traits::kWidth == 32) {
    return Traits::key(p.v4());
  } else {
    return Traits::key(p.v6());
  }
}

// The direct slot a prefix of this family falls in.
template <class Traits>
size_t directSlotOf(const Prefix& p) noexcept {
  return static_cast<size_t>(keyOf<Traits>(p).hi >> (64 - Traits::kDirectBits));
}

// The prefix of `length` (≤ kDirectBits) that holds direct slot `slot`.
template <class Traits>
Prefix slotPrefix(size_t slot, unsigned length) noexcept {
  if constexpr (Traits::kWidth == 32) {
    return Prefix::v4(static_cast<Ipv4>(slot << (32 - Traits::kDirectBits)), length).masked();
  } else {
    return Prefix::v6(Ipv6{uint64_t{slot} << (64 - Traits::kDirectBits), 0}, length).masked();
  }
}

// A direct slot, as the value searched for among a table's prefixes.
struct Slot {
  size_t index;
};

// Orders prefixes (given as themselves or by their index in `prefixes`)
// against a slot by (family, direct slot): the order of a sorted table's
// prefixes, coarsened, so that one slot's routes are one equal range.
template <class Traits>
struct BySlot {
  static constexpr Family kFamily = Traits::kWidth == 32 ? Family::kIpv4 : Family::kIpv6;
  std::span<const Prefix> prefixes;

  static std::pair<Family, size_t> rank(const Prefix& p) noexcept {
    return {p.family(), p.family() == kFamily ? directSlotOf<Traits>(p) : 0};
  }
  bool operator()(const Prefix& p, Slot slot) const noexcept {
    return rank(p) < std::pair{kFamily, slot.index};
  }
  bool operator()(Slot slot, const Prefix& p) const noexcept {
    return std::pair{kFamily, slot.index} < rank(p);
  }
  bool operator()(uint32_t index, Slot slot) const noexcept {
    return (*this)(prefixes[index], slot);
  }
  bool operator()(Slot slot, uint32_t index) const noexcept {
    return (*this)(slot, prefixes[index]);
  }
};

}  // namespace

template <class Traits>
std::optional<LpmTable<Traits>> LpmTable<Traits>::patchIndexed(
    const IndexedRoutes& routes, std::span<const uint32_t> renumber,
    std::span<const Prefix> changed) const {
  constexpr unsigned s = Traits::kDirectBits;
  constexpr size_t kSlots = size_t{1} << s;
  constexpr Family family = BySlot<Traits>::kFamily;
  const std::span<const Prefix> prefixes = routes.prefixes;
  const size_t head = routes.head_order.size();
  const std::span<const Prefix> tail = prefixes.subspan(head);
  const auto tail_index = [&](auto it) {
    return static_cast<uint32_t>(head + size_t(it - tail.begin()));
  };
  const auto head_less = [&](uint32_t i, const Prefix& q) { return prefixes[i] < q; };

  // The index of exactly `q` in the new routes, or kNoRouteIndex.
  const auto find = [&](const Prefix& q) -> uint32_t {
    const auto t = std::lower_bound(tail.begin(), tail.end(), q);
    if (t != tail.end() && *t == q) return tail_index(t);
    const auto h =
        std::lower_bound(routes.head_order.begin(), routes.head_order.end(), q, head_less);
    if (h != routes.head_order.end() && prefixes[*h] == q) return *h;
    return kNoRouteIndex;
  };

  // The direct slots the changes cover, as sorted, disjoint [first, end) runs.
  std::vector<Prefix> ours;
  for (const Prefix& p : changed)
    if (p.family() == family) ours.push_back(p.masked());
  std::sort(ours.begin(), ours.end());
  ours.erase(std::unique(ours.begin(), ours.end()), ours.end());
  std::vector<std::pair<size_t, size_t>> runs;
  for (const Prefix& p : ours) {
    const size_t first = directSlotOf<Traits>(p);
    const size_t count = p.length() >= s ? 1 : size_t{1} << (s - p.length());
    runs.emplace_back(first, first + count);
  }
  std::sort(runs.begin(), runs.end());
  size_t merged = 0;
  size_t slots = 0;
  for (const auto& run : runs) {
    if (merged != 0 && run.first <= runs[merged - 1].second) {
      runs[merged - 1].second = std::max(runs[merged - 1].second, run.second);
    } else {
      runs[merged++] = run;
    }
  }
  runs.resize(merged);
  for (const auto& [first, end] : runs) slots += end - first;
  if (slots > kSlots / 16 || prefixes.size() > size_t{kMaxValue} + 1) return std::nullopt;

  LpmTable table;
  table.direct_ = direct_;
  table.nodes_.reserve(nodes_.size() + nodes_.size() / 8 + 64);
  table.nodes_.assign(nodes_.begin(), nodes_.end());
  table.leaves_.reserve(leaves_.size() + leaves_.size() / 8 + 64);
  table.leaves_.assign(leaves_.begin(), leaves_.end());
  table.unreachable_nodes_ = unreachable_nodes_;
  table.unreachable_leaves_ = unreachable_leaves_;
  const auto renumbered = [&](uint32_t v) {
    return v < renumber.size() ? renumber[v] : kNoRouteIndex;
  };
  for (uint32_t& entry : table.direct_)
    if (entry + 1 <= kNodeFlag) entry = renumbered(entry);
  for (uint32_t& leaf : table.leaves_) leaf = renumbered(leaf);

  // The subtree a replaced slot leaves behind.
  const auto forget = [&](const auto& self, uint32_t node) -> void {
    const Node& n = table.nodes_[node];
    ++table.unreachable_nodes_;
    table.unreachable_leaves_ += size_t(std::popcount(n.leaf_starts));
    const auto children = static_cast<uint32_t>(std::popcount(n.children));
    for (uint32_t c = 0; c < children; ++c) self(self, n.child_base + c);
  };

  std::vector<Item> items;
  for (const auto& [first, end] : runs) {
    for (size_t slot = first; slot < end; ++slot) {
      const uint32_t old = table.direct_[slot];
      if (old + 1 > kNodeFlag) forget(forget, old & ~kNodeFlag);
      // What the direct level gives the slot: its longest route of at most
      // kDirectBits bits.
      uint32_t inherited = kNoRouteIndex;
      for (unsigned length = s + 1; length-- > 0 && inherited == kNoRouteIndex;)
        inherited = find(slotPrefix<Traits>(slot, length));
      // The longer routes below it, from both runs of the table.
      items.clear();
      const auto add = [&](uint32_t index) {
        const Prefix p = prefixes[index].masked();  // as buildIndexed: never past a node's slots
        if (p.length() <= s) return;
        items.push_back(Item{keyOf<Traits>(p), index, index, static_cast<uint8_t>(p.length())});
      };
      const BySlot<Traits> by_slot{prefixes};
      const auto [t0, t1] = std::equal_range(tail.begin(), tail.end(), Slot{slot}, by_slot);
      for (auto it = t0; it != t1; ++it) add(tail_index(it));
      const auto [h0, h1] =
          std::equal_range(routes.head_order.begin(), routes.head_order.end(), Slot{slot}, by_slot);
      const bool both = t0 != t1 && h0 != h1;
      for (auto it = h0; it != h1; ++it) add(*it);
      if (both) std::sort(items.begin(), items.end(), keyLess);
      Builder(table, items).buildSlot(slot, inherited);
    }
  }

  table.route_count_ = size_t(std::count_if(prefixes.begin(), prefixes.end(),
                                            [](const Prefix& p) { return p.family() == family; }));
  if (table.nodes_.size() >= kNodeFlag || table.leaves_.size() >= kNodeFlag) return std::nullopt;
  if (table.unreachable_nodes_ * 2 > table.nodes_.size() ||
      table.unreachable_leaves_ * 2 > table.leaves_.size())
    return std::nullopt;
  return table;
}

template <class Traits>
LpmTable<Traits>::LpmTable() : direct_(size_t{1} << Traits::kDirectBits, kNoRouteIndex) {}

template <class Traits>
std::optional<LpmTable<Traits>> LpmTable<Traits>::build(std::span<const Route> routes,
                                                        std::string* error) {
  return buildFrom(routes.size(), [&](size_t i) { return routes[i]; }, false, error);
}

template <class Traits>
std::optional<LpmTable<Traits>> LpmTable<Traits>::buildIndexed(std::span<const Prefix> prefixes,
                                                               std::string* error) {
  return buildFrom(
      prefixes.size(), [&](size_t i) { return Route{prefixes[i], static_cast<uint32_t>(i)}; }, true,
      error);
}

template <class Traits>
template <class Source>
std::optional<LpmTable<Traits>> LpmTable<Traits>::buildFrom(size_t count, const Source& routes,
                                                            bool other_families, std::string* error) {
  constexpr Family family = Traits::kWidth == 32 ? Family::kIpv4 : Family::kIpv6;
  const char* const family_name = family == Family::kIpv4 ? "IPv4" : "IPv6";
  std::vector<Item> items;
  size_t route_count = 0;
  for (size_t i = 0; i < count; ++i) route_count += routes(i).prefix.family() == family;
  items.reserve(route_count);
  for (size_t i = 0; i < count; ++i) {
    const Route route = routes(i);
    if (other_families && route.prefix.family() != family) continue;
    if (route.prefix.family() != family) {
      setError(error, cat({"route ", std::to_string(i), ": ", route.prefix.toString(),
                           " is not an ", family_name, " prefix"}));
      return std::nullopt;
    }
    if (route.value > kMaxValue) {
      setError(error, cat({"route ", std::to_string(i), " (", route.prefix.toString(), "): value ",
                           std::to_string(route.value), " is above the maximum ",
                           std::to_string(kMaxValue)}));
      return std::nullopt;
    }
    const Prefix p = route.prefix.masked();
    Item item{};
    item.key = keyOf<Traits>(p);
    item.value = route.value;
    item.index = static_cast<uint32_t>(i);
    item.length = static_cast<uint8_t>(p.length());
    items.push_back(item);
  }
  std::sort(items.begin(), items.end(), keyLess);
  for (size_t i = 1; i < items.size(); ++i) {
    const Item& a = items[i - 1];
    const Item& b = items[i];
    if (a.key.hi == b.key.hi && a.key.lo == b.key.lo && a.length == b.length) {
      const auto [first, second] = std::minmax(a.index, b.index);
      setError(error,
               cat({"duplicate prefix ", routes(first).prefix.masked().toString(), " (routes ",
                    std::to_string(first), " and ", std::to_string(second), ")"}));
      return std::nullopt;
    }
  }

  LpmTable table;
  Builder(table, items).run();
  // Node indices share 31 bits with the node flag; unreachable in practice
  // (2^31 nodes are 48 GiB) but checked rather than assumed.
  if (table.nodes_.size() >= kNodeFlag || table.leaves_.size() >= kNodeFlag) {
    setError(error, "routing table too large");
    return std::nullopt;
  }
  table.nodes_.shrink_to_fit();
  table.leaves_.shrink_to_fit();
  table.route_count_ = items.size();
  return table;
}

template class LpmTable<detail::Ipv4Traits>;
template class LpmTable<detail::Ipv6Traits>;

}  // namespace ferry::route
