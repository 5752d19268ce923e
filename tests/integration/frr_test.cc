// Interop with a standard BFD speaker: FRR's bfdd (Debian package frr) in
// one network namespace, ferryd in RFC 5881 mode in another, joined by a
// veth pair. bfdd runs as the frr user with a private config and sockets in
// a temp dir; it never touches the system's FRR.
#include <filesystem>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

class FrrInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!canUseNetns()) GTEST_SKIP() << "needs root and ip netns";
    if (!std::filesystem::exists(kBfdd)) GTEST_SKIP() << kBfdd << " missing (Debian package frr)";
    a_ = std::make_unique<NetNs>("frra");
    b_ = std::make_unique<NetNs>("frrb");
    shOk("ip link add fva" + std::to_string(getpid()) + " netns " + a_->name() + " type veth peer name fvb" +
         std::to_string(getpid()) + " netns " + b_->name());
    a_->execOk("ip link set fva" + std::to_string(getpid()) + " name v0 && ip addr add 10.99.0.1/24 dev v0 && ip link set v0 up");
    b_->execOk("ip link set fvb" + std::to_string(getpid()) + " name v0 && ip addr add 10.99.0.2/24 dev v0 && ip link set v0 up");
    frr_dir_ = std::make_unique<TempDir>();
    frr_dir_->write("bfdd.conf",
                    "bfd\n"
                    " peer 10.99.0.1 local-address 10.99.0.2\n"
                    "  receive-interval 100\n"
                    "  transmit-interval 100\n"
                    "  detect-multiplier 3\n"
                    "  no shutdown\n"
                    " !\n"
                    "!\n");
    shOk("chown -R frr:frr " + frr_dir_->path());
    const std::string w = frr_dir_->path();
    bfdd_ = Process::start({kBfdd, "-f", w + "/bfdd.conf", "-i", w + "/bfdd.pid", "--vty_socket", w,
                            "--bfdctl", w + "/bfdd.sock", "-A", "127.0.0.1"},
                           {.netns = b_->name()});
    ferryd_ = std::make_unique<Ferryd>(
        "dataplanes: 2\n"
        "interfaces:\n"
        "  - { name: to_b, bind: \"10.99.0.1:50000\", peer: \"10.99.0.2:50000\",\n"
        "      bfd: { interval_ms: 100, detect_mult: 3, mode: rfc5881 } }\n"
        "relay: []\n",
        a_->name());
    ASSERT_TRUE(ferryd_->started()) << ferryd_->process().err();
  }

  void TearDown() override {
    ferryd_.reset();
    bfdd_ = Process();
    a_.reset();
    b_.reset();
  }

  nlohmann::json frr(const std::string& command) {
    std::string out;
    sh("vtysh --vty_socket " + frr_dir_->path() + " -d bfdd -c '" + command + "'", &out);
    auto doc = nlohmann::json::parse(out, nullptr, false);
    return doc.is_discarded() ? nlohmann::json() : doc;
  }
  void frrConfigure(const std::string& line) {
    shOk("vtysh --vty_socket " + frr_dir_->path() +
         " -d bfdd -c 'configure terminal' -c 'bfd' -c 'peer 10.99.0.1 local-address 10.99.0.2' -c '" +
         line + "'");
  }
  // The one peer, or an empty object while there is none (bfdd still
  // starting: vtysh cannot reach it yet), so value() answers the default
  // instead of throwing on null.
  nlohmann::json frrPeer() {
    const auto peers = frr("show bfd peers json");
    return peers.is_array() && peers.size() == 1 ? peers[0] : nlohmann::json::object();
  }
  nlohmann::json ferrySession() { return ferryd_->show("bfd")["sessions"][0]; }

  std::unique_ptr<NetNs> a_, b_;
  std::unique_ptr<TempDir> frr_dir_;
  Process bfdd_;
  std::unique_ptr<Ferryd> ferryd_;
};

TEST_F(FrrInterop, UpBothWaysIntervalChangesConvergeAndStopIsDetected) {
  // 1. Both sides report up (FRR starts at its slow 1 s rate while down).
  ASSERT_TRUE(eventually([&] {
    return frrPeer().value("status", "") == "up" && ferrySession()["state"] == "up";
  }, 10s)) << frr("show bfd peers json").dump(2) << ferryd_->show("bfd").dump(2);
  auto s = ferrySession();
  EXPECT_EQ(s["mode"], "rfc5881");
  EXPECT_EQ(s["remote_discriminator"], frrPeer()["id"]);
  EXPECT_EQ(s["local_discriminator"], frrPeer()["remote-id"]);
  EXPECT_EQ(s["tx_interval_us"], 100000);
  EXPECT_EQ(s["detection_time_us"], 300000);
  const uint64_t transitions = s["transitions"];

  // 2. FRR slows its transmit interval: its Poll reaches ferry, ferry answers
  // with a Final, and ferry's detection time follows; nobody flaps.
  frrConfigure("transmit-interval 300");
  ASSERT_TRUE(eventually([&] {
    const auto f = ferrySession();
    return f["remote_desired_min_tx_us"] == 300000 && f["detection_time_us"] == 900000;
  }, 5s)) << ferryd_->show("bfd").dump(2);

  // 3. ferry slows its own interval (ferryctl set bfd): its Poll/Final
  // sequence completes and FRR sees the new value.
  const uint64_t polls = ferrySession()["polls_completed"];
  std::string out;
  ASSERT_EQ(sh("ip netns exec " + a_->name() + " " + binary("FERRYCTL") + " --socket " +
                   ferryd_->socketPath() + " set bfd to_b interval_ms 200",
               &out), 0) << out;
  ASSERT_TRUE(eventually([&] {
    return frrPeer().value("remote-transmit-interval", 0) == 200 &&
           ferrySession()["polls_completed"].get<uint64_t>() > polls;
  }, 5s)) << frr("show bfd peers json").dump(2);
  std::this_thread::sleep_for(1s);
  s = ferrySession();
  EXPECT_EQ(s["state"], "up");
  EXPECT_EQ(s["transitions"].get<uint64_t>(), transitions) << "ferry flapped: " << s.dump();
  EXPECT_EQ(s["tx_interval_us"], 200000);
  const auto counters = frr("show bfd peers counters json");
  ASSERT_TRUE(counters.is_array() && counters.size() == 1) << counters.dump();
  EXPECT_EQ(counters[0]["session-down"], 0) << "FRR flapped";
  EXPECT_EQ(frrPeer()["status"], "up");

  // 4. Stop bfdd (SIGTERM sends no AdminDown): ferry's session goes down
  // within its detection time plus one interval.
  const uint64_t detection = s["detection_time_us"];
  const uint64_t interval = s["tx_interval_us"];
  const uint64_t t_stop = monotonicUs();
  bfdd_.signal(SIGTERM);
  ASSERT_TRUE(bfdd_.wait(10s));
  ASSERT_TRUE(eventually([&] { return ferrySession()["state"] == "down"; }, 5s));
  s = ferrySession();
  const uint64_t t_down = s["last_change_monotonic_us"];
  EXPECT_EQ(s["last_diagnostic"], "control_detection_time_expired");
  ASSERT_GT(t_down, t_stop);
  EXPECT_LE(t_down - t_stop, detection + interval) << "down after " << (t_down - t_stop) << " µs";
  EXPECT_EQ(ferryd_->terminate(), 0);
}

// RFC 5881 sockets drop off-link packets in the kernel (IP_MINTTL 255): a
// flood of BFD-looking packets sent with TTL 64 from the peer's namespace —
// what a sender hops away looks like — never reaches ferry (no bad_ttl
// discards counted), and the session with bfdd stays up through it.
TEST_F(FrrInterop, AFloodFromAfarNeverReachesTheBfdQueue) {
  ASSERT_TRUE(eventually([&] {
    return frrPeer().value("status", "") == "up" && ferrySession()["state"] == "up";
  }, 10s)) << frr("show bfd peers json").dump(2) << ferryd_->show("bfd").dump(2);
  const uint64_t transitions = ferrySession()["transitions"];
  // A well-formed Down packet (version 1, length 24) with discriminators 0:
  // were it read, GTSM in user space would count it under bad_ttl.
  std::string bytes = "\\x20\\x40\\x03\\x18";
  for (int i = 0; i < 20; ++i) bytes += "\\x00";
  std::string out;
  ASSERT_EQ(sh("ip netns exec " + b_->name() + " bash -c 'for i in $(seq 3000); do printf \"" + bytes +
                   "\" > /dev/udp/10.99.0.1/3784; done' 2>&1",
               &out),
            0)
      << out;
  std::this_thread::sleep_for(500ms);
  const auto bfd = ferryd_->show("bfd");
  EXPECT_EQ(bfd["unmatched"]["bad_ttl"], 0) << bfd["unmatched"].dump();
  EXPECT_EQ(bfd["sessions"][0]["state"], "up");
  EXPECT_EQ(bfd["sessions"][0]["transitions"].get<uint64_t>(), transitions);
  EXPECT_EQ(frrPeer()["status"], "up");
  EXPECT_EQ(ferryd_->terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
