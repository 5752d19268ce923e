// The daemon's request servers against misbehaving clients, over plain
// sockets: the control socket (one request line, one JSON reply) and the
// metrics endpoint (HTTP). Whatever a client sends or fails to send, the next
// client gets its answer; and ferryctl's own command line.
#include <poll.h>
#include <sys/un.h>

#include <cstring>

#include "ferryd_fixture.h"

namespace ferry::test {
namespace {

// A connected stream socket (Unix path or TCP 127.0.0.1:port), closed at the end.
class Stream {
 public:
  explicit Stream(const std::string& unix_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, unix_path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  explicit Stream(uint16_t tcp_port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(tcp_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Stream() { ::close(fd_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& data) const {
    return ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == ssize_t(data.size());
  }
  // Everything until the server closes; nullopt when it has not closed
  // within `timeout` (what came so far is then lost).
  std::optional<std::string> readToClose(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string got;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) {
        got.append(buf, size_t(n));
        continue;
      }
      if (n == 0) return got;
      if (errno == ECONNRESET) return got + "<reset>";
      if (errno != EINTR) return std::nullopt;
    }
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string yaml(uint16_t metrics_port) {
  return "dataplanes: 1\n"
         "metrics: { listen: \"127.0.0.1:" +
         std::to_string(metrics_port) +
         "\" }\n"
         "interfaces:\n"
         "  - { name: in, bind: \"127.0.0.1:" +
         std::to_string(freeUdpPort()) +
         "\" }\n"
         "  - { name: x, bind: \"127.0.0.1:" +
         std::to_string(freeUdpPort()) + "\", peer: \"127.0.0.1:" + std::to_string(freeUdpPort()) +
         "\", bfd: { interval_ms: 100 } }\n"
         "relay: [ { from: in, to: x } ]\n";
}

class ControlSocket : public ::testing::Test {
 protected:
  const uint16_t metrics_port_ = freeUdpPort();  // free for UDP; TCP very likely too
  Ferryd ferryd_{yaml(metrics_port_)};
};

TEST_F(ControlSocket, ClientsThatNeverFinishARequestLockNobodyOut) {
  ASSERT_TRUE(ferryd_.started()) << ferryd_.process().err();
  // As many as the servers keep at a time, each with half a request.
  std::vector<std::unique_ptr<Stream>> stuck;
  for (int i = 0; i < 64; ++i) {
    stuck.push_back(std::make_unique<Stream>(ferryd_.socketPath()));
    ASSERT_TRUE(stuck.back()->connected() && stuck.back()->send("show"));
    stuck.push_back(std::make_unique<Stream>(metrics_port_));
    ASSERT_TRUE(stuck.back()->connected() && stuck.back()->send("GET /metrics HTTP/1.1\r\n"));
  }
  const auto start = std::chrono::steady_clock::now();
  int status = -1;
  const std::string out = ctl(ferryd_, "show stats --json", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\"interfaces\""), std::string::npos) << out;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 6s);

  Stream metrics(metrics_port_);
  ASSERT_TRUE(metrics.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto reply = metrics.readToClose(6s);
  ASSERT_TRUE(reply) << "no HTTP reply";
  EXPECT_EQ(reply->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *reply;

  // And a stuck client is closed after its 5 s, not kept for ever.
  const Stream late(ferryd_.socketPath());
  ASSERT_TRUE(late.send("show"));
  const auto waited = std::chrono::steady_clock::now();
  EXPECT_EQ(late.readToClose(8s), std::optional<std::string>(""));
  EXPECT_GE(std::chrono::steady_clock::now() - waited, 4s);
}

TEST_F(ControlSocket, OversizedRequestsGetAnErrorBeforeTheClose) {
  ASSERT_TRUE(ferryd_.started()) << ferryd_.process().err();
  const Stream ctl_client(ferryd_.socketPath());
  ASSERT_TRUE(ctl_client.send("show " + std::string(5000, 'x')));
  EXPECT_EQ(ctl_client.readToClose(3s),
            std::optional<std::string>("{\"error\":\"request too long (max 4096 bytes)\"}\n"));

  const Stream http(metrics_port_);
  ASSERT_TRUE(http.send("GET /metrics HTTP/1.1\r\nX-Padding: " + std::string(5000, 'x')));
  const auto reply = http.readToClose(3s);
  ASSERT_TRUE(reply) << "no HTTP reply";
  EXPECT_EQ(reply->rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0), 0u) << *reply;
  EXPECT_NE(reply->find("\r\n\r\nrequest too long (max 4096 bytes)\n"), std::string::npos)
      << *reply;

  // At the limit (4096 bytes with the newline) is still a request.
  const Stream at_limit(ferryd_.socketPath());
  ASSERT_TRUE(at_limit.send("show stats" + std::string(4096 - 11, ' ') + "\n"));
  const auto stats = at_limit.readToClose(3s);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->find("request too long"), std::string::npos) << *stats;
}

TEST_F(ControlSocket, HttpHeadersMayEndWithBareLineFeeds) {
  ASSERT_TRUE(ferryd_.started()) << ferryd_.process().err();
  const Stream http(metrics_port_);
  ASSERT_TRUE(http.send("GET /metrics HTTP/1.0\n\n"));  // and the socket stays open
  const auto reply = http.readToClose(3s);
  ASSERT_TRUE(reply) << "no reply while the client keeps the connection open";
  EXPECT_EQ(reply->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *reply;
  EXPECT_NE(reply->find("ferry_"), std::string::npos) << *reply;
}

TEST_F(ControlSocket, RequestsOutsidePrintableAsciiAreRefused) {
  ASSERT_TRUE(ferryd_.started()) << ferryd_.process().err();
  const Stream ctl_client(ferryd_.socketPath());
  ASSERT_TRUE(ctl_client.send("show \xff\n"));
  EXPECT_EQ(ctl_client.readToClose(3s),
            std::optional<std::string>("{\"error\":\"request is not printable ASCII\"}\n"));

  const Stream http(metrics_port_);
  ASSERT_TRUE(http.send("GET /metrics\xff HTTP/1.1\r\n\r\n"));
  const auto reply = http.readToClose(3s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << *reply;

  int status = -1;
  EXPECT_NE(ctl(ferryd_, "show stats", &status).find("in"), std::string::npos);
  EXPECT_EQ(status, 0);
}

// A negative VALUE is a value for the daemon to judge, not an option.
TEST_F(ControlSocket, FerryctlPassesNegativeValuesToTheDaemon) {
  ASSERT_TRUE(ferryd_.started()) << ferryd_.process().err();
  const std::string range_error =
      "ferryctl: interval_ms: expected a whole number 1..4294967, got '-5'\n";
  for (const std::string args :
       {"set bfd x interval_ms -5 2>&1", "-- set bfd x interval_ms -5 2>&1",
        "set bfd x interval_ms -- -5 2>&1"}) {
    int status = -1;
    EXPECT_EQ(ctl(ferryd_, args, &status), range_error) << args;
    EXPECT_EQ(status, 1) << args;
  }
  int status = -1;
  EXPECT_EQ(ctl(ferryd_, "--bogus show stats 2>&1", &status)
                .rfind("ferryctl: unknown option '--bogus'", 0),
            0u);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(ctl(ferryd_, "set bfd x interval_ms 200 2>&1", &status), "ok\n");
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace ferry::test
