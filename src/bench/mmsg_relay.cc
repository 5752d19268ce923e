// The reference classic UDP relay for `ferryd bench`: what a
// careful engineer writes without io_uring, so that ferry's figures have a
// fair baseline measured in the same run. See include/ferry/bench/peers.h.
//
// Per thread (one per dataplane, pinned like ferry's):
//   - its own ingress socket bound to --listen and egress socket bound to
//     --bind, both SO_REUSEPORT, 16 MiB buffers (as ferry's default
//     tuning.socket_buffer) — the kernel spreads flows over the threads by
//     the 4-tuple hash exactly as for ferry;
//   - recvmmsg(batch, MSG_WAITFORONE): blocks for the first datagram, then
//     takes whatever else is queued, up to the batch, without waiting;
//   - sendmmsg of the same buffers to --to (msg_name per message, as ferry
//     sends to the egress interface's peer), retrying the rest of a partial
//     send; truncated datagrams (larger than --max-datagram) are dropped and
//     counted, like ferry's `truncated`.
// With --connect the egress socket is connect()ed to --to instead (no route
// lookup per datagram): an option for experiments, off by default because
// ferry names the destination per datagram.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ferry/bench/peers.h"
#include "ferry/net/address.h"
#include "ferry/net/socket.h"

namespace ferry::bench {
namespace {

struct RelaySettings {
  SockAddr listen, bind, to;
  unsigned threads = 1;
  unsigned batch = 64;
  uint32_t max_datagram = 2048;
  uint32_t socket_buffer = 16 << 20;
  bool connect_egress = false;
};

struct alignas(64) ThreadCounters {
  std::atomic<uint64_t> rx{0};
  std::atomic<uint64_t> tx{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<uint64_t> send_errors{0};  // datagrams the kernel refused
  std::atomic<uint64_t> batches{0};
};

std::vector<int> allowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// One relay thread's sockets and buffers. The loop allocates nothing.
class RelayThread {
 public:
  RelayThread(const RelaySettings& s, Fd in, Fd out, ThreadCounters& counters)
      : s_(s),
        in_(std::move(in)),
        out_(std::move(out)),
        counters_(counters),
        buffers_(static_cast<size_t>(s.batch) * s.max_datagram),
        rx_iov_(s.batch),
        tx_iov_(s.batch),
        rx_(s.batch),
        tx_(s.batch) {
    for (unsigned i = 0; i < s.batch; ++i) {
      rx_iov_[i] = {buffers_.data() + static_cast<size_t>(i) * s.max_datagram, s.max_datagram};
      rx_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_[i].msg_hdr.msg_iovlen = 1;
      tx_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_[i].msg_hdr.msg_iovlen = 1;
      if (!s.connect_egress) {
        tx_[i].msg_hdr.msg_name = const_cast<sockaddr*>(s_.to.sa());
        tx_[i].msg_hdr.msg_namelen = s_.to.len();
      }
    }
  }

  int inFd() const { return in_.get(); }

  void run(const std::atomic<bool>& stop) noexcept {
    while (!stop.load(std::memory_order_relaxed)) {
      // A datagram longer than its buffer comes back with MSG_TRUNC set.
      const int n = recvmmsg(in_.get(), rx_.data(), s_.batch, MSG_WAITFORONE, nullptr);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return;  // the socket was shut down (stop) or broke
      }
      if (n == 0) return;  // shutdown(SHUT_RD)
      counters_.rx.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      counters_.batches.fetch_add(1, std::memory_order_relaxed);
      unsigned out = 0;
      for (int i = 0; i < n; ++i) {
        if (rx_[i].msg_hdr.msg_flags & MSG_TRUNC) {
          counters_.truncated.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        tx_iov_[out] = {rx_iov_[i].iov_base, rx_[i].msg_len};
        ++out;
      }
      unsigned sent = 0, refused = 0;
      while (sent < out) {
        const int r = sendmmsg(out_.get(), tx_.data() + sent, out - sent, 0);
        if (r > 0) {
          sent += static_cast<unsigned>(r);
          continue;
        }
        if (r < 0 && errno == EINTR) continue;
        // The first message failed (ENOBUFS, ECONNREFUSED with --connect):
        // drop it and go on with the rest.
        ++refused;
        ++sent;
      }
      counters_.tx.fetch_add(out - refused, std::memory_order_relaxed);
      if (refused) counters_.send_errors.fetch_add(refused, std::memory_order_relaxed);
    }
  }

 private:
  const RelaySettings& s_;
  Fd in_, out_;
  ThreadCounters& counters_;
  std::vector<char> buffers_;
  std::vector<iovec> rx_iov_, tx_iov_;
  std::vector<mmsghdr> rx_, tx_;
};

std::optional<uint64_t> number(const std::string& s) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<RelaySettings> parse(const std::vector<std::string>& args, std::string* error) {
  RelaySettings s;
  bool have_listen = false, have_bind = false, have_to = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--connect") {
      s.connect_egress = true;
      continue;
    }
    if (i + 1 >= args.size()) {
      *error = a + ": expected a value";
      return std::nullopt;
    }
    const std::string& v = args[++i];
    std::string why;
    if (a == "--listen" || a == "--bind" || a == "--to") {
      auto addr = SockAddr::parse(v, &why);
      if (!addr) {
        *error = a + ": " + why;
        return std::nullopt;
      }
      (a == "--listen" ? s.listen : a == "--bind" ? s.bind : s.to) = *addr;
      (a == "--listen" ? have_listen : a == "--bind" ? have_bind : have_to) = true;
    } else if (a == "--threads" || a == "--batch" || a == "--max-datagram" ||
               a == "--socket-buffer") {
      const auto n = number(v);
      const uint64_t hi = a == "--threads"        ? 1024
                          : a == "--batch"        ? 1024
                          : a == "--max-datagram" ? 65535
                                                  : (1u << 30);
      if (!n || *n == 0 || *n > hi) {
        *error = a + ": expected a number from 1 to " + std::to_string(hi) + ", got '" + v + "'";
        return std::nullopt;
      }
      if (a == "--threads")
        s.threads = static_cast<unsigned>(*n);
      else if (a == "--batch")
        s.batch = static_cast<unsigned>(*n);
      else if (a == "--max-datagram")
        s.max_datagram = static_cast<uint32_t>(*n);
      else
        s.socket_buffer = static_cast<uint32_t>(*n);
    } else {
      *error = "unknown option '" + a + "'";
      return std::nullopt;
    }
  }
  if (!have_listen || !have_bind || !have_to) {
    *error = "--listen, --bind and --to are required";
    return std::nullopt;
  }
  return s;
}

}  // namespace

int mmsgRelayMain(const std::vector<std::string>& args) {
  std::string error;
  const auto parsed = parse(args, &error);
  if (!parsed) {
    std::cerr << "mmsg relay: " << error << "\n";
    return 2;
  }
  const RelaySettings s = *parsed;

  // Signals go to the main thread's sigwait only.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  UdpSocketOptions options;
  options.buffer_bytes = s.socket_buffer;
  std::vector<std::unique_ptr<RelayThread>> relays;
  std::vector<std::unique_ptr<ThreadCounters>> counters;
  for (unsigned t = 0; t < s.threads; ++t) {
    auto in = openUdpSocket(s.listen, options);
    if (!in) {
      std::cerr << "mmsg relay: " << in.error() << "\n";
      return 1;
    }
    auto out = openUdpSocket(s.bind, options);
    if (!out) {
      std::cerr << "mmsg relay: " << out.error() << "\n";
      return 1;
    }
    if (s.connect_egress && ::connect(out->get(), s.to.sa(), s.to.len()) != 0) {
      std::cerr << "mmsg relay: connect " << s.to.toString() << ": " << std::strerror(errno)
                << "\n";
      return 1;
    }
    counters.push_back(std::make_unique<ThreadCounters>());
    relays.push_back(std::make_unique<RelayThread>(s, std::move(in).take(), std::move(out).take(),
                                                   *counters.back()));
  }

  std::atomic<bool> stop{false};
  const std::vector<int> cpus = allowedCpus();
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < s.threads; ++t) {
    const int cpu = cpus[t % cpus.size()];
    threads.emplace_back([&, t, cpu] {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      pthread_setaffinity_np(pthread_self(), sizeof set, &set);
      relays[t]->run(stop);
    });
  }
  std::cerr << "mmsg relay: ready: " << s.threads << " threads, " << s.listen.toString() << " -> "
            << s.to.toString() << " from " << s.bind.toString() << ", batch " << s.batch
            << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  stop.store(true);
  // Wakes each thread blocked in recvmmsg (it returns 0).
  for (auto& r : relays) shutdown(r->inFd(), SHUT_RD);
  for (auto& t : threads) t.join();

  uint64_t rx = 0, tx = 0, truncated = 0, send_errors = 0, batches = 0;
  std::string per_thread;
  for (unsigned t = 0; t < s.threads; ++t) {
    const auto& c = *counters[t];
    rx += c.rx;
    tx += c.tx;
    truncated += c.truncated;
    send_errors += c.send_errors;
    batches += c.batches;
    per_thread += (t ? "," : "") + std::string("{\"thread\":") + std::to_string(t) +
                  ",\"cpu\":" + std::to_string(cpus[t % cpus.size()]) +
                  ",\"rx_packets\":" + std::to_string(c.rx.load()) +
                  ",\"tx_packets\":" + std::to_string(c.tx.load()) + "}";
  }
  std::cout << "{\"rx_packets\":" << rx << ",\"tx_packets\":" << tx
            << ",\"truncated\":" << truncated << ",\"send_errors\":" << send_errors
            << ",\"batches\":" << batches << ",\"threads\":[" << per_thread << "]}" << std::endl;
  return 0;
}

}  // namespace ferry::bench
