// Integration-test harness: real processes, real sockets, real network
// namespaces. Everything a test creates is owned by an RAII object that
// removes it in its destructor, so a failing assertion (which returns from the
// test body) still cleans up; a SIGTERM, SIGINT, SIGHUP or SIGPIPE to the test
// binary (meson's timeout, Ctrl-C, `| head`) removes namespaces and kills
// children too.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/process/child.h"
#include "ferry/process/netns.h"

namespace ferry::test {

using namespace std::chrono_literals;

// A private directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// A child process with stdout and stderr captured to files (a
// process::Child in a process group of its own). Killed (SIGKILL, the group
// too: not SIGTERM, which a ferryd with BFD up answers with a drain of
// hundreds of milliseconds) and reaped in the destructor if still running.
class Process {
 public:
  struct Options {
    std::string netns = {};              // run inside this namespace, as `ip netns exec` does
    std::vector<std::string> env = {};   // extra NAME=value entries
  };
  // Throws std::runtime_error when the process cannot be started.
  static Process start(const std::vector<std::string>& argv, const Options& options);
  static Process start(const std::vector<std::string>& argv) { return start(argv, Options{}); }

  Process() = default;  // no process yet; assign from start()
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;  // kills the process it had
  ~Process();

  pid_t pid() const { return child_.pid(); }
  const std::string& captureDir() const { return dir_; }  // holds its stdout and stderr files
  bool running() { return child_.running(); }
  void signal(int sig) const { child_.signal(sig); }
  // Waits for exit; returns the exit status (0..255), 128+N for a signal, or
  // nullopt on timeout (the process keeps running).
  std::optional<int> wait(std::chrono::milliseconds timeout) { return child_.wait(timeout); }
  std::string out() const { return child_.stdoutText(); }  // stdout so far
  std::string err() const { return child_.stderrText(); }  // stderr so far
  // Polls stdout/stderr until `needle` appears; false on timeout or exit.
  bool waitForOutput(const std::string& needle, std::chrono::milliseconds timeout);

 private:
  void release();  // kill, forget and remove the capture files

  process::Child child_;
  std::string dir_;  // owned temp dir for the capture files
};

// Runs a shell command (/bin/sh -c) to completion; returns its exit status
// (128+N for signal N, -1 when it could not start). Output is captured into
// `output` when given (stdout and stderr together).
int sh(const std::string& command, std::string* output = nullptr);
// Like sh() but fails the current test when the status is not 0.
std::string shOk(const std::string& command);
// How many times `what` (not empty) occurs in `text`, overlaps included.
size_t occurrences(const std::string& text, const std::string& what);

// A network namespace that exists for the lifetime of the object (a
// process::Netns the signal-time cleanup knows of). Killing every process
// inside and deleting it happen in the destructor.
class NetNs {
 public:
  explicit NetNs(const std::string& tag);  // throws std::runtime_error
  ~NetNs();
  const std::string& name() const { return netns_.name(); }
  // Runs a shell command inside the namespace (sh -c, as sh() does; /sys is
  // this namespace's, as with `ip netns exec`).
  int exec(const std::string& command, std::string* output = nullptr) const;
  std::string execOk(const std::string& command) const;

 private:
  process::Netns netns_;
};

// "\"127.0.0.1:PORT\"": a loopback endpoint, quoted for a YAML config.
std::string ep(uint16_t port);

// FRR daemons (Debian package frr).
inline constexpr const char* kBfdd = "/usr/lib/frr/bfdd";
inline constexpr const char* kZebra = "/usr/lib/frr/zebra";

// CLOCK_MONOTONIC in microseconds (for timestamped test logs).
uint64_t monotonicUs();

// Writes "HH:MM:SS.mmm test: `message`" to stderr, stamped as ferryd stamps
// its log lines (log::stamp()), so a test's steps line up with a daemon's log.
void mark(const std::string& message);

// CPUs this process may run on.
int allowedCpuCount();

// True when the test runs as root and `ip netns` works (CI does).
bool canUseNetns();

// A UDP port that is free on `host` right now (bind to 0, read, close).
uint16_t freeUdpPort(const std::string& host = "127.0.0.1");

// Path of a project binary, from the environment variable meson's test()
// passes (FERRYD, FERRYCTL, FERRY_GEN).
std::string binary(const char* env_name);

// The thread of process `pid` whose name (comm) is `name`, or -1.
pid_t threadNamed(pid_t pid, const std::string& name);

// Holds one thread stopped (PTRACE_SEIZE + PTRACE_INTERRUPT: that thread
// only, nothing else of its process) for as long as it lives, as a thread
// that gets no CPU would be; detached (running again) in the destructor.
class ThreadStop {
 public:
  explicit ThreadStop(pid_t tid);
  ~ThreadStop();
  ThreadStop(const ThreadStop&) = delete;
  ThreadStop& operator=(const ThreadStop&) = delete;
  bool stopped() const { return stopped_; }
  // Waits (at most `timeout`) for the thread to end while it is held, as it
  // does when its process exits: the test, its tracer, reaps it, without
  // which the process's own exit would never be reported. True once ended.
  bool waitEnded(std::chrono::milliseconds timeout);

 private:
  pid_t tid_;
  bool attached_ = false;
  bool stopped_ = false;
};

// Polls `predicate` every 10 ms until it holds or `timeout` passes.
template <typename Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    struct timespec ts{0, 10'000'000};
    nanosleep(&ts, nullptr);
  }
  return predicate();
}

}  // namespace ferry::test
