#include "ferry/bench/process.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

namespace ferry::bench {
namespace {

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string netnsPath(const std::string& netns) { return "/run/netns/" + netns; }

// The part of the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void execChild(char* const* argv, int netns_fd, int out_fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2}) signal(sig, SIG_DFL);
  if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, 0);
  if (out_fd >= 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
  }
  execvp(argv[0], argv);
  _exit(127);
}

}  // namespace

std::optional<Child> Child::spawn(const std::vector<std::string>& argv, const Options& options,
                                  std::string* error) {
  if (argv.empty()) {
    if (error) *error = "spawn: empty command";
    return std::nullopt;
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  int netns_fd = -1;
  if (!options.netns.empty()) {
    netns_fd = open(netnsPath(options.netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (netns_fd < 0) {
      if (error) *error = "open " + netnsPath(options.netns) + ": " + std::strerror(errno);
      return std::nullopt;
    }
  }
  const std::string out_path = options.output_path.empty() ? "/dev/null" : options.output_path;
  const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out_fd < 0) {
    if (error) *error = "open " + out_path + ": " + std::strerror(errno);
    if (netns_fd >= 0) close(netns_fd);
    return std::nullopt;
  }
  const pid_t pid = fork();
  if (pid == 0) execChild(cargv.data(), netns_fd, out_fd);
  const int fork_errno = errno;
  if (netns_fd >= 0) close(netns_fd);
  close(out_fd);
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(fork_errno);
    return std::nullopt;
  }
  Child c;
  c.pid_ = pid;
  c.output_path_ = options.output_path;
  return c;
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), status_(other.status_), output_path_(std::move(other.output_path_)) {
  other.pid_ = -1;
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = other.pid_;
    status_ = other.status_;
    output_path_ = std::move(other.output_path_);
    other.pid_ = -1;
  }
  return *this;
}

Child::~Child() { stop(); }

std::string Child::output(size_t max_bytes) const {
  if (output_path_.empty()) return "";
  std::ifstream in(output_path_);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > max_bytes) text = "…" + text.substr(text.size() - max_bytes);
  return text;
}

bool Child::running() {
  if (pid_ < 0 || status_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decodeStatus(status);
    return false;
  }
  return r == 0;
}

std::optional<int> Child::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Child::stop(std::chrono::milliseconds grace) {
  if (pid_ < 0) return std::nullopt;
  if (running()) {
    signal(SIGTERM);
    if (!wait(grace)) {
      signal(SIGKILL);
      wait(std::chrono::seconds(5));
    }
  }
  return status_;
}

int runCommand(const std::vector<std::string>& argv, std::string* output,
               const std::string& netns) {
  char path[] = "/tmp/ferrybench-cmd.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  std::string error;
  auto child = Child::spawn(argv, {netns, path}, &error);
  if (!child) {
    if (output) *output = error;
    unlink(path);
    return -1;
  }
  const auto status = child->wait(std::chrono::seconds(30));
  if (!status) child->stop(std::chrono::milliseconds(100));
  if (output) *output = child->output(16384);
  unlink(path);
  return status.value_or(-1);
}

std::string runChecked(const std::vector<std::string>& argv, const std::string& netns) {
  std::string out;
  const int status = runCommand(argv, &out, netns);
  if (status == 0) return "";
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  if (!netns.empty()) cmd = "(in " + netns + ") " + cmd;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return cmd + ": exit " + std::to_string(status) + (out.empty() ? "" : ": " + out);
}

NetnsScope::NetnsScope(const std::string& netns) {
  if (netns.empty()) return;
  original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (original_ < 0) throw std::system_error(errno, std::generic_category(), "open own netns");
  const int target = open(netnsPath(netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    const int err = errno;
    close(original_);
    throw std::system_error(err, std::generic_category(), "open " + netnsPath(netns));
  }
  const int r = setns(target, CLONE_NEWNET);
  const int err = errno;
  close(target);
  if (r != 0) {
    close(original_);
    throw std::system_error(err, std::generic_category(), "setns " + netns);
  }
}

NetnsScope::~NetnsScope() {
  if (original_ < 0) return;
  setns(original_, CLONE_NEWNET);
  close(original_);
}

}  // namespace ferry::bench
