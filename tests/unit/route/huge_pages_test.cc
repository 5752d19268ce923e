#include "ferry/route/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

namespace ferry::route {
namespace {

bool aligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

TEST(HugePages, Footprint) {
  EXPECT_EQ(hugePageFootprint(0), 0u);
  EXPECT_EQ(hugePageFootprint(100), 100u);
  EXPECT_EQ(hugePageFootprint(kHugePageMinBytes - 1), kHugePageMinBytes - 1);
  EXPECT_EQ(hugePageFootprint(kHugePageMinBytes), kHugePageSize);
  EXPECT_EQ(hugePageFootprint(kHugePageSize), kHugePageSize);
  EXPECT_EQ(hugePageFootprint(kHugePageSize + 1), 2 * kHugePageSize);
}

TEST(HugePages, LargeAllocationsAreAlignedZeroedAndWritable) {
  for (const size_t bytes : {kHugePageMinBytes, kHugePageSize, 3 * kHugePageSize + 12345}) {
    auto* p = static_cast<unsigned char*>(allocateHugePages(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(aligned(p, kHugePageSize)) << bytes;
    // A fresh anonymous mapping reads as zeros, to its rounded-up end.
    const size_t footprint = hugePageFootprint(bytes);
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[bytes - 1], 0);
    EXPECT_EQ(p[footprint - 1], 0);
    std::memset(p, 0xab, bytes);
    EXPECT_EQ(p[bytes - 1], 0xab);
    deallocateHugePages(p, bytes);
  }
}

TEST(HugePages, SmallAllocationsUseTheHeap) {
  void* p = allocateHugePages(64);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned(p, __STDCPP_DEFAULT_NEW_ALIGNMENT__));
  std::memset(p, 1, 64);
  deallocateHugePages(p, 64);
  deallocateHugePages(nullptr, 0);
}

TEST(HugePages, VectorGrowsCopiesAndShrinks) {
  std::vector<uint32_t, HugePageAllocator<uint32_t>> v;
  // Crosses kHugePageMinBytes while growing: heap → mapping reallocation.
  const size_t n = 3 * kHugePageSize / sizeof(uint32_t) + 7;
  for (size_t i = 0; i < n; ++i) v.push_back(static_cast<uint32_t>(i));
  EXPECT_TRUE(aligned(v.data(), kHugePageSize));
  std::vector<uint32_t, HugePageAllocator<uint32_t>> copy = v;
  v.shrink_to_fit();
  EXPECT_EQ(v.capacity(), n);
  for (size_t i = 0; i < n; i += 4099) ASSERT_EQ(v[i], i);
  EXPECT_EQ(copy, v);
  // Value-initialised by the vector, whatever the allocator returns.
  std::vector<uint64_t, HugePageAllocator<uint64_t>> zeros(kHugePageSize / 8 + 1);
  EXPECT_EQ(std::accumulate(zeros.begin(), zeros.end(), uint64_t{0}), 0u);
  zeros.clear();
  zeros.shrink_to_fit();
  EXPECT_EQ(zeros.capacity(), 0u);
}

}  // namespace
}  // namespace ferry::route
