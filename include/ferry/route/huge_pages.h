// Memory for the LPM tables' lookup arrays on transparent huge pages.
//
// Why: a lookup is a few dependent random reads into ~13 MiB (1M IPv4 routes)
// or ~14 MiB (200k IPv6 routes). On 4 KiB pages that is ~3,500 pages, more
// than the second-level TLB holds, so most lookups pay page walks on top of
// the cache misses; on 2 MiB pages the same tables are 7-8 TLB entries.
//
// How: an allocation of at least kHugePageMinBytes gets its own anonymous
// mapping, rounded up to whole 2 MiB pages and aligned to 2 MiB (THP backs only
// aligned 2 MiB extents), with madvise(MADV_HUGEPAGE), so it works with THP in
// "madvise" mode as well as "always". Where THP is off or unavailable the
// advice fails and the mapping silently stays on normal pages. Smaller
// allocations (small tables, the vectors early in a build) use operator new:
// rounding them up to 2 MiB would waste more memory than it saves TLB misses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

namespace ferry::route {

inline constexpr size_t kHugePageSize = size_t{2} << 20;
// The smallest allocation that gets huge pages. 1 MiB: IPv4's direct array
// (exactly 1 MiB) qualifies; at most half of such a mapping is rounding.
inline constexpr size_t kHugePageMinBytes = size_t{1} << 20;

// Bytes reserved for an allocation of `bytes`: `bytes` itself below
// kHugePageMinBytes, otherwise rounded up to a multiple of kHugePageSize.
inline constexpr size_t hugePageFootprint(size_t bytes) noexcept {
  return bytes < kHugePageMinBytes ? bytes
                                   : (bytes + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
}

// Raw storage of `bytes` (uninitialised as far as callers may assume, though a
// fresh mapping reads as zeros), aligned to 16 bytes at least and to 2 MiB when
// at least kHugePageMinBytes. Throws std::bad_alloc. Free with the same size.
void* allocateHugePages(size_t bytes);
void deallocateHugePages(void* p, size_t bytes) noexcept;

// A stateless std::allocator replacement for vectors that lookups read.
template <class T>
class HugePageAllocator {
 public:
  using value_type = T;
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);

  HugePageAllocator() noexcept = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}  // NOLINT: implicit, as allocators are

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(allocateHugePages(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept { deallocateHugePages(p, n * sizeof(T)); }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace ferry::route
