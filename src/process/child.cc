#include "ferry/process/child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "ferry/process/netns.h"

namespace ferry::process {
namespace {

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::string readTail(const std::string& path, size_t max_bytes) {
  if (path.empty()) return "";
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  if (text.size() > max_bytes) text = "…" + text.substr(text.size() - max_bytes);
  return text;
}

// The environment the child gets: ours, with `extra` (NAME=value) added or
// replacing the entries of the same NAME. The pointers are into environ and
// `extra`, which outlive the exec.
std::vector<char*> childEnvironment(const std::vector<std::string>& extra) {
  auto nameOf = [](std::string_view entry) { return entry.substr(0, entry.find('=')); };
  std::vector<char*> env;
  for (char** e = environ; *e != nullptr; ++e) {
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || nameOf(x) == nameOf(*e);
    if (!replaced) env.push_back(*e);
  }
  for (const auto& x : extra) env.push_back(const_cast<char*>(x.c_str()));
  env.push_back(nullptr);
  return env;
}

// What the child needs between fork and exec, prepared by the parent so that
// the child makes only async-signal-safe calls (no allocation).
struct ExecPlan {
  char* const* argv;
  char* const* envp;
  pid_t parent;
  int stdout_fd, stderr_fd;
  int netns_fd = -1;  // -1: stay
  const char* netns_name = nullptr;
  bool own_process_group = false;
};

// Writes "ferry child: WHAT ARG: REASON\n" to stderr (already redirected)
// and exits with `status`.
[[noreturn]] void fail(int status, const char* what, const char* arg) {
  const char* reason = strerrordesc_np(errno);
  for (const char* part : {"ferry child: ", what, " ", arg, ": ", reason ? reason : "?", "\n"}) {
    if (write(2, part, std::strlen(part)) < 0) break;
  }
  _exit(status);
}

// As `ip netns exec` does: the network namespace, then a mount namespace
// whose mounts do not propagate back, with /sys mounted for the new network
// namespace (a read-only /sys that cannot be unmounted is covered read-only).
void enterNetns(const ExecPlan& plan) {
  if (setns(plan.netns_fd, CLONE_NEWNET) != 0) fail(126, "setns", plan.netns_name);
  if (unshare(CLONE_NEWNS) != 0) fail(126, "unshare mount namespace for", plan.netns_name);
  if (mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) != 0)
    fail(126, "mount --make-rslave", "/");
  unsigned long flags = 0;
  if (umount2("/sys", MNT_DETACH) != 0) {
    struct statvfs fs;
    if (statvfs("/sys", &fs) == 0 && (fs.f_flag & ST_RDONLY)) flags = MS_RDONLY;
  }
  if (mount(plan.netns_name, "/sys", "sysfs", flags, nullptr) != 0)
    fail(126, "mount sysfs", "/sys");
}

[[noreturn]] void execChild(const ExecPlan& plan) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != plan.parent) _exit(126);  // the parent died before prctl
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD})
    signal(sig, SIG_DFL);
  if (plan.own_process_group) setpgid(0, 0);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, 0);
  dup2(plan.stdout_fd, 1);
  dup2(plan.stderr_fd, 2);
  if (plan.netns_fd >= 0) enterNetns(plan);
  execvpe(plan.argv[0], plan.argv, plan.envp);
  fail(127, "exec", plan.argv[0]);
}

int openOutput(const std::string& path, std::string* error) {
  const std::string target = path.empty() ? "/dev/null" : path;
  const int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 && error) *error = "open " + target + ": " + std::strerror(errno);
  return fd;
}

}  // namespace

Result<Child> Child::spawn(const std::vector<std::string>& argv, const Options& options) {
  if (argv.empty()) return Result<Child>::failure("spawn: empty command");
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  const std::vector<char*> envp = childEnvironment(options.env);

  ExecPlan plan{cargv.data(), envp.data(), getpid(), -1, -1};
  plan.own_process_group = options.own_process_group;
  // The child has its own copies once forked (or none is needed).
  auto closeFds = [&] {
    if (plan.netns_fd >= 0) close(plan.netns_fd);
    if (plan.stdout_fd >= 0) close(plan.stdout_fd);
    if (plan.stderr_fd >= 0 && plan.stderr_fd != plan.stdout_fd) close(plan.stderr_fd);
  };
  if (!options.netns.empty()) {
    plan.netns_name = options.netns.c_str();
    plan.netns_fd = open(netnsPath(options.netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (plan.netns_fd < 0)
      return Result<Child>::failure("open " + netnsPath(options.netns) + ": " +
                                    std::strerror(errno));
  }
  std::string error;
  plan.stdout_fd = openOutput(options.stdout_path, &error);
  if (plan.stdout_fd >= 0) {
    plan.stderr_fd = options.stderr_path == options.stdout_path
                         ? plan.stdout_fd
                         : openOutput(options.stderr_path, &error);
  }
  if (plan.stdout_fd < 0 || plan.stderr_fd < 0) {
    closeFds();
    return Result<Child>::failure(error);
  }
  // Closed in the child by its exec (O_CLOEXEC) or its exit: reading it to
  // the end waits until the child has entered its namespace and exec'd.
  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const int pipe_errno = errno;
    closeFds();
    return Result<Child>::failure(std::string("pipe: ") + std::strerror(pipe_errno));
  }
  const pid_t pid = fork();
  if (pid == 0) execChild(plan);
  const int fork_errno = errno;
  closeFds();
  close(exec_pipe[1]);
  char byte;
  while (pid > 0 && read(exec_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  close(exec_pipe[0]);
  if (pid < 0) return Result<Child>::failure(std::string("fork: ") + std::strerror(fork_errno));
  Child c;
  c.pid_ = pid;
  c.own_process_group_ = options.own_process_group;
  c.stdout_path_ = options.stdout_path;
  c.stderr_path_ = options.stderr_path;
  return c;
}

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      own_process_group_(other.own_process_group_),
      status_(other.status_),
      stdout_path_(std::move(other.stdout_path_)),
      stderr_path_(std::move(other.stderr_path_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    own_process_group_ = other.own_process_group_;
    status_ = other.status_;
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
  }
  return *this;
}

Child::~Child() { stop(); }

std::string Child::stdoutText(size_t max_bytes) const { return readTail(stdout_path_, max_bytes); }
std::string Child::stderrText(size_t max_bytes) const { return readTail(stderr_path_, max_bytes); }

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
    if (!wait(grace)) return kill();
  }
  return status_;
}

std::optional<int> Child::kill() {
  if (pid_ < 0) return std::nullopt;
  if (running()) {
    if (own_process_group_) ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status = 0;
    if (waitpid(pid_, &status, 0) == pid_) status_ = decodeStatus(status);
  }
  return status_;
}

int runCommand(const std::vector<std::string>& argv, std::string* output, const std::string& netns,
               std::chrono::milliseconds timeout) {
  char path[] = "/tmp/ferry-cmd.XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) {
    if (output) *output = std::string("mkstemp: ") + std::strerror(errno);
    return -1;
  }
  close(fd);
  auto child = Child::spawn(argv, {.netns = netns, .stdout_path = path, .stderr_path = path});
  if (!child) {
    if (output) *output = child.error();
    unlink(path);
    return -1;
  }
  const auto status = child->wait(timeout);
  if (!status) child->stop(std::chrono::milliseconds(100));
  if (output) *output = child->stdoutText();
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
  constexpr size_t kMaxShown = 16384;
  if (out.size() > kMaxShown) out = "…" + out.substr(out.size() - kMaxShown);
  return cmd + ": exit " + std::to_string(status) + (out.empty() ? "" : ": " + out);
}

}  // namespace ferry::process
