// Refuses to start on a CPU that lacks the instruction-set level this build
// was compiled for (meson option cpu_level, default x86-64-v2), with a
// message, instead of dying later on an illegal instruction.
//
// It runs as the first constructor of the program (priority 101, before any
// other static initialiser that the compiler may have built with POPCNT or
// SSE4 instructions), and it is compiled for the baseline x86-64 itself, so
// it can run anywhere. Linked into ferryd, ferryctl and ferry-gen.
#include <errno.h>
#include <unistd.h>

#include <cstring>

namespace {

#if defined(__x86_64__) && defined(__POPCNT__) && defined(__SSE4_2__)

struct Feature {
  const char* name;
  bool present;
};

__attribute__((target("arch=x86-64"))) void say(const char* text) noexcept {
  size_t left = std::strlen(text);
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, text, left);
    if (n <= 0) return;
    text += n;
    left -= size_t(n);
  }
}

__attribute__((constructor(101), target("arch=x86-64"))) void requireCpuLevel() noexcept {
  __builtin_cpu_init();
  // x86-64-v2 adds CMPXCHG16B, LAHF/SAHF, POPCNT, SSE3, SSE4.1, SSE4.2 and
  // SSSE3 to the baseline; the first four named here are the ones the
  // compiler uses for our code (popcount in the LPM tables, string ops).
  const Feature features[] = {
      {"popcnt", __builtin_cpu_supports("popcnt") != 0},
      {"sse4.2", __builtin_cpu_supports("sse4.2") != 0},
      {"sse4.1", __builtin_cpu_supports("sse4.1") != 0},
      {"ssse3", __builtin_cpu_supports("ssse3") != 0},
      {"x86-64-v2", __builtin_cpu_supports("x86-64-v2") != 0},
  };
  bool missing = false;
  for (const Feature& f : features) missing = missing || !f.present;
  if (!missing) return;
  say(program_invocation_short_name);  // set by glibc before constructors run
  say(": this build needs an x86-64-v2 CPU (POPCNT, SSE4.2, SSE4.1, SSSE3, CMPXCHG16B); this CPU lacks:");
  for (const Feature& f : features) {
    if (f.present) continue;
    say(" ");
    say(f.name);
  }
  say(". Build for plain x86-64 instead: meson configure BUILDDIR -Dcpu_level=x86-64\n");
  ::_exit(1);
}

#endif

}  // namespace
