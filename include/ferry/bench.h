// Benchmark mode: `ferryd bench [OPTIONS]` (README "Benchmark mode").
// Measures ferry's forwarding throughput per dataplane count, RFC 2544 style,
// side by side with a classic recvmmsg/sendmmsg relay, nginx's UDP proxy and
// the kernel's own forwarding, in one invocation.
#pragma once

#include <string>
#include <vector>

namespace ferry {

// `args` are the words after "bench". Returns the process exit status: 0 when
// every run was measured, 1 when some could not be (the reasons are printed),
// 2 on bad arguments, 128+N when stopped by signal N (after cleaning up).
int benchMain(const std::vector<std::string>& args);

}  // namespace ferry
