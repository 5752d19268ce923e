#include "ferry/route/huge_pages.h"

#include <sys/mman.h>

#include <cstdint>

namespace ferry::route {

void* allocateHugePages(size_t bytes) {
  if (bytes < kHugePageMinBytes) return ::operator new(bytes);
  const size_t size = hugePageFootprint(bytes);
  if (size > SIZE_MAX - kHugePageSize) throw std::bad_alloc();
  // mmap only guarantees 4 KiB alignment: map one huge page more and trim the
  // unaligned head and the surplus tail.
  void* raw = mmap(nullptr, size + kHugePageSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePageSize - 1) & ~(kHugePageSize - 1);
  const uintptr_t end = start + size + kHugePageSize;
  if (aligned > start) munmap(raw, aligned - start);
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  void* p = reinterpret_cast<void*>(aligned);
  // Advice only: EINVAL where the kernel has no THP; the pages then stay 4 KiB.
  static_cast<void>(madvise(p, size, MADV_HUGEPAGE));
  return p;
}

void deallocateHugePages(void* p, size_t bytes) noexcept {
  if (p == nullptr) return;
  if (bytes < kHugePageMinBytes) {
    ::operator delete(p, bytes);
    return;
  }
  munmap(p, hugePageFootprint(bytes));
}

}  // namespace ferry::route
