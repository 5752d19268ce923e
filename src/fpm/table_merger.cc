#include "ferry/fpm/table_merger.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ferry::fpm {

using route::kNoRouteIndex;
using route::Prefix;
using route::RouteTable;

void TableMerger::adopt(const std::shared_ptr<const RouteTable>& config) {
  if (config == config_) return;
  config_ = config;
  const size_t count = config ? config->size() : 0;
  config_order_.resize(count);
  std::iota(config_order_.begin(), config_order_.end(), 0u);
  std::sort(config_order_.begin(), config_order_.end(),
            [&](uint32_t a, uint32_t b) { return config->prefix(a) < config->prefix(b); });
}

TableMerger::Result TableMerger::build(const std::shared_ptr<const RouteTable>& config,
                                       const std::shared_ptr<const RouteTable>& running,
                                       const ResolvedRoutes& fpm, uint32_t hash_seed) {
  MergedTable merged = buildMerged(config.get(), fpm, hash_seed);
  Result result;
  result.table = std::move(merged.table);
  result.stats = merged.stats;
  result.from = running ? result.table->indicesIn(*running)
                        : std::vector<uint32_t>(result.table->size(), kNoRouteIndex);
  return result;
}

TableMerger::Result TableMerger::merge(const std::shared_ptr<const RouteTable>& config,
                                       const std::shared_ptr<const RouteTable>& running,
                                       const ResolvedRoutes& fpm, uint32_t hash_seed) {
  const bool same_config = config == config_;
  adopt(config);
  const size_t head = config ? config->size() : 0;
  // A patch keeps the running table's hash seed (which never changes
  // after startup); a different one builds afresh, as does anything else.
  if (!same_config || !running || running != last_.lock() || running->size() < head ||
      running->hashSeed() != hash_seed) {
    Result result = build(config, running, fpm, hash_seed);
    last_ = result.table;
    return result;
  }

  // One walk over the running table's zebra routes (its routes after the
  // config's, in prefix order) and the new ones.
  Result result;
  auto set = std::make_shared<route::RouteSet>();
  set->reserve(head + fpm.routes.size());
  result.from.reserve(head + fpm.routes.size());
  for (uint32_t r = 0; r < head; ++r) {
    set->add(config->prefix(r), config->group(r));
    result.from.push_back(r);
  }
  std::vector<uint32_t> renumber(running->size(), kNoRouteIndex);
  std::iota(renumber.begin(), renumber.begin() + std::ptrdiff_t(head), 0u);
  std::vector<Prefix> changed;
  size_t old = head;
  size_t in_config = 0;  // in config_order_: the config's prefixes walked alongside
  const Prefix* previous = nullptr;
  for (const auto& [prefix, group] : fpm.routes) {
    if (previous != nullptr && !(*previous < prefix)) {  // not in prefix order: cannot walk
      // Nor can the next batch walk this table's zebra routes: it builds too.
      Result fresh = build(config, running, fpm, hash_seed);
      last_.reset();
      return fresh;
    }
    previous = &prefix;
    while (in_config < head && config->prefix(config_order_[in_config]) < prefix) ++in_config;
    if (in_config < head && config->prefix(config_order_[in_config]) == prefix) {
      ++result.stats.shadowed;
      continue;
    }
    for (; old < running->size() && running->prefix(uint32_t(old)) < prefix; ++old)
      changed.push_back(running->prefix(uint32_t(old)));
    const auto index = uint32_t(set->size());
    if (old < running->size() && running->prefix(uint32_t(old)) == prefix) {
      renumber[old] = index;
      result.from.push_back(uint32_t(old));
      ++old;
    } else {
      changed.push_back(prefix);
      result.from.push_back(kNoRouteIndex);
    }
    set->add(prefix, group);
    ++result.stats.fpm_routes;
  }
  for (; old < running->size(); ++old) changed.push_back(running->prefix(uint32_t(old)));
  result.stats.config_routes = head;

  std::string error;
  auto table = running->patched(std::move(set), config_order_, renumber, changed, &error,
                                &result.tries_patched);
  if (!table) throw std::runtime_error("fpm: cannot build the forwarding table: " + error);
  result.table = std::make_shared<const RouteTable>(std::move(*table));
  last_ = result.table;
  return result;
}

}  // namespace ferry::fpm
