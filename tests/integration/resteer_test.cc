// Re-steering, end to end: 16 ferry-gen flows cross 2 dataplanes at 20 kpps;
// the test stops the dataplane thread with the larger share for 3 s (ptrace,
// as the stall test does) and checks that ferryd moves that share to the
// other dataplane within 1 s, so that every datagram sent more than 1 s after
// the stall began is delivered (and delivered before the thread runs again,
// so through the other dataplane), that what waited on the stopped
// dataplane's sockets is received by the other one (rescue) before the
// thread runs again, that the total loss stays within 1 s of the stalled
// share, and that the share moves back once the thread runs.
// Once with `steering: kernel` (relay mode) and once with `inner-flow`
// (route mode, IP-in-UDP). The sink is this test: it records every
// datagram's flow, sequence number, send and receive time.
#include <sched.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "ferry/gen/clock.h"
#include "ferry/gen/wire.h"
#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

constexpr uint32_t kStallRate = 20000, kStallFlows = 16;
constexpr int64_t kSecond = 1'000'000'000;

struct Arrival {
  uint16_t flow;
  uint32_t seq;
  uint64_t sent_ns48;
  uint64_t received_ns;
};

// Nanoseconds from `reference` to a 48-bit send timestamp (negative: before).
int64_t since(uint64_t sent_ns48, uint64_t reference) {
  const uint64_t d = (sent_ns48 - reference) & gen::kTimestampMask;
  return d >= (uint64_t{1} << 47) ? int64_t(d) - int64_t(uint64_t{1} << 48) : int64_t(d);
}

// The sink: one socket read on its own thread until stop().
class Recorder {
 public:
  explicit Recorder(bool decap) : socket_("127.0.0.1:0", 32 << 20), decap_(decap) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Recorder() { stop(); }
  const UdpSocket& socket() const { return socket_; }
  uint64_t lastArrivalNs() const { return last_.load(); }
  // Joins the thread; arrivals() is complete after it.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<Arrival>& arrivals() const { return arrivals_; }

 private:
  void loop() {
    std::vector<uint8_t> buf(4096);
    while (!stop_) {
      const ssize_t n = socket_.recv(buf.data(), buf.size(), 50);
      if (n <= 0) continue;
      const uint64_t now = gen::monotonicNs();
      last_ = now;
      std::span<const uint8_t> payload(buf.data(), size_t(n));
      if (decap_ && gen::decap(std::span<const uint8_t>(buf.data(), size_t(n)), payload) !=
                        gen::DecapStatus::kOk)
        continue;
      const auto h = gen::decodeHeader(payload);
      if (h && h->kind == gen::Kind::kData) arrivals_.push_back({h->flow, h->seq, h->sent_ns, now});
    }
  }
  UdpSocket socket_;
  bool decap_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> last_{0};
  std::vector<Arrival> arrivals_;
  std::thread thread_;
};

void sleepUntil(uint64_t ns) {
  while (gen::monotonicNs() < ns) std::this_thread::sleep_for(5ms);
}

// `small_queue`: socket buffers of 256 KiB, so that the stopped dataplane's
// queue overflows before its share moves (the loss is then that overflow).
void stallOneDataplane(const std::string& steering, bool small_queue = false) {
  const bool route = steering == "inner-flow";
  Recorder sink(route);
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f("dataplanes: 2\nsteering: " + steering + (route ? "\nmode: route" : "") +
           (small_queue ? "\ntuning: { socket_buffer: 262144 }" : "") +
           "\ninterfaces:\n"
           "  - { name: in, bind: \"127.0.0.1:" +
           std::to_string(in) +
           "\" }\n"
           "  - { name: out, bind: \"127.0.0.1:" +
           std::to_string(out) + "\", peer: \"" + sink.socket().local().toString() + "\" }\n" +
           (route ? "routes: [ { prefix: \"0.0.0.0/0\", via: [out] } ]\n"
                  : "relay: [ { from: in, to: out } ]\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  std::vector<std::string> argv = {
      binary("FERRY_GEN"), "send", "--to", "127.0.0.1:" + std::to_string(in), "--rate",
      std::to_string(kStallRate), "--flows", std::to_string(kStallFlows),
      // Stopped with SIGTERM once the share is back
      // (it still ends its flows and reports).
      "--duration", "30", "--json", "--quiet"};
  if (route) argv.insert(argv.end(), {"--encap", "ipv4", "--inner-dst", "10.2.0.0/16"});
  Process sender = Process::start(argv);

  // Steady state, then each dataplane's share over one second.
  ASSERT_TRUE(eventually(
      [&] {
        const auto rx = perDataplaneRx(f);
        return rx[0] + rx[1] >= kStallRate / 4;
      },
      5s))
      << sender.err() << f.process().err();
  const auto r0 = perDataplaneRx(f);
  const uint64_t w0 = gen::monotonicNs();
  std::this_thread::sleep_for(1s);
  const auto r1 = perDataplaneRx(f);
  const double window_s = double(gen::monotonicNs() - w0) / 1e9;
  const unsigned victim = r1[0] - r0[0] >= r1[1] - r0[1] ? 0 : 1, other = 1 - victim;
  const double victim_pps = double(r1[victim] - r0[victim]) / window_s;
  const double total_pps = double(r1[0] - r0[0] + r1[1] - r0[1]) / window_s;
  // Seen at ferryd: a shortfall is the sender's unless ferryd's sockets
  // overflowed (rx_queue_overflow in the dump), which tells the two apart.
  ASSERT_GE(total_pps, kStallRate * 0.8)
      << "the sender did not keep its rate over " << window_s << " s: " << r1[0] - r0[0] << " + "
      << r1[1] - r0[1] << " received; dataplanes: " << f.show("dataplanes").dump();
  ASSERT_GE(victim_pps, total_pps * 0.45);  // the larger share by choice

  const pid_t tid = threadNamed(f.process().pid(), "ferry-dp" + std::to_string(victim));
  ASSERT_GT(tid, 0);
  uint64_t t_stop = 0, t_stopped = 0, t_moved = 0, t_release = 0;
  {
    t_stop = gen::monotonicNs();  // the stall begins no earlier than this
    ThreadStop stop(tid);
    ASSERT_TRUE(stop.stopped()) << "ptrace could not stop the dataplane thread";
    t_stopped = gen::monotonicNs();  // and it is stopped by this time
    nlohmann::json dps;
    ASSERT_TRUE(eventually(
        [&] {
          dps = f.show("dataplanes");
          return dps[victim]["steered_away"].get<bool>();
        },
        3s))
        << dps.dump(2);
    t_moved = gen::monotonicNs();
    EXPECT_TRUE(dps[victim]["stalled"].get<bool>()) << dps.dump(2);
    EXPECT_EQ(dps[victim]["resteers"], 1);
    EXPECT_FALSE(dps[other]["stalled"].get<bool>()) << dps.dump(2);
    EXPECT_FALSE(dps[other]["steered_away"].get<bool>()) << dps.dump(2);
    std::string table;
    ASSERT_EQ(sh(binary("FERRYCTL") + " --socket " + f.socketPath() + " show dataplanes", &table),
              0);
    EXPECT_NE(table.find("STALLED, steered away"), std::string::npos) << table;
    // The other dataplane carries everything meanwhile.
    const auto m0 = perDataplaneRx(f);
    sleepUntil(t_stop + 3 * kSecond);
    const auto m1 = perDataplaneRx(f);
    EXPECT_EQ(m1[victim], m0[victim]) << "a stopped dataplane received";
    t_release = gen::monotonicNs();
  }
  // Running again: the share moves back.
  nlohmann::json dps;
  ASSERT_TRUE(eventually(
      [&] {
        dps = f.show("dataplanes");
        return !dps[victim]["steered_away"].get<bool>();
      },
      2s))
      << dps.dump(2);
  const uint64_t t_back = gen::monotonicNs();
  EXPECT_FALSE(dps[victim]["stalled"].get<bool>());
  std::this_thread::sleep_for(200ms);  // past the backlog it forwards first
  const auto b0 = perDataplaneRx(f);
  const uint64_t bw0 = gen::monotonicNs();
  std::this_thread::sleep_for(1s);
  const auto b1 = perDataplaneRx(f);
  const double back_pps =
      double(b1[victim] - b0[victim]) / (double(gen::monotonicNs() - bw0) / 1e9);
  EXPECT_GE(back_pps, victim_pps * 0.5) << "its share did not come back";
  const auto after = f.show("dataplanes");
  EXPECT_EQ(after[victim]["resteers"], 1);
  EXPECT_EQ(after[victim]["stalls"], 1);
  EXPECT_EQ(after[other]["resteers"], 0);
  EXPECT_EQ(after[other]["stalls"], 0);
  const uint64_t overflow = after[victim]["rx_queue_overflow"];
  const uint64_t rescued = after[other]["rx_rescued"];
  EXPECT_EQ(after[victim]["rx_rescued"], 0);
  const uint64_t overflow_all = overflow + after[other]["rx_queue_overflow"].get<uint64_t>();

  sender.signal(SIGTERM);
  ASSERT_EQ(sender.wait(20s), 0) << sender.err();
  const auto sent = nlohmann::json::parse(sender.out(), nullptr, false);
  ASSERT_FALSE(sent.is_discarded()) << sender.out();
  ASSERT_TRUE(
      eventually([&] { return gen::monotonicNs() - sink.lastArrivalNs() > 500'000'000; }, 5s));
  sink.stop();

  // Per flow: what arrived, when it was sent and when it arrived.
  std::map<uint16_t, uint64_t> sent_per_flow;
  for (const auto& fl : sent["flows"]) sent_per_flow[fl["flow"].get<uint16_t>()] = fl["packets"];
  ASSERT_EQ(sent_per_flow.size(), size_t(kStallFlows));
  std::map<uint16_t, std::vector<const Arrival*>> by_flow;
  for (const auto& a : sink.arrivals()) by_flow[a.flow].push_back(&a);
  uint64_t received = 0, duplicates = 0, lost = 0, late_loss = 0, slow = 0, queued = 0, stuck = 0;
  int64_t first_late_loss_ms = 0;
  const int64_t moved_after = int64_t(t_moved - t_stop),
                released_after = int64_t(t_release - t_stop),
                stopped_after = int64_t(t_stopped - t_stop);
  for (const auto& [flow, count] : sent_per_flow) {
    std::vector<const Arrival*> seen(count, nullptr);
    for (const Arrival* a : by_flow[flow]) {
      ASSERT_LT(a->seq, count) << "flow " << flow;
      if (seen[a->seq] != nullptr)
        ++duplicates;
      else
        seen[a->seq] = a;
    }
    // A lost datagram was sent before the next one of its flow that
    // arrived: it was sent no later than that one's send time.
    int64_t next_sent = INT64_MAX;  // none arrived after it
    for (uint64_t s = count; s-- > 0;) {
      if (seen[s] == nullptr) {
        ++lost;
        if (next_sent > kSecond) {
          ++late_loss;
          first_late_loss_ms = next_sent == INT64_MAX ? -1 : next_sent / 1'000'000;
        }
        continue;
      }
      ++received;
      const Arrival& a = *seen[s];
      next_sent = since(a.sent_ns48, t_stop);
      const int64_t arrived = int64_t(a.received_ns - t_stop);
      // Sent more than 1 s after the stall began and 50 ms before it ended:
      // it must have arrived while the thread was stopped.
      if (next_sent > kSecond && next_sent < released_after - 50'000'000 &&
          arrived >= released_after)
        ++slow;
      // Forwarded only when the stopped dataplane ran again: what its ring
      // had already received when the thread stopped (its last completions,
      // not handled yet) — but nothing that waited on its sockets, which the
      // rescue takes. A datagram sent 20 ms after the thread was stopped
      // (the sender stamps a batch before sending it) was queued on the
      // socket after the ring's last receive.
      if (next_sent >= 0 && next_sent < moved_after && arrived >= released_after) {
        ++queued;
        if (next_sent > stopped_after + 20'000'000) ++stuck;
      }
    }
  }
  const uint64_t bound = uint64_t(victim_pps);  // 1 s of the stalled share
  std::cout << "resteer (" << steering << (small_queue ? ", 256 KiB socket buffers" : "")
            << "): dataplane " << victim << " stopped for " << released_after / 1'000'000
            << " ms with " << uint64_t(victim_pps) << " of " << uint64_t(total_pps)
            << " pps; its share moved after " << moved_after / 1'000'000
            << " ms (seen by polling ferryctl), back " << (t_back - t_release) / 1'000'000
            << " ms after it ran again; sent " << sent["packets"] << ", received " << received
            << ", lost " << lost << " (bound " << bound << "), socket overflow " << overflow
            << ", rescued from its queue " << rescued << ", forwarded only after it ran again "
            << queued << " (in its ring when it stopped), share after its return "
            << uint64_t(back_pps) << " pps\n";
  EXPECT_LE(moved_after, kSecond) << "the share moved too late";
  EXPECT_EQ(late_loss, 0u)
      << "datagrams sent more than 1 s after the stall began were lost (one arrived after "
      << first_late_loss_ms << " ms)";
  EXPECT_EQ(slow, 0u)
      << "datagrams sent more than 1 s after the stall began waited for the stopped dataplane";
  EXPECT_LE(lost, bound);
  // What waited on its sockets was received by the other dataplane while it
  // was stopped.
  EXPECT_GT(rescued, 0u) << "nothing was rescued";
  EXPECT_EQ(stuck, 0u) << "datagrams waited on its sockets for the stopped dataplane to run again";
  // Every loss is a datagram the kernel dropped at a full socket queue.
  EXPECT_EQ(lost, overflow_all);
  if (small_queue) {
    EXPECT_GT(lost, 0u) << "the stopped dataplane's queue did not overflow";
  }
  EXPECT_EQ(received + lost, sent["packets"].get<uint64_t>());
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(sent["send_errors"], 0);

  EXPECT_EQ(f.terminate(), 0);
  const std::string log = f.process().err();
  const std::string who = "dataplane " + std::to_string(victim) + " (CPU ";
  const std::string moved = ": its share of new datagrams moved to dataplane(s) " +
                            std::to_string(other) + " (no loop turn seen for ";
  const size_t at = log.find(moved);
  ASSERT_NE(at, std::string::npos) << log;
  std::cout << "ferryd's own figure: moved when it had seen no loop turn for "
            << std::stoul(log.substr(at + moved.size())) << " ms\n";
  EXPECT_NE(log.find(": its share of new datagrams moved back to it"), std::string::npos) << log;
  EXPECT_NE(log.find(who), std::string::npos) << log;
}

TEST(Resteer, KernelSteeringMovesAStalledDataplanesShareAndBack) { stallOneDataplane("kernel"); }

TEST(Resteer, InnerFlowSteeringMovesAStalledDataplanesShareAndBack) {
  stallOneDataplane("inner-flow");
}

TEST(Resteer, WhatOverflowsTheStalledQueueBeforeTheMoveIsTheLoss) {
  stallOneDataplane("kernel", true);
}

// cpu steering: the datagrams the stalled dataplane's CPU receives go to
// the other dataplane while it is stopped, and to it again afterwards. On
// loopback the sending CPU also receives (softirq), so the test pins itself
// to the stalled dataplane's CPU and sends from there.
TEST(Resteer, CpuSteeringMovesWhatTheStalledDataplanesCpuReceives) {
  if (allowedCpuCount() < 2) GTEST_SKIP() << "needs 2 CPUs";
  UdpSocket sink("127.0.0.1:0");
  const uint16_t in = freeUdpPort(), out = freeUdpPort();
  Ferryd f(relayPairYaml(2, in, out, sink.local(), "steering: cpu\n"));
  ASSERT_TRUE(f.started()) << f.process().err();
  const int cpu = f.show("dataplanes")[1]["cpu"].get<int>();
  cpu_set_t set, all;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  ASSERT_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
  struct Restore {
    cpu_set_t* all;
    ~Restore() { sched_setaffinity(0, sizeof(*all), all); }
  } restore{&all};

  std::vector<std::unique_ptr<UdpSocket>> sources;
  for (int i = 0; i < 16; ++i) sources.push_back(std::make_unique<UdpSocket>("127.0.0.1:0"));
  const auto to = *SockAddr::parse("127.0.0.1:" + std::to_string(in));
  constexpr uint32_t kBurst = 64;
  std::vector<int> seen(4 * kBurst, 0);
  uint32_t next = 0;
  std::vector<uint8_t> payload;
  auto burst = [&] {
    for (uint32_t i = 0; i < kBurst; ++i, ++next) {
      fillPayload(next, payload);
      ASSERT_TRUE(sources[i % sources.size()]->sendTo(to, payload.data(), payload.size()));
    }
  };
  // Receives until `count` distinct datagrams have arrived in all, or none
  // came for `timeout_ms`; returns how many have.
  auto drain = [&](uint32_t count, int timeout_ms) {
    uint8_t buf[4096];
    uint32_t got = 0;
    for (int s : seen) got += s != 0;
    while (got < count) {
      const ssize_t n = sink.recv(buf, sizeof(buf), timeout_ms);
      if (n < 0) return got;
      const int64_t seq = checkPayload(buf, size_t(n));
      if (seq < 0 || seq >= int64_t(seen.size())) continue;
      got += seen[size_t(seq)]++ == 0;
    }
    return got;
  };
  auto rx = [&](unsigned d) { return f.show("dataplanes")[d]["rx_packets"].get<uint64_t>(); };

  burst();  // all on the pinned CPU's dataplane
  EXPECT_EQ(drain(kBurst, 1000), kBurst);
  EXPECT_EQ(rx(1), kBurst);
  EXPECT_EQ(rx(0), 0u);
  const pid_t tid = threadNamed(f.process().pid(), "ferry-dp1");
  ASSERT_GT(tid, 0);
  {
    ThreadStop stop(tid);
    ASSERT_TRUE(stop.stopped());
    burst();  // waits on the stopped dataplane's socket
    ASSERT_TRUE(eventually([&] { return f.show("dataplanes")[1]["steered_away"].get<bool>(); }, 3s))
        << f.show("dataplanes").dump(2);
    burst();  // sent from the same CPU: now through dataplane 0, at once
    // Dataplane 0 also receives on dataplane 1's socket (rescue): what
    // waited there arrives too while dataplane 1 is still stopped.
    EXPECT_EQ(drain(3 * kBurst, 1000), 3 * kBurst);
    EXPECT_EQ(rx(0), 2 * kBurst);
    EXPECT_EQ(rx(1), kBurst);
    EXPECT_EQ(f.show("dataplanes")[0]["rx_rescued"], kBurst);
  }
  ASSERT_TRUE(eventually([&] { return !f.show("dataplanes")[1]["steered_away"].get<bool>(); }, 2s));
  burst();  // its CPU's traffic is its own again
  EXPECT_EQ(drain(4 * kBurst, 1000), 4 * kBurst);
  EXPECT_EQ(rx(1), 2 * kBurst);
  EXPECT_EQ(rx(0), 2 * kBurst);
  EXPECT_EQ(f.show("dataplanes")[0]["rx_rescued"], kBurst);
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], 1) << "datagram " << i;
  const auto dps = f.show("dataplanes");
  EXPECT_EQ(dps[1]["resteers"], 1);
  EXPECT_EQ(dps[0]["resteers"], 0);
  EXPECT_EQ(f.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
