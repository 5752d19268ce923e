#include "ferryd_fixture.h"

#include <poll.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <mutex>

#include "ferry/net/checksum.h"

namespace ferry::test {

UdpSocket::UdpSocket(const std::string& addr, int rcvbuf) {
  const auto a = SockAddr::parse(addr.back() == ':' ? addr + "0" : addr);
  SockAddr bind_to;
  if (a) {
    bind_to = *a;
  } else {
    // parse() refuses port 0; accept "host:0" here for "any port".
    const auto colon = addr.rfind(':');
    bind_to = *SockAddr::parse(addr.substr(0, colon) + ":1");
    bind_to.setPort(0);
  }
  fd_ = ::socket(bind_to.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  if (bind_to.isV6()) {
    int one = 1;
    setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (::bind(fd_, bind_to.sa(), bind_to.len()) != 0)
    throw std::runtime_error("bind " + addr + ": " + std::strerror(errno));
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

SockAddr UdpSocket::local() const {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  return *SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

bool UdpSocket::sendTo(const SockAddr& to, const void* data, size_t len) const {
  return ::sendto(fd_, data, len, 0, to.sa(), to.len()) == ssize_t(len);
}

ssize_t UdpSocket::recv(void* buf, size_t cap, int timeout_ms, SockAddr* from) const {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return -1;
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  const ssize_t n = ::recvfrom(fd_, buf, cap, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n >= 0 && from) *from = *SockAddr::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return n;
}

Ferryd::Ferryd(const std::string& yaml, const std::string& netns, const std::vector<std::string>& env)
    : netns_(netns) {
  socket_ = dir_.path() + "/ferry.sock";
  config_ = dir_.write("ferry.yaml", "control_socket: " + socket_ + "\n" + yaml);
  process_ = Process::start({binary("FERRYD"), "run", "--config", config_}, {.netns = netns, .env = env});
  // Generous: the wait ends as soon as the daemon says it started or exits.
  // Only the sanitizer builds on a loaded machine start slowly: a config
  // with 100,000 routes (bfd_test) takes about 16 s under TSan on the idle
  // 2-core VM, and missed a 10 s limit once while another build ran.
  started_ = process_.waitForOutput("dataplanes started", 60s);
}

bool allUp(const Ferryd& f, size_t expected) {
  const auto bfd = f.show("bfd");
  if (bfd["sessions"].size() != expected) return false;
  for (const auto& s : bfd["sessions"])
    if (s["state"] != "up") return false;
  return true;
}

std::vector<uint64_t> perDataplaneRx(const Ferryd& f) {
  std::vector<uint64_t> rx;
  for (const auto& dp : f.show("dataplanes")) rx.push_back(dp["rx_packets"].get<uint64_t>());
  return rx;
}

nlohmann::json lastJson(const Process& p) {
  const std::string out = p.out();
  const auto end = out.find_last_not_of('\n');
  const auto start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1),
                               nullptr, false);
}

std::string ctl(const Ferryd& f, const std::string& args, int* status) {
  std::string out;
  const int s = sh(binary("FERRYCTL") + " --socket " + f.socketPath() + " " + args, &out);
  if (status) *status = s;
  return out;
}

bool stopEveryThread(Ferryd& f) {
  f.process().signal(SIGSTOP);
  const std::string tasks = "/proc/" + std::to_string(f.process().pid()) + "/task";
  return eventually(
      [&] {
        std::string states;
        sh("cat " + tasks + "/*/stat | awk '{print $3}' | sort -u", &states);
        return states == "T\n";
      },
      5s);
}

nlohmann::json Ferryd::show(const std::string& what) const {
  std::string out;
  const std::string cmd = (netns_.empty() ? "" : "ip netns exec " + netns_ + " ") + binary("FERRYCTL") +
                          " --socket " + socket_ + " show " + what + " --json";
  const int status = sh(cmd + " 2>/dev/null", &out);
  EXPECT_EQ(status, 0) << cmd << "\n" << out;
  auto doc = nlohmann::json::parse(out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << out;
  return doc;
}

std::string relayPairYaml(unsigned dataplanes, uint16_t in_port, uint16_t out_port,
                          const SockAddr& sink, const std::string& settings) {
  return "dataplanes: " + std::to_string(dataplanes) + "\n" + settings +
         "interfaces:\n"
         "  - { name: in, bind: \"127.0.0.1:" +
         std::to_string(in_port) +
         "\" }\n"
         "  - { name: out, bind: \"127.0.0.1:" +
         std::to_string(out_port) + "\", peer: \"" + sink.toString() +
         "\" }\n"
         "relay: [ { from: in, to: out } ]\n";
}

int Ferryd::terminate() {
  process_.signal(SIGTERM);
  auto status = process_.wait(15s);
  EXPECT_TRUE(status.has_value()) << "ferryd did not exit within 15 s of SIGTERM";
  return status.value_or(-1);
}

std::vector<uint8_t> innerPacket(uint16_t sport, uint32_t seq, std::array<uint8_t, 4> dst) {
  std::vector<uint8_t> p(20 + 8 + 16, 0);
  p[0] = 0x45;
  p[3] = uint8_t(p.size());
  p[8] = 64;
  p[9] = 17;
  const uint8_t src[4] = {10, 0, 0, 1};
  std::memcpy(&p[12], src, 4);
  std::memcpy(&p[16], dst.data(), 4);
  const uint16_t ipsum = checksum::compute({p.data(), 20});
  p[10] = uint8_t(ipsum >> 8);
  p[11] = uint8_t(ipsum);
  p[20] = uint8_t(sport >> 8);
  p[21] = uint8_t(sport);
  p[23] = 9;
  p[25] = 24;  // UDP length; checksum 0 (allowed on IPv4)
  std::memcpy(&p[28], &seq, 4);
  return p;
}

size_t payloadSize(uint32_t seq) {
  // 8..1400 bytes, all sizes covered over a run.
  return 8 + (size_t(seq) * 7919u) % 1393u;
}

void fillPayload(uint32_t seq, std::vector<uint8_t>& out) {
  const size_t n = payloadSize(seq);
  out.resize(n);
  // Byte 0 is a fixed marker outside 0x20-0x3F, so no test payload can be
  // taken for an in-band BFD packet; the seq follows.
  out[0] = 0xa5;
  std::memcpy(out.data() + 1, &seq, 4);
  uint32_t x = seq * 2654435761u + 1;
  for (size_t i = 5; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<uint8_t>(x);
  }
}

int64_t checkPayload(const uint8_t* data, size_t len) {
  if (len < 8 || data[0] != 0xa5) return -1;
  uint32_t seq;
  std::memcpy(&seq, data + 1, 4);
  static thread_local std::vector<uint8_t> expected;
  fillPayload(seq, expected);
  if (expected.size() != len || std::memcmp(expected.data(), data, len) != 0) return -1;
  return seq;
}

TransferResult pacedTransfer(const std::vector<UdpSocket*>& sources, const SockAddr& to,
                             const UdpSocket& sink, uint32_t count, uint32_t window, int drain_ms) {
  TransferResult r;
  r.seen.assign(count, 0);
  std::atomic<uint64_t> received{0};
  std::atomic<bool> sending_done{false};
  std::mutex mutex;
  std::thread receiver([&] {
    std::vector<uint8_t> buf(65536);
    auto last = std::chrono::steady_clock::now();
    while (true) {
      const ssize_t n = sink.recv(buf.data(), buf.size(), 50);
      if (n < 0) {
        if (sending_done && std::chrono::steady_clock::now() - last > std::chrono::milliseconds(drain_ms))
          break;
        continue;
      }
      last = std::chrono::steady_clock::now();
      const int64_t seq = checkPayload(buf.data(), size_t(n));
      std::lock_guard lock(mutex);
      if (seq < 0 || seq >= int64_t(count)) {
        ++r.corrupt;
      } else {
        if (r.seen[size_t(seq)]++ > 0) ++r.duplicates;
      }
      received.fetch_add(1);
    }
  });
  std::vector<uint8_t> payload;
  const auto give_up = std::chrono::steady_clock::now() + 60s;
  uint64_t last_seen = 0;
  auto since = std::chrono::steady_clock::now();
  for (uint32_t seq = 0; seq < count; ++seq) {
    // Pace by the sink: never more than `window` in flight, so neither
    // ferryd nor the sink can overflow and every count is exact.
    while (seq - received.load() >= window && std::chrono::steady_clock::now() < give_up) {
      struct timespec ts{0, 20'000};
      nanosleep(&ts, nullptr);
      // A lost datagram would stall the window forever: after 200 ms without
      // progress, let the window slide (the loss then shows in the counts).
      if (received.load() != last_seen) {
        last_seen = received.load();
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since > 200ms) {
        since = std::chrono::steady_clock::now();
        break;
      }
    }
    fillPayload(seq, payload);
    if (sources[seq % sources.size()]->sendTo(to, payload.data(), payload.size())) ++r.sent;
  }
  sending_done = true;
  receiver.join();
  r.received = received.load();
  return r;
}

}  // namespace ferry::test
