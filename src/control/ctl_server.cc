#include "ferry/control/ctl_server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ferry {
namespace {

// Requests are commands and HTTP request lines: ASCII words. Anything else
// would only end up in a JSON reply, which must be UTF-8.
bool isPrintableAscii(const std::string& text) {
  for (const char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

// Input a refused client is still sending is read and dropped, up to this
// much per turn, so that closing does not reset the connection before the
// client has read the reply.
constexpr size_t kMaxDiscard = 64 * 1024;

}  // namespace

CtlServer::~CtlServer() {
  if (listen_fd_ && !path_.empty() && owns_path_) ::unlink(path_.c_str());
}

void CtlServer::adopt(Fd listening, const std::string& path) {
  listen_fd_ = std::move(listening);
  path_ = path;
  http_ = path.empty();
  owns_path_ = false;
}

Status CtlServer::listen(const std::string& path) {
  sockaddr_un addr;
  if (!unixAddress(path, addr))
    return Status::failure("control socket path '" + path + "' is too long");
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::filesystem::create_directories(parent, ec);
    if (ec)
      return Status::failure("control socket: cannot create " + parent.string() + ": " +
                             ec.message());
  }
  if (std::filesystem::exists(std::filesystem::symlink_status(path))) {
    // A live daemon answers a connect; a stale file from a crash does not.
    Fd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
      return Status::failure("control socket " + path + " is in use by a running ferryd");
    if (::unlink(path.c_str()) != 0)
      return Status::failure("control socket: cannot remove stale " + path + ": " +
                             std::strerror(errno));
  }
  auto listening = listenUnix(path, SOCK_STREAM, 16, "control socket");
  if (!listening) return Status::failure(listening.error());
  listen_fd_ = std::move(listening).take();
  path_ = path;
  owns_path_ = true;
  return {};
}

Status CtlServer::listenTcp(const SockAddr& address) {
  Fd fd(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Status::failure(std::string("metrics: socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd.get(), address.sa(), address.len()) != 0)
    return Status::failure("metrics: bind " + address.toString() + ": " + std::strerror(errno));
  if (::listen(fd.get(), 16) != 0)
    return Status::failure(std::string("metrics: listen: ") + std::strerror(errno));
  listen_fd_ = std::move(fd);
  http_ = true;
  return {};
}

void CtlServer::addPollFds(std::vector<pollfd>& fds) const {
  fds.push_back({listen_fd_.get(), POLLIN, 0});
  for (const auto& c : clients_) fds.push_back({c.fd.get(), short(c.replying ? POLLOUT : POLLIN), 0});
}

void CtlServer::onPoll(const pollfd* fds, size_t count, const Handler& handler) {
  if (count == 0) return;
  // Clients first: `fds` matches clients_ as it was when addPollFds ran.
  std::vector<Client> keep;
  for (size_t i = 0; i < clients_.size(); ++i) {
    const short revents = i + 1 < count ? fds[i + 1].revents : 0;
    if (revents == 0 || service(clients_[i], revents, handler)) keep.push_back(std::move(clients_[i]));
  }
  clients_ = std::move(keep);
  const Clock::time_point now = Clock::now();
  expire(now);
  if (fds[0].revents & POLLIN) accept(now);
}

void CtlServer::expire(Clock::time_point now) {
  std::erase_if(clients_, [now](const Client& c) { return c.deadline < now; });
}

void CtlServer::accept(Clock::time_point now) {
  while (true) {
    Fd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    // Full: the oldest goes, so that clients which never finish a request
    // cannot lock out the next one (each is gone after kClientTimeout anyway).
    if (clients_.size() >= kMaxClients) clients_.erase(clients_.begin());
    clients_.push_back(Client{std::move(fd), now + kClientTimeout, {}, {}, 0, false});
  }
}

size_t CtlServer::requestEnd(const std::string& in) const {
  if (!http_) {
    const size_t lf = in.find('\n');
    return lf == std::string::npos ? lf : lf + 1;
  }
  // The end of the headers: an empty line, CRLF or (as some clients send) bare LF.
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  if (crlf == std::string::npos && lf == std::string::npos) return std::string::npos;
  if (lf == std::string::npos || (crlf != std::string::npos && crlf < lf)) return crlf + 4;
  return lf + 2;
}

std::string CtlServer::refusal(const char* http_status, const std::string& why) const {
  if (!http_) return "{\"error\":\"" + why + "\"}\n";
  const std::string body = why + "\n";
  return std::string("HTTP/1.1 ") + http_status +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

bool CtlServer::service(Client& client, short revents, const Handler& handler) {
  if (revents & (POLLERR | POLLNVAL)) return false;
  if (!client.replying) {
    char buf[1024];
    size_t end = requestEnd(client.in);
    bool too_long = false;
    size_t discarded = 0;
    while (end == std::string::npos || too_long) {
      const ssize_t n = ::read(client.fd.get(), buf, sizeof(buf));
      if (n > 0) {
        if (too_long) {
          discarded += size_t(n);
          if (discarded > kMaxDiscard) break;
          continue;
        }
        client.in.append(buf, size_t(n));
        end = requestEnd(client.in);
        // kMaxRequest counts the terminator too; what follows it is not read.
        too_long = (end == std::string::npos ? client.in.size() : end) > kMaxRequest;
        continue;
      }
      if (n == 0 && !too_long && end == std::string::npos) {
        if (client.in.empty()) return false;
        end = client.in.size();  // a request cut short by EOF: answer what came
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
      break;
    }
    if (too_long) {
      client.out = refusal("431 Request Header Fields Too Large",
                           "request too long (max " + std::to_string(kMaxRequest) + " bytes)");
    } else {
      if (end == std::string::npos) return true;  // wait for the rest
      std::string request = client.in.substr(0, std::min(end, client.in.find('\n')));
      if (!request.empty() && request.back() == '\r') request.pop_back();
      if (!isPrintableAscii(request)) {
        client.out = refusal("400 Bad Request", "request is not printable ASCII");
      } else {
        client.out = handler(request);
        if (!http_ && (client.out.empty() || client.out.back() != '\n')) client.out += '\n';
      }
    }
    client.replying = true;
    // The handler may have taken long (a reload of a large table): the
    // reply gets its own time, renewed whenever the client reads some.
    client.deadline = Clock::now() + kClientTimeout;
  }
  while (client.written < client.out.size()) {
    const ssize_t n = ::send(client.fd.get(), client.out.data() + client.written,
                             client.out.size() - client.written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      client.written += size_t(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      client.deadline = Clock::now() + kClientTimeout;  // it is reading: more time
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
  return false;  // replied in full: close
}

std::string ctlRequest(const std::string& path, const std::string& request, int timeout_ms) {
  sockaddr_un addr;
  if (!unixAddress(path, addr)) throw std::runtime_error("control socket path '" + path + "' is too long");
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    std::string hint = err == ENOENT ? " (is ferryd running with this control_socket?)" : "";
    throw std::runtime_error("cannot connect to " + path + ": " + std::strerror(err) + hint);
  }
  const std::string line = request + "\n";
  if (::send(fd.get(), line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size()))
    throw std::runtime_error("cannot send to " + path + ": " + std::strerror(errno));
  std::string reply;
  char buf[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n > 0) {
      reply.append(buf, size_t(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    throw std::runtime_error("reading from " + path + ": " +
                             (errno == EAGAIN ? std::string("timed out") : std::strerror(errno)));
  }
  return reply;
}

}  // namespace ferry
