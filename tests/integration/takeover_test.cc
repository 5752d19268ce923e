// Takeover: `ferryd run --takeover` and `kill -USR2` replace a running relay
// under 50 kpps without losing a datagram or flapping a BFD session (in-band
// and RFC 5881) on the peer; refusals leave the running daemon untouched.
//
//   ferry-gen send ─► R.in ─► R.x ══ BFD in-band ══ P.x ─► P.out ─► ferry-gen sink
//                             R.y ══ BFD RFC 5881 ═ P.y
//
// R is replaced twice; P is the peer whose BFD sessions must not notice.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

using json = nlohmann::json;

// Loopback addresses of their own, so the RFC 5881 port 3784 of each end is
// free whatever else runs on 127.0.0.1.
const std::string kR = "127.0.13.1";
const std::string kP = "127.0.13.2";

std::string ep(const std::string& host, uint16_t port) {
  return "\"" + host + ":" + std::to_string(port) + "\"";
}

struct Topology {
  uint16_t r_in = freeUdpPort(kR), r_x = freeUdpPort(kR), r_y = freeUdpPort(kR),
           r_z = freeUdpPort(kR);
  uint16_t p_x = freeUdpPort(kP), p_y = freeUdpPort(kP), p_out = freeUdpPort(kP),
           p_z = freeUdpPort(kP);
  uint16_t sink = freeUdpPort("127.0.0.1");

  // `interval_ms` of R's in-band session; `extra_rule`: R also relays z → x.
  std::string relay(int interval_ms = 100, bool extra_rule = false) const {
    return "dataplanes: 2\n"
           "interfaces:\n"
           "  - { name: in, bind: " +
           ep(kR, r_in) +
           " }\n"
           "  - { name: x, bind: " +
           ep(kR, r_x) + ", peer: " + ep(kP, p_x) +
           ", bfd: { interval_ms: " + std::to_string(interval_ms) +
           ", detect_mult: 3 } }\n"
           "  - { name: y, bind: " +
           ep(kR, r_y) + ", peer: " + ep(kP, p_y) +
           ", bfd: { interval_ms: 100, detect_mult: 3, mode: rfc5881 } }\n" +
           (extra_rule ? "  - { name: z, bind: " + ep(kR, r_z) + " }\n" : "") +
           "relay:\n  - { from: in, to: x }\n" + (extra_rule ? "  - { from: z, to: x }\n" : "");
  }
  std::string peer() const {
    return "dataplanes: 1\n"
           "interfaces:\n"
           "  - { name: x, bind: " +
           ep(kP, p_x) + ", peer: " + ep(kR, r_x) +
           ", bfd: { interval_ms: 100, detect_mult: 3 } }\n"
           "  - { name: y, bind: " +
           ep(kP, p_y) + ", peer: " + ep(kR, r_y) +
           ", bfd: { interval_ms: 100, detect_mult: 3, mode: rfc5881 } }\n"
           "  - { name: out, bind: " +
           ep(kP, p_out) + ", peer: \"127.0.0.1:" + std::to_string(sink) +
           "\" }\n"
           "relay: [ { from: x, to: out } ]\n";
  }
};

json showAt(const std::string& socket, const std::string& what) {
  std::string out;
  EXPECT_EQ(sh(binary("FERRYCTL") + " --socket " + socket + " show " + what + " --json 2>/dev/null",
               &out),
            0)
      << out;
  auto doc = json::parse(out, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << out;
  return doc;
}

Process takeoverProcess(const Ferryd& f) {
  return Process::start({binary("FERRYD"), "run", "--config", f.configPath(), "--takeover"});
}

// Waits for a process that is not our child (reparented to us as subreaper).
std::optional<int> waitAdopted(pid_t pid, std::chrono::milliseconds timeout) {
  std::optional<int> result;
  eventually(
      [&] {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) != pid) return false;
        result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return true;
      },
      timeout);
  return result;
}

// The peer's view of the sessions: (interface → transitions), all up.
std::map<std::string, uint64_t> transitions(const Ferryd& f) {
  std::map<std::string, uint64_t> t;
  const json bfd = f.show("bfd");  // kept: the loop below borrows from it
  for (const auto& s : bfd["sessions"])
    t[s["interface"].get<std::string>()] = s["transitions"].get<uint64_t>();
  EXPECT_EQ(t.size(), 2u) << bfd.dump(2);
  return t;
}

std::map<std::string, uint64_t> discriminators(const json& bfd) {
  std::map<std::string, uint64_t> d;
  for (const auto& s : bfd["sessions"])
    d[s["interface"].get<std::string>()] = s["local_discriminator"].get<uint64_t>();
  return d;
}

// A process reparented to us (PR_SET_CHILD_SUBREAPER): killed and reaped at
// scope exit unless waited for, so a failing test leaves nothing running.
struct Adopted {
  pid_t pid = -1;
  ~Adopted() {
    if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, nullptr, 0);
  }
};

// Whether `needle` shows up in `p`'s stderr within 10 s, even after `p`
// exited (a process it started may still be writing there).
bool logged(const Process& p, const std::string& needle) {
  return eventually([&] { return p.err().find(needle) != std::string::npos; }, 10s);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

uint32_t rate() {
  const char* r = getenv("FERRY_TAKEOVER_RATE");  // slower machines and sanitizer builds
  return r != nullptr ? uint32_t(std::stoul(r)) : 50000;
}

// ferry-gen's sink at the topology's sink port, until every flow ended.
Process startSinkFor(const Topology& t) {
  return Process::start({binary("FERRY_GEN"), "sink", "--json", "--listen",
                         "127.0.0.1:" + std::to_string(t.sink), "--expect-from-gen", "--duration", "60"});
}

// rate() datagrams a second into R for `seconds`.
Process startSender(const Topology& t, int seconds) {
  return Process::start({binary("FERRY_GEN"), "send", "--json", "--to", kR + ":" + std::to_string(t.r_in),
                         "--rate", std::to_string(rate()), "--duration", std::to_string(seconds)});
}

TEST(Takeover, TakeoverThenUsr2UnderTrafficLoseNothingAndNoBfdFlaps) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const Topology t;
  Ferryd p(t.peer());
  ASSERT_TRUE(p.started()) << p.process().err();
  Ferryd r(t.relay());
  ASSERT_TRUE(r.started()) << r.process().err();
  ASSERT_TRUE(eventually([&] { return allUp(r, 2) && allUp(p, 2); }, 5s))
      << r.show("bfd").dump(2) << p.show("bfd").dump(2);
  const auto peer_before = transitions(p);
  const auto discs = discriminators(r.show("bfd"));

  Process sink = startSinkFor(t);
  ASSERT_TRUE(sink.waitForOutput("listening on", 10s)) << sink.err();
  Process sender = startSender(t, 8);

  // After 2 s: a --takeover process replaces R.
  std::this_thread::sleep_for(2s);
  Process second = takeoverProcess(r);
  ASSERT_TRUE(second.waitForOutput("dataplanes started", 30s)) << second.err();
  EXPECT_NE(second.err().find("took over from pid " + std::to_string(r.process().pid())),
            std::string::npos)
      << second.err();
  EXPECT_EQ(r.process().wait(15s), 0) << r.process().err();
  EXPECT_NE(r.process().err().find("taken over by a new ferryd"), std::string::npos)
      << r.process().err();
  // The old process left the socket files to the new one.
  EXPECT_TRUE(exists(r.socketPath()));
  EXPECT_TRUE(exists(r.socketPath() + ".takeover"));

  // Then USR2 replaces that one with the binary at its path.
  std::this_thread::sleep_for(2s);
  second.signal(SIGUSR2);
  ASSERT_TRUE(second.waitForOutput("--takeover as pid ", 10s)) << second.err();
  std::smatch m;
  const std::string err = second.err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("--takeover as pid ([0-9]+)")));
  const pid_t third = pid_t(std::stol(m[1]));
  Adopted third_guard{third};
  EXPECT_EQ(second.wait(15s), 0) << second.err();
  // The re-executed ferryd logs to the same stderr, once the old one was
  // told to go (so maybe after it exited).
  EXPECT_TRUE(logged(second, "took over from pid " + std::to_string(second.pid()))) << second.err();

  const auto sent_status = sender.wait(30s);
  ASSERT_EQ(sent_status, 0) << sender.err();
  ASSERT_EQ(sink.wait(30s), 0) << sink.err();
  const json sent = lastJson(sender), got = lastJson(sink);
  EXPECT_GT(sent["packets"].get<uint64_t>(), uint64_t(rate()) * 7);
  EXPECT_EQ(got["packets"], sent["packets"]) << got.dump();
  EXPECT_EQ(got["lost"], 0) << got.dump();
  std::cout << "sent " << sent["packets"] << ", received " << got["packets"] << ", lost "
            << got["lost"] << "\n";

  // The peer saw nothing: no transition on either session, still up, and
  // the final process is the one answering, with the same discriminators.
  const json final_bfd = showAt(r.socketPath(), "bfd");
  EXPECT_EQ(transitions(p), peer_before) << p.show("bfd").dump(2);
  EXPECT_TRUE(allUp(p, 2)) << p.show("bfd").dump(2);
  EXPECT_EQ(discriminators(final_bfd), discs) << final_bfd.dump(2);
  for (const auto& s : final_bfd["sessions"]) EXPECT_EQ(s["state"], "up") << s.dump();
  const json stats = showAt(r.socketPath(), "stats");
  EXPECT_TRUE(stats.contains("interfaces")) << stats.dump();

  ASSERT_EQ(kill(third, SIGTERM), 0);
  EXPECT_EQ(waitAdopted(third, 15s), 0);
  third_guard.pid = -1;
  EXPECT_FALSE(exists(r.socketPath())) << "the last process removes its socket files";
  EXPECT_FALSE(exists(r.socketPath() + ".takeover"));
  EXPECT_EQ(p.terminate(), 0);
  if (HasFailure())
    std::cout << "--- first ferryd\n"
              << r.process().err() << "--- second and third\n"
              << second.err() << "--- peer\n"
              << p.process().err();
}

// A config change at takeover is a restart with that config: the rewritten
// file has a new interface z with a relay rule z → x and a slower in-band
// BFD interval on x. USR2 re-executes with it: no datagram lost, the new
// rule forwards, x's session moves to 200 ms by a Poll Sequence, and the
// peer records no transition.
TEST(Takeover, ConfigChangeAtUsr2AddsARuleAndPollsTheNewInterval) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const Topology t;
  Ferryd p(t.peer());
  ASSERT_TRUE(p.started()) << p.process().err();
  Ferryd r(t.relay());
  ASSERT_TRUE(r.started()) << r.process().err();
  ASSERT_TRUE(eventually([&] { return allUp(r, 2) && allUp(p, 2); }, 5s));
  const auto peer_before = transitions(p);
  const auto discs = discriminators(r.show("bfd"));

  Process sink = startSinkFor(t);
  ASSERT_TRUE(sink.waitForOutput("listening on", 10s)) << sink.err();
  Process sender = startSender(t, 6);
  std::this_thread::sleep_for(2s);
  std::ofstream(r.configPath()) << "control_socket: " << r.socketPath() << "\n"
                                << t.relay(200, true);
  r.process().signal(SIGUSR2);
  ASSERT_TRUE(r.process().waitForOutput("--takeover as pid ", 10s)) << r.process().err();
  std::smatch m;
  const std::string err = r.process().err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("--takeover as pid ([0-9]+)")));
  const pid_t next = pid_t(std::stol(m[1]));
  Adopted next_guard{next};
  EXPECT_EQ(r.process().wait(15s), 0) << r.process().err();
  ASSERT_TRUE(logged(r.process(), "took over from pid " + std::to_string(r.process().pid())))
      << r.process().err();

  // The new rule: 100 datagrams into z leave through x, beside the flow.
  UdpSocket source(kR + ":0");
  const auto z = *SockAddr::parse(kR + ":" + std::to_string(t.r_z));
  std::vector<uint8_t> payload;
  for (uint32_t seq = 0; seq < 100; ++seq) {
    fillPayload(seq, payload);
    ASSERT_TRUE(source.sendTo(z, payload.data(), payload.size()));
  }

  ASSERT_EQ(sender.wait(30s), 0) << sender.err();
  ASSERT_EQ(sink.wait(30s), 0) << sink.err();
  const json sent = lastJson(sender), got = lastJson(sink);
  EXPECT_GT(sent["packets"].get<uint64_t>(), uint64_t(rate()) * 5);
  EXPECT_EQ(got["packets"], sent["packets"]) << got.dump();
  EXPECT_EQ(got["lost"], 0) << got.dump() << "\nold ferryd:\n" << r.process().out() << r.process().err()
                            << "\nnew ferryd:\n" << showAt(r.socketPath(), "stats").dump();
  EXPECT_EQ(got["invalid"], 100) << "the datagrams relayed by the new rule reach the sink too: "
                                 << got.dump();

  const json interfaces = showAt(r.socketPath(), "interfaces");
  ASSERT_EQ(interfaces.size(), 4u) << interfaces.dump(2);
  EXPECT_EQ(interfaces[3]["name"], "z");
  EXPECT_EQ(interfaces[3]["relay_to"], "x");
  EXPECT_EQ(interfaces[3]["rx_packets"], 100) << interfaces.dump(2);

  // x now asks for 200 ms: negotiated by a Poll, the same session, no flap.
  ASSERT_TRUE(eventually(
      [&] {
        const json b = showAt(r.socketPath(), "bfd");
        return b["sessions"][0]["desired_min_tx_us"] == 200000 &&
               b["sessions"][0]["poll_active"] == false &&
               b["sessions"][0]["tx_interval_us"] == 200000;
      },
      3s))
      << showAt(r.socketPath(), "bfd").dump(2);
  const json after = showAt(r.socketPath(), "bfd");
  EXPECT_EQ(discriminators(after), discs);
  EXPECT_GE(after["sessions"][0]["polls_completed"].get<uint64_t>(), 1u);
  EXPECT_EQ(after["sessions"][1]["desired_min_tx_us"], 100000) << "y's settings did not change";
  EXPECT_EQ(p.show("bfd")["sessions"][0]["detection_time_us"], 600000)
      << "3 x max(P's 100 ms RequiredMinRx, R's new 200 ms DesiredMinTx)";
  EXPECT_EQ(transitions(p), peer_before) << p.show("bfd").dump(2);
  EXPECT_TRUE(allUp(p, 2));

  ASSERT_EQ(kill(next, SIGTERM), 0);
  EXPECT_EQ(waitAdopted(next, 15s), 0);
  next_guard.pid = -1;
  EXPECT_EQ(p.terminate(), 0);
}

// A successor that speaks the handover protocol by hand (takeover_state.h):
// header = magic "FRYT", u16 version, u16 kind, then an empty string.
class FakeSuccessor {
 public:
  explicit FakeSuccessor(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~FakeSuccessor() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool send(uint16_t version, uint16_t kind) const {
    const uint8_t m[] = {'F',
                         'R',
                         'Y',
                         'T',
                         uint8_t(version),
                         uint8_t(version >> 8),
                         uint8_t(kind),
                         uint8_t(kind >> 8),
                         0,
                         0,
                         0,
                         0};
    return ::send(fd_, m, sizeof(m), MSG_NOSIGNAL) == ssize_t(sizeof(m));
  }
  // One message as text (descriptors that came with it are closed); "" when
  // none came within 5 s.
  std::string receive(size_t* fds = nullptr) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return "";
    std::vector<char> buf(1 << 20);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 256)];
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return "";
    for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
      const size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        ::close(received);
      }
      if (fds) *fds += count;
    }
    return std::string(buf.data(), size_t(n));
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

TEST(Takeover, RefusedWithoutARunningDaemon) {
  TempDir dir;
  const std::string config =
      dir.write("ferry.yaml", "control_socket: " + dir.path() +
                                  "/ferry.sock\n"
                                  "dataplanes: 1\ninterfaces:\n  - { name: a, bind: " +
                                  ep("127.0.0.1", freeUdpPort()) + " }\nrelay: []\n");
  Process p = Process::start({binary("FERRYD"), "run", "--config", config, "--takeover"});
  EXPECT_EQ(p.wait(10s), 1);
  EXPECT_NE(p.err().find("takeover refused: no ferryd is running with control socket " +
                         dir.path() + "/ferry.sock"),
            std::string::npos)
      << p.err();
}

// The relay still forwards and its sessions never left Up.
void expectUntouched(const Topology& t, Ferryd& r, const Ferryd& p,
                     const std::map<std::string, uint64_t>& before) {
  EXPECT_TRUE(r.process().running());
  UdpSocket source(kR + ":0"), sink("127.0.0.1:" + std::to_string(t.sink));
  const auto to = *SockAddr::parse(kR + ":" + std::to_string(t.r_in));
  std::vector<UdpSocket*> sources{&source};
  EXPECT_EQ(pacedTransfer(sources, to, sink, 200, 64, 500).received, 200u);
  EXPECT_EQ(transitions(p), before);
  EXPECT_TRUE(allUp(r, 2));
}

TEST(Takeover, RefusalsLeaveTheRunningDaemonUntouched) {
  const Topology t;
  Ferryd p(t.peer());
  ASSERT_TRUE(p.started()) << p.process().err();
  Ferryd r(t.relay());
  ASSERT_TRUE(r.started()) << r.process().err();
  ASSERT_TRUE(eventually([&] { return allUp(r, 2) && allUp(p, 2); }, 5s));
  const auto before = transitions(p);

  // A different dataplane count than the sockets handed over.
  std::string yaml = t.relay();
  yaml.replace(yaml.find("dataplanes: 2"), 13, "dataplanes: 3");
  TempDir dir;
  const std::string three =
      dir.write("three.yaml", "control_socket: " + r.socketPath() + "\n" + yaml);
  Process bad = Process::start({binary("FERRYD"), "run", "--config", three, "--takeover"});
  EXPECT_EQ(bad.wait(20s), 1);
  EXPECT_NE(bad.err().find(
                "takeover refused: this config starts 3 dataplanes, but the running ferryd (pid " +
                std::to_string(r.process().pid()) + ") hands over 2 sockets per interface"),
            std::string::npos)
      << bad.err();
  // The running ferryd logs the abandoned takeover once it has read the Abort.
  EXPECT_TRUE(
      r.process().waitForOutput("takeover abandoned: takeover refused: this config starts 3", 5s))
      << r.process().err();
  expectUntouched(t, r, p, before);

  // A successor that speaks another format version: refused by name.
  {
    FakeSuccessor other(r.socketPath() + ".takeover");
    ASSERT_TRUE(other.connected());
    ASSERT_TRUE(other.send(2, 1));  // Hello, version 2
    const std::string reply = other.receive();
    EXPECT_NE(reply.find("the running ferryd refused: takeover format version 2; this ferryd "
                         "reads version 1"),
              std::string::npos)
        << reply;
  }
  expectUntouched(t, r, p, before);

  // A successor that vanishes after the BFD sessions were frozen for it
  // (a crash mid-takeover): the running ferryd thaws them and carries on.
  {
    FakeSuccessor gone(r.socketPath() + ".takeover");
    ASSERT_TRUE(gone.connected());
    ASSERT_TRUE(gone.send(1, 1));  // Hello
    size_t fds = 0;
    std::string manifest = gone.receive(&fds);
    ASSERT_FALSE(manifest.empty());
    // 2 dataplanes x 3 interfaces, the RFC 5881 receive and transmit
    // sockets, the control and handover listeners.
    while (fds < 2 * 3 + 2 + 2) ASSERT_FALSE(gone.receive(&fds).empty()) << fds;
    ASSERT_TRUE(gone.send(1, 4));          // Ready
    ASSERT_FALSE(gone.receive().empty());  // the BFD state
  }
  ASSERT_TRUE(r.process().waitForOutput("the other ferryd closed the connection; carrying on", 5s))
      << r.process().err();
  std::this_thread::sleep_for(1s);  // > 3 detection times
  expectUntouched(t, r, p, before);

  // The handover socket absent (a ferryd that cannot hand over).
  const std::string handover = r.socketPath() + ".takeover";
  ASSERT_EQ(::unlink(handover.c_str()), 0);
  Process absent = takeoverProcess(r);
  EXPECT_EQ(absent.wait(10s), 1);
  EXPECT_NE(absent.err().find("takeover refused: handover socket " + handover + " is absent"),
            std::string::npos)
      << absent.err();
  expectUntouched(t, r, p, before);
  EXPECT_EQ(r.terminate(), 0);
  EXPECT_EQ(p.terminate(), 0);
}

}  // namespace
}  // namespace ferry::test
