// ferry-gen end to end: the real binary over loopback, through an in-test
// relay that drops, swaps or duplicates, through a namespace pair with an nft
// random-drop rule, and the library's Sender and Sink in one process.
// Every run is bounded in packets and seconds; the relay, processes and
// namespaces are removed by their destructors, also when an assertion fails.
#include "ferry/gen.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ferryd_fixture.h"
#include "harness.h"

namespace ferry::test {
namespace {

using nlohmann::json;

std::string gen() { return binary("FERRY_GEN"); }

std::string addr(uint16_t port, const std::string& host = "127.0.0.1") {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

// The last line of a process's stdout as JSON.
// A sink process, started and ready (its socket bound).
Process startSink(const std::vector<std::string>& args, const Process::Options& options = {}) {
  std::vector<std::string> argv{gen(), "sink", "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p = Process::start(argv, options);
  EXPECT_TRUE(p.waitForOutput("listening on", 10s)) << p.err();
  return p;
}

// Runs a sender to completion and returns its JSON report.
json send(const std::vector<std::string>& args, const Process::Options& options = {}) {
  std::vector<std::string> argv{gen(), "send", "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p = Process::start(argv, options);
  const auto status = p.wait(60s);
  EXPECT_EQ(status, 0) << p.err();
  if (status != 0) return json::object();
  return lastJson(p);
}

json finish(Process& sink) {
  const auto status = sink.wait(30s);
  EXPECT_EQ(status, 0) << sink.err();
  if (status != 0) return json::object();
  return lastJson(sink);
}

// A UDP relay in the test process: forwards what arrives on its port to
// `target`, dropping, swapping or duplicating data packets (end markers pass
// unchanged), one datagram at a time and in order.
class Relay {
 public:
  enum class Mode { kDropEveryTenth, kSwapNeighbours, kDuplicateEveryTenth };

  Relay(Mode mode, uint16_t target_port) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int buf = 32 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)), 0);
    socklen_t len = sizeof(local);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &len);
    port_ = ntohs(local.sin_port);
    target_.sin_family = AF_INET;
    target_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    target_.sin_port = htons(target_port);
    thread_ = std::thread([this] { loop(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  uint64_t dataSeen() const { return data_seen_; }  // read after the sender ended

 private:
  void forward(const std::vector<uint8_t>& d) {
    ::sendto(fd_, d.data(), d.size(), 0, reinterpret_cast<const sockaddr*>(&target_),
             sizeof(target_));
  }
  void loop() {
    std::vector<uint8_t> buf(65536);
    std::vector<uint8_t> held;
    while (!stop_) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) {
        if (!held.empty()) forward(held), held.clear();  // quiet: let a lone held packet go
        continue;
      }
      const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      std::vector<uint8_t> d(buf.begin(), buf.begin() + n);
      const auto header = gen::decodeHeader(d);
      if (!header || header->kind != gen::Kind::kData) {
        forward(d);
        continue;
      }
      const uint64_t index = data_seen_++;
      switch (mode_) {
        case Mode::kDropEveryTenth:
          if (index % 10 != 9) forward(d);
          break;
        case Mode::kDuplicateEveryTenth:
          forward(d);
          if (index % 10 == 9) forward(d);
          break;
        case Mode::kSwapNeighbours:
          if (held.empty()) {
            held = std::move(d);
          } else {
            forward(d);
            forward(held);
            held.clear();
          }
          break;
      }
    }
  }

  Mode mode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  sockaddr_in target_{};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> data_seen_{0};
  std::thread thread_;
};

// Done-when 1.
TEST(GenLoopback, HundredThousandPacketsSixteenFlowsAllArrive) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  const json s =
      send({"--to", addr(port), "--count", "100000", "--flows", "16", "--rate", "50000"});
  const json r = finish(sink);
  EXPECT_EQ(s["packets"], 100000);
  EXPECT_EQ(r["packets"], 100000);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["reordered"], 0);
  EXPECT_EQ(r["duplicates"], 0);
  EXPECT_EQ(r["invalid"], 0);
  EXPECT_EQ(r["socket_drops"], 0);
  EXPECT_EQ(r["bytes"], 100000 * 64);
  EXPECT_EQ(r["complete"], true);
  EXPECT_EQ(r["stop_reason"], "end");
  ASSERT_EQ(r["flows"].size(), 16u);
  uint64_t sum = 0;
  for (const auto& f : r["flows"]) {
    sum += f["packets"].get<uint64_t>();
    EXPECT_EQ(f["packets"], s["flows"][f["flow"].get<size_t>()]["packets"]) << f;
  }
  EXPECT_EQ(sum, 100000u);
  for (const char* key : {"pps", "bps", "duration_s"}) EXPECT_GT(r[key].get<double>(), 0) << key;
  for (const char* key : {"p50", "p99", "p999", "max"})
    EXPECT_GT(r["latency_ns"][key].get<uint64_t>(), 0u) << key;
  EXPECT_LE(r["latency_ns"]["p50"], r["latency_ns"]["p99"]);
  EXPECT_LE(r["latency_ns"]["p999"], r["latency_ns"]["max"]);
}

// GSO on the sender, GRO on the sink: loopback hands the super-packets over
// whole, and the sink splits them by the segment size.
TEST(GenLoopback, GsoSuperPacketsSplitByGro) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  const json s = send({"--to", addr(port), "--count", "20000", "--flows", "2", "--size", "1400",
                       "--gso", "--rate", "100000"});
  const json r = finish(sink);
  EXPECT_EQ(s["packets"], 20000);
  EXPECT_EQ(s["gso"], true);
  EXPECT_EQ(r["packets"], 20000);
  EXPECT_EQ(r["bytes"], 20000 * 1400);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["duplicates"], 0);
  EXPECT_GT(r["gro_buffers"], 0) << "expected coalesced buffers on loopback";
}

// Done-when 4: a count check, not a wall-time one.
TEST(GenLoopback, RateFiftyThousandForTwoSecondsDeliversOneHundredThousand) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  const json s = send({"--to", addr(port), "--rate", "50000", "--duration", "2"});
  const json r = finish(sink);
  EXPECT_NEAR(s["packets"].get<double>(), 100000, 2000);
  EXPECT_NEAR(r["packets"].get<double>(), 100000, 2000);
  EXPECT_EQ(r["packets"], s["packets"]);
  EXPECT_EQ(r["lost"], 0);
}

// Done-when 5 (the sink side): encapsulated packets are counted with --decap,
// with every inner checksum right, over IPv4 and IPv6 underlays.
TEST(GenLoopback, EncapsulatedPacketsAcceptedWithDecap) {
  struct Case {
    std::string host, encap, size;
  };
  for (const Case& c : {Case{"127.0.0.1", "ipv4", "100"}, Case{"::1", "ipv6", "64"},
                        Case{"127.0.0.1", "ipv6", "1400"}}) {
    SCOPED_TRACE(c.host + " " + c.encap);
    const uint16_t port = freeUdpPort(c.host);
    Process sink = startSink(
        {"--listen", addr(port, c.host), "--decap", "--expect-from-gen", "--duration", "30"});
    const json s = send({"--to", addr(port, c.host), "--count", "5000", "--flows", "4", "--encap",
                         c.encap, "--size", c.size, "--rate", "100000"});
    const json r = finish(sink);
    EXPECT_EQ(s["encap"], c.encap);
    EXPECT_EQ(r["packets"], 5000);
    EXPECT_EQ(r["lost"], 0);
    EXPECT_EQ(r["bad_checksum"], 0);
    EXPECT_EQ(r["invalid"], 0);
  }
}

TEST(GenLoopback, EncapsulatedPacketsAreInvalidWithoutDecap) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--idle", "0.5", "--duration", "30"});
  send({"--to", addr(port), "--count", "1000", "--encap", "ipv4", "--size", "64", "--rate",
        "100000"});
  const json r = finish(sink);
  EXPECT_EQ(r["packets"], 0);
  EXPECT_GE(r["invalid"], 1000);
  EXPECT_EQ(r["stop_reason"], "idle");
}

// Done-when 2 (exact): every 10th data packet dropped -> loss is 10% exactly.
// The last data packet is one of the dropped ones: only the end marker tells.
TEST(GenRelay, DropEveryTenthIsExactlyTenPercentLoss) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  Relay relay(Relay::Mode::kDropEveryTenth, port);
  const json s =
      send({"--to", addr(relay.port()), "--count", "20000", "--flows", "4", "--rate", "50000"});
  const json r = finish(sink);
  EXPECT_EQ(s["packets"], 20000);
  EXPECT_EQ(relay.dataSeen(), 20000u);
  EXPECT_EQ(r["expected"], 20000);
  EXPECT_EQ(r["packets"], 18000);
  EXPECT_EQ(r["lost"], 2000);
  EXPECT_DOUBLE_EQ(r["loss_ratio"].get<double>(), 0.1);
  EXPECT_EQ(r["reordered"], 0);
  EXPECT_EQ(r["duplicates"], 0);
}

// Done-when 3: neighbours swapped on one flow -> every second packet is reordered.
TEST(GenRelay, SwappedNeighboursAreReorderedNotLost) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  Relay relay(Relay::Mode::kSwapNeighbours, port);
  const json s =
      send({"--to", addr(relay.port()), "--count", "10000", "--flows", "1", "--rate", "50000"});
  const json r = finish(sink);
  EXPECT_EQ(s["packets"], 10000);
  EXPECT_EQ(r["packets"], 10000);
  EXPECT_EQ(r["reordered"], 5000);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["duplicates"], 0);
}

TEST(GenRelay, DuplicatesCountedExactly) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--expect-from-gen", "--duration", "30"});
  Relay relay(Relay::Mode::kDuplicateEveryTenth, port);
  send({"--to", addr(relay.port()), "--count", "10000", "--flows", "3", "--rate", "50000"});
  const json r = finish(sink);
  EXPECT_EQ(r["packets"], 10000);
  EXPECT_EQ(r["duplicates"], 1000);
  EXPECT_EQ(r["lost"], 0);
  EXPECT_EQ(r["reordered"], 0);
}

// Done-when 2 (statistical): nft drops 10% at random on the sink's side of a
// veth pair between two namespaces the test creates.
TEST(GenNetns, NftRandomDropWithinOneAndAHalfPoints) {
  if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
  if (sh("command -v nft") != 0) GTEST_SKIP() << "needs nft";
  NetNs a("gensnd");
  NetNs b("genrcv");
  shOk("ip link add vgen0 netns " + a.name() + " type veth peer name vgen1 netns " + b.name());
  a.execOk("ip addr add 10.77.0.1/24 dev vgen0 && ip link set vgen0 up");
  b.execOk("ip addr add 10.77.0.2/24 dev vgen1 && ip link set vgen1 up");
  b.execOk(
      "nft add table inet gen && nft add chain inet gen in '{ type filter hook input priority 0; "
      "}' && "
      "nft add rule inet gen in udp dport 9000 numgen random mod 100 '<' 10 drop");
  Process sink = startSink(
      {"--listen", "10.77.0.2:9000", "--expect-from-gen", "--idle", "1", "--duration", "30"},
      {.netns = b.name()});
  const json s =
      send({"--to", "10.77.0.2:9000", "--count", "20000", "--flows", "4", "--rate", "50000"},
           {.netns = a.name()});
  const json r = finish(sink);
  EXPECT_EQ(s["packets"], 20000);
  const double loss = r["loss_ratio"].get<double>() * 100;
  EXPECT_NEAR(loss, 10.0, 1.5) << r.dump();
  EXPECT_EQ(r["duplicates"], 0);
  EXPECT_EQ(r["reordered"], 0);
}

// The library as `ferryd bench` will use it: Sender and Sink in one process.
TEST(GenLibrary, SenderAndSinkInOneProcess) {
  gen::SinkConfig sink_config;
  sink_config.listen = *SockAddr::parse("127.0.0.1:1");
  sink_config.listen.setPort(0);  // the kernel picks
  sink_config.until_end = true;
  sink_config.duration_s = 30;
  gen::Sink sink(sink_config);
  ASSERT_NE(sink.localAddress().port(), 0);
  sink.start();

  gen::SendConfig config;
  config.to = sink.localAddress();
  config.count = 20000;
  config.flows = 4;
  config.threads = 2;
  config.rate_pps = 50000;
  config.run = 4242;
  gen::Sender sender(config);
  sender.start();
  const gen::SendReport sent = sender.wait();
  const gen::SinkReport got = sink.wait();
  EXPECT_EQ(sent.packets, 20000u);
  EXPECT_EQ(got.packets, 20000u);
  EXPECT_EQ(got.lost, 0u);
  EXPECT_EQ(got.run, 4242);
  EXPECT_TRUE(got.complete);
  EXPECT_EQ(got.flows.size(), 4u);
  EXPECT_GT(sink.progress().packets, 0u);
}

// Loss at the sink's own socket is told apart from loss on the path: a sink
// that does not read while 2000 packets arrive into a tiny buffer.
TEST(GenLibrary, SocketDropsAccountForEveryPacketTheSinkMissed) {
  gen::SinkConfig sink_config;
  sink_config.listen = *SockAddr::parse("127.0.0.1:1");
  sink_config.listen.setPort(0);
  sink_config.rcvbuf = 1;  // the kernel's minimum: a few packets
  sink_config.idle_s = 0.2;
  sink_config.duration_s = 10;
  gen::Sink sink(sink_config);  // bound, not reading yet

  gen::SendConfig config;
  config.to = sink.localAddress();
  config.count = 2000;
  gen::Sender sender(config);
  sender.start();
  const gen::SendReport sent = sender.wait();
  sink.start();
  const gen::SinkReport got = sink.wait();
  EXPECT_EQ(sent.packets, 2000u);
  EXPECT_GT(got.socket_drops, 0u);
  // Every datagram sent (data and the 3 end markers) was read or dropped.
  EXPECT_EQ(got.packets + got.end_markers + got.socket_drops, 2000u + sent.end_markers);
}

TEST(GenLibrary, SetupErrorsThrowWithContext) {
  gen::SendConfig bad;
  bad.to = *SockAddr::parse("127.0.0.1:9");
  bad.count = 1;
  bad.flows = 2;
  bad.threads = 3;
  EXPECT_THROW(gen::Sender{bad}, std::invalid_argument);

  // Two sinks on one port: the second cannot bind.
  gen::SinkConfig c;
  c.listen = *SockAddr::parse("127.0.0.1:1");
  c.listen.setPort(0);
  gen::Sink first(c);
  c.listen = first.localAddress();
  try {
    gen::Sink second(c);
    FAIL() << "second bind succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bind " + c.listen.toString()), std::string::npos)
        << e.what();
  }
}

TEST(GenCommandLine, BadArgumentsExitTwoNamingTheArgument) {
  Process p = Process::start({gen(), "send", "--to", "127.0.0.1:9", "--rate", "abc"});
  EXPECT_EQ(p.wait(10s), 2);
  EXPECT_NE(p.err().find(
                "ferry-gen: --rate: expected a positive number of packets per second, got 'abc'"),
            std::string::npos)
      << p.err();
  Process q = Process::start({gen(), "sink"});
  EXPECT_EQ(q.wait(10s), 2);
  EXPECT_NE(q.err().find("--listen"), std::string::npos);
  Process help = Process::start({gen(), "--help"});
  EXPECT_EQ(help.wait(10s), 0);
  // The generated help lists both commands with their options.
  EXPECT_NE(help.out().find("Usage: ferry-gen"), std::string::npos) << help.out();
  EXPECT_NE(help.out().find("--to ADDR:PORT"), std::string::npos) << help.out();
  EXPECT_NE(help.out().find("--listen ADDR:PORT"), std::string::npos) << help.out();
  Process version = Process::start({gen(), "--version"});
  EXPECT_EQ(version.wait(10s), 0);
  EXPECT_EQ(version.out().rfind("ferry-gen ", 0), 0u) << version.out();
}

TEST(GenCommandLine, SinkEndsOnCountAndIdle) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--count", "500", "--duration", "30"});
  send({"--to", addr(port), "--count", "2000", "--rate", "20000"});
  json r = finish(sink);
  EXPECT_EQ(r["stop_reason"], "count");
  EXPECT_GE(r["packets"], 500);

  Process idle = startSink({"--listen", addr(port), "--idle", "0.2", "--duration", "30"});
  send({"--to", addr(port), "--count", "100", "--rate", "10000"});
  r = finish(idle);
  EXPECT_EQ(r["stop_reason"], "idle");
  EXPECT_EQ(r["packets"], 100);
}

TEST(GenCommandLine, SignalsEndTheRunWithAReport) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--duration", "30"});
  Process sender = Process::start(
      {gen(), "send", "--json", "--to", addr(port), "--duration", "30", "--rate", "10000"});
  ASSERT_TRUE(eventually([&] { return sink.err().find("listening") != std::string::npos; }, 5s));
  struct timespec ts {
    0, 300'000'000
  };
  nanosleep(&ts, nullptr);
  sender.signal(SIGINT);
  ASSERT_EQ(sender.wait(5s), 0) << sender.err();
  const json s = lastJson(sender);
  EXPECT_GT(s["packets"], 0);
  EXPECT_LT(s["duration_s"], 10);
  sink.signal(SIGTERM);
  const json r = finish(sink);
  EXPECT_EQ(r["stop_reason"], "stopped");
  EXPECT_EQ(r["packets"], s["packets"]);
}

// Progress lines appear only on a terminal: none into a pipe, one a second on
// a pseudo-terminal (script(1) provides one).
TEST(GenCommandLine, ProgressOnlyOnATerminal) {
  const uint16_t port = freeUdpPort();
  Process sink = startSink({"--listen", addr(port), "--duration", "30"});
  Process piped =
      Process::start({gen(), "send", "--to", addr(port), "--duration", "1.3", "--rate", "1000"});
  ASSERT_EQ(piped.wait(10s), 0);
  EXPECT_EQ(piped.out().find(" s] "), std::string::npos) << piped.out();
  EXPECT_NE(piped.out().find("packets"), std::string::npos);

  if (sh("command -v script") != 0) GTEST_SKIP() << "needs script(1) for a terminal";
  std::string out;
  ASSERT_EQ(sh("script -qec '" + gen() + " send --to " + addr(port) +
                   " --duration 1.3 --rate 1000' /dev/null",
               &out),
            0);
  EXPECT_NE(out.find("[   1.0 s]"), std::string::npos) << out;
  std::string quiet;
  ASSERT_EQ(sh("script -qec '" + gen() + " send -q --to " + addr(port) +
                   " --duration 1.3 --rate 1000' /dev/null",
               &quiet),
            0);
  EXPECT_EQ(quiet.find("[   1.0 s]"), std::string::npos) << quiet;
}

}  // namespace
}  // namespace ferry::test
