// The daemon's request servers: the control socket, a Unix stream socket
// (mode 0660) on which ferryctl sends one request line ("show stats") and
// reads one JSON document back; and the metrics endpoint, a TCP socket that
// answers HTTP GET requests. Non-blocking throughout, driven by the control
// thread's poll loop, so a slow or stuck client can never delay BFD timers.
#pragma once

#include <poll.h>

#include <functional>
#include <string>
#include <vector>

#include "ferry/address.h"
#include "ferry/socket.h"

namespace ferry {

class CtlServer {
 public:
  // The reply to one request line (without the newline).
  using Handler = std::function<std::string(const std::string& request)>;

  static constexpr size_t kMaxRequest = 4096;
  static constexpr size_t kMaxClients = 64;

  ~CtlServer();

  // Creates the parent directory if needed, refuses a path that a live
  // daemon is listening on, replaces a stale socket file. "" or an error.
  std::string listen(const std::string& path);
  // HTTP on TCP: a request ends with an empty line; the handler gets its
  // first line ("GET /metrics HTTP/1.1") and returns the whole response.
  std::string listenTcp(const SockAddr& address);
  // Appends the descriptors to watch (listen socket, then clients).
  void addPollFds(std::vector<pollfd>& fds) const;
  // Handles whatever `fds` (the slice added by addPollFds) says is ready.
  void onPoll(const pollfd* fds, size_t count, const Handler& handler);
  const std::string& path() const { return path_; }

 private:
  struct Client {
    Fd fd;
    std::string in;
    std::string out;
    size_t written = 0;
    bool replying = false;
  };
  void accept();
  // False when the client is done (closed, replied, or misbehaved).
  bool service(Client& client, short revents, const Handler& handler);

  std::string path_;
  std::string terminator_ = "\n";  // where a request ends
  Fd listen_fd_;
  std::vector<Client> clients_;
};

// Client side (ferryctl, tests): sends `request`, returns the whole reply.
// Throws std::runtime_error naming the socket and the cause.
std::string ctlRequest(const std::string& path, const std::string& request, int timeout_ms = 5000);

}  // namespace ferry
