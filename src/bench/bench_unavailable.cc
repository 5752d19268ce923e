// Stand-in for benchMain while ferry-gen's library (tools/ferry-gen) is not
// part of the tree: the measuring loop needs its generator and sink.
#include <iostream>

#include "ferry/bench.h"

namespace ferry {

int benchMain(const std::vector<std::string>&) {
  std::cerr << "ferryd bench: this build has no ferry-gen library (tools/ferry-gen)\n";
  return 1;
}

}  // namespace ferry
