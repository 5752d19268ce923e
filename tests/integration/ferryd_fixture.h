// Helpers for tests that run ferryd: a running daemon with its own control
// socket in a temp dir, plain UDP sockets, and a paced sender + verifying
// sink that never overrun each other (so counts can be asserted exactly).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "ferry/net/address.h"
#include "harness.h"

namespace ferry::test {

// A UDP socket bound to `addr` ("127.0.0.1:0" for any port).
class UdpSocket {
 public:
  explicit UdpSocket(const std::string& addr, int rcvbuf = 8 << 20);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  int fd() const { return fd_; }
  SockAddr local() const;
  bool sendTo(const SockAddr& to, const void* data, size_t len) const;
  // Receives one datagram, waiting at most timeout_ms; -1 on timeout.
  ssize_t recv(void* buf, size_t cap, int timeout_ms, SockAddr* from = nullptr) const;

 private:
  int fd_ = -1;
};

// A running `ferryd run --config` with `yaml` (its control_socket is set to a
// private path). Killed in the destructor if still running.
class Ferryd {
 public:
  // `env`: extra NAME=value entries for the daemon's environment.
  explicit Ferryd(const std::string& yaml_without_control_socket, const std::string& netns = "",
                  const std::vector<std::string>& env = {});
  bool started() const { return started_; }
  Process& process() { return process_; }
  const std::string& socketPath() const { return socket_; }
  const std::string& configPath() const { return config_; }
  // `ferryctl --socket … show WHAT --json`, parsed.
  nlohmann::json show(const std::string& what) const;
  // SIGTERM and wait; returns the exit status.
  int terminate();

 private:
  TempDir dir_;
  std::string socket_;
  std::string config_;
  std::string netns_;
  Process process_;
  bool started_ = false;
};

// A relay config of two loopback interfaces, `in` on port `in_port` and
// `out` on `out_port` sending to `sink`, relaying in → out, with `settings`
// (top-level lines such as "steering: cpu\n") after the dataplane count.
std::string relayPairYaml(unsigned dataplanes, uint16_t in_port, uint16_t out_port,
                          const SockAddr& sink, const std::string& settings = "");

// True when `f` has exactly `expected` BFD sessions and all are up.
bool allUp(const Ferryd& f, size_t expected);

// rx_packets of each of `f`'s dataplanes, in dataplane order.
std::vector<uint64_t> perDataplaneRx(const Ferryd& f);

// The last line of `p`'s output parsed as JSON (discarded when it is not).
nlohmann::json lastJson(const Process& p);

// `ferryctl --socket <f's socket> ARGS`: its output, and its exit status in
// `status` when given.
std::string ctl(const Ferryd& f, const std::string& args, int* status = nullptr);

// SIGSTOP to `f`, then waits (up to 5 s) until every one of its threads is
// stopped: a stop reaches them asynchronously. False if they did not stop.
bool stopEveryThread(Ferryd& f);

// An inner IPv4+UDP packet 10.0.0.1:sport -> dst:9 (route mode's payload),
// with valid checksums and `seq` in its UDP payload.
std::vector<uint8_t> innerPacket(uint16_t sport, uint32_t seq, std::array<uint8_t, 4> dst);

// Deterministic test payloads: seq number + bytes derived from it.
size_t payloadSize(uint32_t seq);
void fillPayload(uint32_t seq, std::vector<uint8_t>& out);
// Checks a received payload; returns its seq or -1 when it is not intact.
int64_t checkPayload(const uint8_t* data, size_t len);

struct TransferResult {
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t corrupt = 0;
  uint64_t duplicates = 0;
  std::vector<uint8_t> seen;  // per seq: times received
};

// Sends `count` payloads round-robin from `sources` source sockets to `to`,
// keeping at most `window` datagrams unacknowledged by `sink` (which runs on
// its own thread), then waits up to `drain_ms` for stragglers.
TransferResult pacedTransfer(const std::vector<UdpSocket*>& sources, const SockAddr& to,
                             const UdpSocket& sink, uint32_t count, uint32_t window = 256,
                             int drain_ms = 2000);

}  // namespace ferry::test
