// The daemon's request servers: the control socket, a Unix stream socket
// (mode 0660) on which ferryctl sends one request line ("show stats") and
// reads one JSON document back; and the metrics endpoint, a TCP socket that
// answers HTTP GET requests. Non-blocking throughout, driven by the control
// thread's poll loop, so a slow or stuck client can never delay BFD timers.
#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "ferry/net/address.h"
#include "ferry/net/socket.h"
#include "ferry/result.h"

namespace ferry {

class CtlServer {
 public:
  // The reply to one request line (without the newline).
  using Handler = std::function<std::string(const std::string& request)>;
  using Clock = std::chrono::steady_clock;

  static constexpr size_t kMaxRequest = 4096;  // bytes, with the terminating newline(s)
  static constexpr size_t kMaxClients = 64;
  // For a complete request from accept, and then for the reply once it is
  // ready, renewed while the client reads it; a client past it is closed.
  static constexpr std::chrono::seconds kClientTimeout{5};

  ~CtlServer();

  // Creates the parent directory if needed, refuses a path that a live
  // daemon is listening on, replaces a stale socket file.
  Status listen(const std::string& path);
  // HTTP on TCP: a request ends with an empty line (CRLF CRLF, or LF LF);
  // the handler gets its first line ("GET /metrics HTTP/1.1") and returns
  // the whole response.
  Status listenTcp(const SockAddr& address);
  // Takeover: serves on a listening socket handed over by the old process
  // (Unix at `path`, or TCP with an empty path). The path stays the old
  // process's to remove until ownPath(true).
  void adopt(Fd listening, const std::string& path);
  // Whether the destructor removes the socket file. On after listen(); a
  // process that handed its socket over turns it off, one that adopted a
  // socket turns it on once the takeover is complete.
  void ownPath(bool own) noexcept { owns_path_ = own; }
  int listenFd() const noexcept { return listen_fd_.get(); }
  // Appends the descriptors to watch (listen socket, then clients).
  void addPollFds(std::vector<pollfd>& fds) const;
  // Handles whatever `fds` (the slice added by addPollFds) says is ready,
  // then closes clients past their deadline. Call it on every poll turn,
  // with a poll timeout of at most 1 s, so deadlines are kept to within it.
  //
  // What a client gets instead of the handler's reply (then it is closed):
  // a request over kMaxRequest bytes, "request too long"; a request line
  // with bytes outside printable ASCII, "request is not printable ASCII"
  // (as {"error": …} on the control socket, HTTP 431 or 400 on TCP). When
  // kMaxClients are connected, a new client closes the oldest one.
  void onPoll(const pollfd* fds, size_t count, const Handler& handler);
  // Closes the clients whose deadline is before `now`.
  void expire(Clock::time_point now);
  size_t clientCount() const { return clients_.size(); }
  const std::string& path() const { return path_; }

 private:
  struct Client {
    Fd fd;
    Clock::time_point deadline;
    std::string in;
    std::string out;
    size_t written = 0;
    bool replying = false;
  };
  void accept(Clock::time_point now);
  // False when the client is done (closed, replied, or misbehaved).
  bool service(Client& client, short revents, const Handler& handler);
  // Where the request in `in` ends (just past its terminator), or npos.
  size_t requestEnd(const std::string& in) const;
  // The reply for a request refused before the handler: ctl JSON or HTTP.
  std::string refusal(const char* http_status, const std::string& why) const;

  std::string path_;
  bool http_ = false;  // the TCP metrics endpoint, else the control socket
  bool owns_path_ = false;
  Fd listen_fd_;
  std::vector<Client> clients_;  // in the order they were accepted
};

// Client side (ferryctl, tests): sends `request`, returns the whole reply.
// Throws std::runtime_error naming the socket and the cause.
std::string ctlRequest(const std::string& path, const std::string& request, int timeout_ms = 5000);

}  // namespace ferry
