#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "ferry/control/log.h"

namespace ferry::test {
namespace fs = std::filesystem;

namespace {

// Namespaces, children and temporary directories alive right now, for the
// signal-time cleanup.
std::mutex g_mutex;
std::vector<std::string> g_namespaces;
std::vector<pid_t> g_children;
std::vector<std::string> g_dirs;

void trackDir(const std::string& dir) {
  std::lock_guard lock(g_mutex);
  g_dirs.push_back(dir);
}

// Removes `dir` with everything in it and forgets it.
void removeDir(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::lock_guard lock(g_mutex);
  g_dirs.erase(std::remove(g_dirs.begin(), g_dirs.end(), dir), g_dirs.end());
}

extern "C" void onFatalSignal(int sig) {
  // Best effort from a signal handler: the test binary is being killed
  // (meson timeout, Ctrl-C, a closed terminal, or a reader of its output that
  // went away: `integration_test | head`). Not async-signal-safe in theory;
  // acceptable in a test process that is about to die anyway.
  for (pid_t pid : g_children) {
    kill(-pid, SIGKILL);  // each child leads its own process group
    kill(pid, SIGKILL);
  }
  for (const auto& ns : g_namespaces) process::deleteNetns(ns);
  for (const auto& dir : g_dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void installSignalCleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    // A handler, unlike SIG_IGN, is reset at exec: children keep the
    // default actions.
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) signal(sig, onFatalSignal);
  });
}

}  // namespace

TempDir::TempDir() {
  installSignalCleanup();
  char tmpl[] = "/tmp/ferry-test-XXXXXX";
  const char* made = mkdtemp(tmpl);
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = made;
  trackDir(path_);
  // Daemons that drop privileges (FRR's bfdd runs as frr) must reach files here.
  fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
}

TempDir::~TempDir() { removeDir(path_); }

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string full = path_ + "/" + name;
  std::ofstream out(full);
  out << content;
  return full;
}

Process Process::start(const std::vector<std::string>& argv, const Options& options) {
  installSignalCleanup();
  Process p;
  char tmpl[] = "/tmp/ferry-proc-XXXXXX";
  const char* made = mkdtemp(tmpl);
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  p.dir_ = made;
  trackDir(p.dir_);
  auto child = process::Child::spawn(argv, {.netns = options.netns,
                                            .stdout_path = p.dir_ + "/stdout",
                                            .stderr_path = p.dir_ + "/stderr",
                                            .env = options.env,
                                            .own_process_group = true});
  if (!child) throw std::runtime_error("start " + argv.at(0) + ": " + child.error());
  p.child_ = std::move(*child);
  std::lock_guard lock(g_mutex);
  g_children.push_back(p.child_.pid());
  return p;
}

Process::Process(Process&& other) noexcept
    : child_(std::move(other.child_)), dir_(std::exchange(other.dir_, {})) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    release();
    child_ = std::move(other.child_);
    dir_ = std::exchange(other.dir_, {});
  }
  return *this;
}

Process::~Process() { release(); }

void Process::release() {
  const pid_t pid = child_.pid();
  if (pid > 0) {
    child_.kill();
    std::lock_guard lock(g_mutex);
    g_children.erase(std::remove(g_children.begin(), g_children.end(), pid), g_children.end());
  }
  if (!dir_.empty()) {
    removeDir(dir_);
    dir_.clear();
  }
}

bool Process::waitForOutput(const std::string& needle, std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        return out().find(needle) != std::string::npos ||
               err().find(needle) != std::string::npos || !running();
      },
      timeout) &&
         (out().find(needle) != std::string::npos || err().find(needle) != std::string::npos);
}

// Longer than any test's meson timeout, so a command that hangs shows as
// its test's timeout.
constexpr std::chrono::milliseconds kCommandLimit = 10min;

std::string ep(uint16_t port) { return "\"127.0.0.1:" + std::to_string(port) + "\""; }

uint64_t monotonicUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000 + uint64_t(ts.tv_nsec) / 1000;
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

int sh(const std::string& command, std::string* output) {
  return process::runCommand({"/bin/sh", "-c", command}, output, "", kCommandLimit);
}

std::string shOk(const std::string& command) {
  std::string output;
  const int status = sh(command, &output);
  EXPECT_EQ(status, 0) << command << "\n" << output;
  return output;
}

NetNs::NetNs(const std::string& tag) {
  installSignalCleanup();
  static std::atomic<int> counter{0};
  // Short and unique per process: tag + pid + counter.
  const std::string name =
      "ft" + tag.substr(0, 6) + std::to_string(getpid()) + "x" + std::to_string(counter++);
  {
    std::lock_guard lock(g_mutex);
    g_namespaces.push_back(name);
  }
  auto made = process::Netns::create(name);
  if (!made) throw std::runtime_error(made.error());
  netns_ = std::move(*made);
  execOk("ip link set lo up");
}

NetNs::~NetNs() {
  const std::string name = netns_.name();
  netns_ = process::Netns();  // deletes it, before the signal-time cleanup forgets it
  std::lock_guard lock(g_mutex);
  g_namespaces.erase(std::remove(g_namespaces.begin(), g_namespaces.end(), name),
                     g_namespaces.end());
}

int NetNs::exec(const std::string& command, std::string* output) const {
  return process::runCommand({"/bin/sh", "-c", command}, output, name(), kCommandLimit);
}

std::string NetNs::execOk(const std::string& command) const {
  std::string output;
  const int status = exec(command, &output);
  EXPECT_EQ(status, 0) << "[" << name() << "] " << command << "\n" << output;
  return output;
}

int allowedCpuCount() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  return CPU_COUNT(&set);
}

void mark(const std::string& message) {
  std::fprintf(stderr, "%s test: %s\n", ferry::log::stamp().c_str(), message.c_str());
}

bool canUseNetns() {
  static const bool works = process::netnsUsable("ftprobe" + std::to_string(getpid()));
  return works;
}

namespace {

// Binds a UDP socket to host:port (0: the kernel picks); the bound port, or
// 0 when it could not bind.
uint16_t bindUdp(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_storage ss{};
  socklen_t len;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
    len = sizeof(*a);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &a->sin_addr);
    len = sizeof(*a);
  }
  uint16_t bound = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    bound = v6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
               : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  close(fd);
  return bound;
}

}  // namespace

// A port the kernel hands out for port 0 could be taken by any socket of a
// test running beside this one between our probe and the daemon's bind (a
// flake seen in a fresh-clone run: "already in use by another socket").
// So ports come from below the ephemeral range, in a window of 200 per
// process (by pid), each probed before it is returned; only where the
// ephemeral range starts too low for that is the kernel asked.
uint16_t freeUdpPort(const std::string& host) {
  static const uint32_t ephemeral_low = [] {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    uint32_t low = 0;
    return (in >> low) ? low : 0u;
  }();
  constexpr uint32_t kFirst = 10000, kWindow = 200;
  const uint32_t windows = ephemeral_low > kFirst ? (ephemeral_low - kFirst) / kWindow : 0;
  if (windows > 0) {
    static std::atomic<uint32_t> next{0};
    const uint32_t base = kFirst + uint32_t(getpid()) % windows * kWindow;
    for (uint32_t tries = 0; tries < kWindow; ++tries) {
      const auto port = uint16_t(base + next.fetch_add(1) % kWindow);
      if (bindUdp(host, port) == port) return port;
    }
  }
  const uint16_t port = bindUdp(host, 0);
  if (port == 0) throw std::runtime_error("bind failed for " + host);
  return port;
}

std::string binary(const char* env_name) {
  const char* value = std::getenv(env_name);
  if (value == nullptr || *value == '\0')
    throw std::runtime_error(std::string(env_name) + " is not set (run the test through meson test)");
  return value;
}

pid_t threadNamed(pid_t pid, const std::string& name) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  pid_t found = -1;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(dir + "/" + e->d_name + "/comm");
    std::string c;
    std::getline(comm, c);
    if (c == name) found = pid_t(std::stol(e->d_name));
  }
  closedir(d);
  return found;
}

ThreadStop::ThreadStop(pid_t tid) : tid_(tid) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0) return;
  attached_ = true;
  if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) return;
  int status = 0;
  stopped_ = waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status);
}

ThreadStop::~ThreadStop() {
  if (attached_) ptrace(PTRACE_DETACH, tid_, nullptr, nullptr);
}

bool ThreadStop::waitEnded(std::chrono::milliseconds timeout) {
  if (!attached_) return false;
  const bool ended = eventually(
      [&] {
        int status = 0;
        const pid_t got = waitpid(tid_, &status, __WALL | WNOHANG);
        return got == tid_ && (WIFEXITED(status) || WIFSIGNALED(status));
      },
      timeout);
  if (ended) attached_ = false;
  return ended;
}

}  // namespace ferry::test
