// systemd's notification protocol, with the test as the service manager: a
// Unix datagram socket named by NOTIFY_SOCKET, WATCHDOG_USEC set as
// WatchdogSec= would. ferryd says READY=1 once its dataplanes run,
// RELOADING=1 then READY=1 around a reload, WATCHDOG=1 every half period
// while healthy and none once a dataplane has been stopped (ptrace) for
// longer than tuning.watchdog_stall_ms, and STOPPING=1 at SIGTERM.
#include <poll.h>
#include <sys/un.h>

#include <chrono>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

using Clock = std::chrono::steady_clock;

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() { ::close(fd_); }
  bool bound() const { return bound_; }

  struct Message {
    Clock::time_point at;
    std::string text;
  };
  // Every message that arrives within `duration`.
  std::vector<Message> collect(std::chrono::milliseconds duration) const {
    std::vector<Message> out;
    const auto end = Clock::now() + duration;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, int(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) out.push_back({Clock::now(), std::string(buf, size_t(n))});
    }
  }
  // Messages until one starts with `prefix` (included), waiting at most `limit`.
  std::vector<Message> until(const std::string& prefix, std::chrono::milliseconds limit) const {
    std::vector<Message> out;
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      out.push_back({Clock::now(), std::string(buf, size_t(n))});
      if (out.back().text.rfind(prefix, 0) == 0) return out;
    }
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

size_t count(const std::vector<NotifySocket::Message>& messages, const std::string& text) {
  size_t n = 0;
  for (const auto& m : messages) n += m.text == text;
  return n;
}

bool ends(const std::vector<NotifySocket::Message>& messages, const std::string& prefix) {
  return !messages.empty() && messages.back().text.rfind(prefix, 0) == 0;
}

// One dataplane relaying from a to b (b's peer: `sink`).
std::string oneDataplaneRelay(const UdpSocket& sink) {
  return "dataplanes: 1\ninterfaces:\n"
         "  - { name: a, bind: \"127.0.0.1:" + std::to_string(freeUdpPort()) + "\" }\n"
         "  - { name: b, bind: \"127.0.0.1:" + std::to_string(freeUdpPort()) + "\", peer: \"" +
         sink.local().toString() + "\" }\n"
         "relay: [ { from: a, to: b } ]\n";
}

TEST(Notify, ReadyReloadWatchdogWhileHealthyAndStopping) {
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify.sock");
  ASSERT_TRUE(notify.bound());
  const uint16_t a_port = freeUdpPort(), b_port = freeUdpPort();
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd("dataplanes: 2\n"
                "tuning: { watchdog_stall_ms: 500 }\n"
                "interfaces:\n"
                "  - { name: a, bind: \"127.0.0.1:" + std::to_string(a_port) + "\" }\n"
                "  - { name: b, bind: \"127.0.0.1:" + std::to_string(b_port) + "\", peer: \"" +
                    sink.local().toString() + "\" }\n"
                "relay: [ { from: a, to: b } ]\n",
                "", {"NOTIFY_SOCKET=" + dir.path() + "/notify.sock", "WATCHDOG_USEC=200000"});
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();

  // 1. READY=1 with a status line, first.
  auto got = notify.until("READY=1", 5s);
  ASSERT_TRUE(ends(got, "READY=1")) << ferryd.process().err();
  EXPECT_EQ(got.size(), 1u) << "READY=1 is the first message";
  EXPECT_EQ(got.back().text, "READY=1\nSTATUS=2 of 2 interfaces up, 2 dataplanes");

  // 2. Healthy: WATCHDOG=1 (with the status) every half period (100 ms) —
  // 1.5 s holds 15.
  got = notify.collect(1500ms);
  const size_t pets = count(got, "WATCHDOG=1\nSTATUS=2 of 2 interfaces up, 2 dataplanes");
  EXPECT_GE(pets, 10u);
  EXPECT_LE(pets, 17u);
  EXPECT_EQ(got.size(), pets) << "nothing else";

  // 3. A reload: RELOADING=1, then READY=1.
  std::string out;
  ASSERT_EQ(sh(binary("FERRYCTL") + " --socket " + ferryd.socketPath() + " reload", &out), 0) << out;
  got = notify.until("READY=1", 5s);
  ASSERT_TRUE(ends(got, "READY=1")) << got.size();
  size_t reloading = 0;
  for (const auto& m : got) reloading += m.text == "RELOADING=1";
  EXPECT_EQ(reloading, 1u);

  // 4. One dataplane stopped while datagrams wait on its socket: once it has
  // been stalled longer than watchdog_stall_ms, no more WATCHDOG=1.
  const pid_t tid = threadNamed(ferryd.process().pid(), "ferry-dp1");
  ASSERT_GT(tid, 0);
  std::vector<std::unique_ptr<UdpSocket>> sources;
  for (int i = 0; i < 16; ++i) sources.push_back(std::make_unique<UdpSocket>("127.0.0.1:0"));
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(a_port));
  std::vector<uint8_t> payload;
  {
    ThreadStop stop(tid);
    ASSERT_TRUE(stop.stopped());
    uint32_t seq = 0;
    for (auto& s : sources) {
      fillPayload(seq++, payload);
      ASSERT_TRUE(s->sendTo(to, payload.data(), payload.size()));
    }
    ASSERT_TRUE(eventually([&] { return ferryd.show("dataplanes")[1]["stalled"].get<bool>(); }, 6s));
    notify.collect(700ms);  // past the 500 ms limit (and what was queued before it)
    got = notify.collect(1500ms);
    EXPECT_GE(got.size(), 10u);
    EXPECT_EQ(count(got, "STATUS=2 of 2 interfaces up, 2 dataplanes, a dataplane stalled"), got.size())
        << "status only: no WATCHDOG=1, so a wedged dataplane lets systemd restart ferryd";
  }
  // Running again: the pings resume.
  ASSERT_TRUE(eventually([&] { return !ferryd.show("dataplanes")[1]["stalled"].get<bool>(); }, 5s));
  got = notify.collect(1000ms);
  EXPECT_GE(count(got, "WATCHDOG=1\nSTATUS=2 of 2 interfaces up, 2 dataplanes"), 5u);

  // 5. SIGTERM: STOPPING=1.
  ferryd.process().signal(SIGTERM);
  got = notify.until("STOPPING=1", 5s);
  EXPECT_TRUE(ends(got, "STOPPING=1"));
  EXPECT_EQ(ferryd.terminate(), 0);
}

// Without NOTIFY_SOCKET nothing is sent and nothing changes (the other tests
// run that way); with it but no WATCHDOG_USEC, no WATCHDOG=1.
TEST(Notify, NoWatchdogPingsUnlessAskedFor) {
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify.sock");
  ASSERT_TRUE(notify.bound());
  UdpSocket sink("127.0.0.1:0");
  Ferryd ferryd(oneDataplaneRelay(sink), "", {"NOTIFY_SOCKET=" + dir.path() + "/notify.sock"});
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  auto got = notify.until("READY=1", 5s);
  ASSERT_TRUE(ends(got, "READY=1"));
  got = notify.collect(1500ms);
  for (const auto& m : got) EXPECT_EQ(m.text.find("WATCHDOG=1"), std::string::npos) << m.text;
  EXPECT_EQ(ferryd.terminate(), 0);
}

// A takeover hands the service to the new process: the old one names it
// with MAINPID= before it exits, and the new one says READY=1.
TEST(Notify, ATakeoverNamesTheNewMainProcess) {
  TempDir dir;
  NotifySocket notify(dir.path() + "/notify.sock");
  ASSERT_TRUE(notify.bound());
  UdpSocket sink("127.0.0.1:0");
  const std::vector<std::string> env = {"NOTIFY_SOCKET=" + dir.path() + "/notify.sock"};
  Ferryd ferryd(oneDataplaneRelay(sink), "", env);
  ASSERT_TRUE(ferryd.started()) << ferryd.process().err();
  ASSERT_TRUE(ends(notify.until("READY=1", 5s), "READY=1"));
  Process next = Process::start({binary("FERRYD"), "run", "--config", ferryd.configPath(), "--takeover"},
                                {.env = env});
  auto got = notify.until("MAINPID=", 15s);
  ASSERT_TRUE(ends(got, "MAINPID=")) << next.err();
  EXPECT_EQ(got.back().text, "MAINPID=" + std::to_string(next.pid()));
  const auto old_exit = ferryd.process().wait(15s);
  ASSERT_TRUE(old_exit.has_value());
  EXPECT_EQ(*old_exit, 0);
  bool ready = false;
  for (const auto& m : got) ready = ready || m.text.rfind("READY=1", 0) == 0;
  if (!ready) ready = ends(notify.until("READY=1", 5s), "READY=1");
  EXPECT_TRUE(ready) << "the new process says READY=1";
  next.signal(SIGTERM);
  EXPECT_EQ(next.wait(15s), std::optional<int>(0));
}

}  // namespace
}  // namespace ferry::test
