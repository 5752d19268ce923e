// Reference routers that `ferryd bench` compares ferry with, built into
// ferryd so the bench needs no other binary (src/bench/mmsg_relay.cc).
#pragma once

#include <string>
#include <vector>

namespace ferry::bench {

// `ferryd bench peer-mmsg --listen ADDR:PORT --bind ADDR:PORT --to ADDR:PORT
//  [--threads N] [--batch 64] [--max-datagram 2048] [--socket-buffer BYTES]
//  [--connect]`
// The classic relay: N threads, thread i pinned to the i-th allowed CPU, each
// with its own SO_REUSEPORT socket on --listen and on --bind, moving batches
// with recvmmsg → sendmmsg (same buffers, no copy, no io_uring). Prints
// "mmsg relay: ready" on stderr once every socket is bound; on SIGINT/SIGTERM
// stops and prints its counters as one JSON line on stdout.
int mmsgRelayMain(const std::vector<std::string>& args);

}  // namespace ferry::bench
