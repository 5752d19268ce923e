// The binaries are built for x86-64-v2 (meson option cpu_level) and must
// refuse to start, with a message, on a CPU without it — not die on an
// illegal instruction. A real such CPU is emulated with qemu-user: its
// "qemu64" model has no POPCNT, SSE4.1/4.2 or SSSE3, and qemu raises #UD for
// those instructions as the hardware would; "Nehalem" is the first x86-64-v2
// CPU.
#include <unistd.h>

#include "harness.h"

namespace ferry::test {
namespace {

bool haveQemu() { return sh("command -v qemu-x86_64 >/dev/null") == 0; }

TEST(CpuCheck, EveryBinaryRefusesACpuBelowX8664V2WithAMessage) {
  if (std::string(FERRY_CPU_LEVEL) != "x86-64-v2") GTEST_SKIP() << "built for " << FERRY_CPU_LEVEL;
  ASSERT_TRUE(haveQemu()) << "qemu-x86_64 missing (tools/dev setup installs qemu-user)";
  for (const char* env : {"FERRYD", "FERRYCTL", "FERRY_GEN"}) {
    const std::string path = binary(env);
    const std::string name = path.substr(path.rfind('/') + 1);
    auto p = Process::start({"qemu-x86_64", "-cpu", "qemu64", path, "--version"});
    EXPECT_EQ(p.wait(30s), 1) << name << ": " << p.err();
    EXPECT_EQ(p.out(), "") << name;
    EXPECT_EQ(p.err(),
              name + ": this build needs an x86-64-v2 CPU (POPCNT, SSE4.2, SSE4.1, SSSE3, "
                     "CMPXCHG16B); this CPU lacks: popcnt sse4.2 sse4.1 ssse3 x86-64-v2. Build for "
                     "plain x86-64 instead: meson configure BUILDDIR -Dcpu_level=x86-64\n");
  }
}

TEST(CpuCheck, AnX8664V2CpuRunsThem) {
  if (std::string(FERRY_CPU_LEVEL) != "x86-64-v2") GTEST_SKIP() << "built for " << FERRY_CPU_LEVEL;
  ASSERT_TRUE(haveQemu()) << "qemu-x86_64 missing (tools/dev setup installs qemu-user)";
  auto p = Process::start({"qemu-x86_64", "-cpu", "Nehalem", binary("FERRYD"), "--version"});
  EXPECT_EQ(p.wait(30s), 0) << p.err();
  EXPECT_EQ(p.out(), "ferryd 0.1.0\n");
  EXPECT_EQ(p.err(), "");
}

}  // namespace
}  // namespace ferry::test
