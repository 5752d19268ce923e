// ferryd: the router daemon.
//   ferryd run --config FILE       run until SIGINT/SIGTERM (SIGHUP: reload,
//                                  SIGUSR2: re-execute the binary with --takeover)
//   ferryd run --config FILE --takeover
//                                  take the running daemon's sockets and BFD
//                                  sessions over (see takeover.h, README)
//   ferryd check-config FILE       validate a config, print a summary or the errors
//   ferryd bench [OPTIONS]         benchmark mode (see README)
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ferry/bench.h"
#include "ferry/cli.h"
#include "ferry/config/config.h"
#include "ferry/control/log.h"
#include "ferry/control/render.h"
#include "ferry/daemon/daemon.h"
#include "ferry/daemon/notify.h"
#include "ferry/daemon/takeover.h"

namespace {

// How long after the stop was asked every dataplane thread has to end (one
// deadline for all). A running one needs milliseconds (its receives are
// cancelled, its sends complete); one that has not ended by then will not,
// and ferryd exits without it.
constexpr std::chrono::milliseconds kDataplaneStopLimit{5000};

// Prints every error as FILE:LINE:COLUMN: message; returns the config or null.
std::optional<ferry::Config> loadOrReport(const std::string& path) {
  auto result = ferry::loadConfigFile(path);
  for (const auto& e : result.errors) std::cerr << e.format() << "\n";
  return std::move(result.config);
}

int checkConfig(const std::string& path) {
  auto config = loadOrReport(path);
  if (!config) return 1;
  std::cout << path << ": ok: " << config->summary() << "\n";
  return 0;
}

// The binary to re-execute on SIGUSR2: the path this process was started
// from, read at startup. /proc/self/exe itself would run the old inode even
// after an upgrade replaced the file, so it is read as a path ("… (deleted)"
// stripped) and the file now at that path is executed.
std::string ownBinary() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "/proc/self/exe";
  std::string path(buf, size_t(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0)
    path.resize(path.size() - deleted.size());
  return path;
}

// SIGUSR2: starts `binary run --config FILE --takeover` with this process's
// environment and no signal blocked; it connects to our handover socket.
pid_t reexec(const std::string& binary, const std::string& config_path) {
  std::vector<std::string> args{binary, "run", "--config", config_path, "--takeover"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, binary.c_str(), nullptr, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    ferry::log::error("SIGUSR2: cannot start " + binary + ": " + std::strerror(err));
    return -1;
  }
  return pid;
}

// Graceful stop (README "Scaling out"): every BFD peer hears Down with
// diagnostic 4 (Forwarding Plane Reset) at once and moves its traffic away
// while the dataplanes go on forwarding what still arrives. Half-way through
// the drain the announcement's device is closed (the host's BGP withdraws
// the service addresses; by then every peer has had a detection time to
// react to BFD, and its own BGP session cannot have come back yet); at the
// end the caller closes the sockets. A second SIGINT/SIGTERM ends the drain
// at once.
void drain(ferry::Daemon& daemon, int signal_fd, const ferry::ServiceNotifier& notifier, int tick_ms) {
  const uint64_t drain_us = daemon.beginDrainUs();
  if (drain_us > 0) {
    ferry::log::info("draining for " + std::to_string(drain_us / 1000) +
                     " ms: BFD peers told Down (forwarding plane reset), still forwarding" +
                     (daemon.announcing() ? "; announcement withdrawn after " + std::to_string(drain_us / 2000) + " ms"
                                          : std::string()));
  }
  const uint64_t start = ferry::monotonicMicros();
  while (true) {
    const uint64_t elapsed = ferry::monotonicMicros() - start;
    if (elapsed >= drain_us / 2) daemon.withdrawAnnouncement();
    if (elapsed >= drain_us) break;
    const uint64_t until = elapsed < drain_us / 2 ? drain_us / 2 : drain_us;
    int wait_ms = int((until - elapsed + 999) / 1000);
    if (tick_ms > 0) wait_ms = std::min(wait_ms, tick_ms);
    pollfd fds{signal_fd, POLLIN, 0};
    const int ready = poll(&fds, 1, wait_ms);
    if (notifier.enabled()) notifier.tick("stopping: draining", notifier.watchdogUs().has_value());
    if (ready <= 0) continue;
    signalfd_siginfo info{};
    bool again = false;
    while (read(signal_fd, &info, sizeof(info)) == ssize_t(sizeof(info)))
      again = again || info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM;
    if (again) {
      ferry::log::info("second stop signal: ending the drain now");
      break;
    }
  }
  daemon.withdrawAnnouncement();
}

int run(const std::string& path, bool takeover) {
  const std::string binary = ownBinary();
  auto config = loadOrReport(path);
  if (!config) return 1;

  // Signals are taken synchronously by this thread only (a signalfd): block
  // them before any thread starts so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR2);
  sigaddset(&signals, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  ferry::Fd signal_fd(signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd) {
    ferry::log::error(std::string("signalfd: ") + std::strerror(errno));
    return 1;
  }

  // --takeover: connect to the running daemon first; any refusal leaves it
  // as it was.
  ferry::TakeoverClient client;
  if (takeover) {
    if (const ferry::Status connected = client.connect(config->control_socket); !connected) {
      ferry::log::error("takeover refused: " + connected.error());
      return 1;
    }
  }
  const std::string summary = config->summary() + "; ";
  const std::string control_socket = config->control_socket;
  ferry::Daemon daemon(std::move(*config));  // not copied: a copy would hold the routes for ever
  // systemd (Type=notify): RELOADING=1 / READY=1 around every reload, from
  // the control thread that runs it (SIGHUP or ferryctl reload alike).
  const ferry::ServiceNotifier notifier;
  daemon.setReloadHook([&](bool done) {
    if (done) notifier.ready(daemon.statusLine());
    else notifier.reloading();
  });
  // The handover socket is made next to the control socket once that one is
  // open, and before ferryd switches to `user:` (it could not create it in
  // a root-owned directory afterwards); a takeover adopts its predecessor's.
  ferry::HandoverServer handover;
  const std::string handover_path = ferry::handoverPath(control_socket);
  const bool adopt_handover =
      takeover && client.handoverIndex() >= 0 && client.manifest().control_socket == control_socket;
  daemon.setBeforeThreads([&]() -> ferry::Status {
    if (adopt_handover) return {};
    if (const ferry::Status listening = handover.listen(handover_path); !listening)
      ferry::log::warn(listening.error() + "; this ferryd cannot be taken over");
    return {};
  });
  if (const ferry::Status started = daemon.start(takeover ? &client : nullptr); !started) {
    if (takeover) client.abort(started.error());
    ferry::log::error(started.error() + (takeover ? "; the running ferryd carries on" : ""));
    return 1;
  }
  if (adopt_handover) handover.adopt(client.take(size_t(client.handoverIndex())), handover_path);
  std::string took_over;
  if (takeover) {
    if (const ferry::Status finished = client.finish(); !finished)
      ferry::log::warn("takeover: " + finished.error() + "; the old ferryd may still be running");
    daemon.ownControlSocket();
    handover.ownPath(true);
    took_over = "took over from pid " + std::to_string(client.manifest().pid) + "; ";
  }
  ferry::log::info(took_over + "pid " + std::to_string(getpid()) + " running " + summary +
                   std::to_string(daemon.dataplaneCount()) + " dataplanes started; control socket " +
                   control_socket);
  notifier.ready(daemon.statusLine());
  // Without systemd this thread waits only for signals and takeovers. Under
  // systemd it also wakes every half watchdog period (or every 5 s) to
  // refresh STATUS= and, while the daemon is healthy, send WATCHDOG=1.
  const ferry::WatchdogLimits limits{.turn_us = 3'000'000, .stall_us = daemon.watchdogStallUs()};
  const uint64_t tick_us = notifier.watchdogUs() ? *notifier.watchdogUs() / 2 : 5'000'000;
  const int tick_ms = notifier.enabled() ? int(std::max<uint64_t>(tick_us / 1000, 1)) : -1;
  bool taken = false;
  while (!taken) {
    pollfd fds[2] = {{signal_fd.get(), POLLIN, 0}, {handover.fd(), POLLIN, 0}};
    const int ready = poll(fds, 2, tick_ms);
    if (notifier.enabled())
      notifier.tick(daemon.statusLine(),
                    notifier.watchdogUs() && ferry::watchdogHealthy(daemon.health(), ferry::monotonicMicros(), limits));
    if (ready <= 0) continue;  // the tick, or EINTR
    if (fds[1].revents & POLLIN) {
      std::string why;
      if (handover.serve(daemon, why)) {
        ferry::log::info("taken over by a new ferryd; stopping receives and exiting");
        // The service's main process is the new one from here.
        if (handover.peerPid() > 0) notifier.mainPid(handover.peerPid());
        taken = true;
        break;
      }
      if (!why.empty()) ferry::log::warn(why + "; carrying on");
    }
    if (!(fds[0].revents & POLLIN)) continue;
    signalfd_siginfo info{};
    bool stop = false;
    while (read(signal_fd.get(), &info, sizeof(info)) == ssize_t(sizeof(info))) {
      const int sig = int(info.ssi_signo);
      if (sig == SIGINT || sig == SIGTERM) {
        ferry::log::info(std::string("received ") + strsignal(sig) + ", stopping");
        stop = true;
      } else if (sig == SIGHUP) {
        ferry::log::info("SIGHUP: reloading " + path);
        daemon.requestReload();
      } else if (sig == SIGUSR2) {
        const pid_t pid = reexec(binary, path);
        if (pid > 0)
          ferry::log::info("SIGUSR2: started " + binary + " --takeover as pid " + std::to_string(pid));
      } else if (sig == SIGCHLD) {
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
          ferry::log::warn("re-executed ferryd pid " + std::to_string(pid) + " exited with status " +
                           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                           "; carrying on");
      }
    }
    if (stop) {
      notifier.stopping();
      break;
    }
  }
  if (taken) {
    // The socket files are the new process's now.
    daemon.releaseControlSocket();
    handover.ownPath(false);
  } else {
    drain(daemon, signal_fd.get(), notifier, tick_ms);
  }
  // Receives are cancelled; datagrams already read are forwarded and every
  // send completes before the dataplanes end (the new process reads what
  // is still queued on the shared sockets).
  const std::vector<std::string> stuck = daemon.stopWithin(kDataplaneStopLimit);
  std::cout << "final counters:\n" << ferry::renderStats(daemon.stats()) << std::flush;
  if (!stuck.empty()) {
    for (const auto& who : stuck)
      ferry::log::error(who + " did not end within " +
                        std::to_string(kDataplaneStopLimit.count() / 1000) +
                        " s of the stop (its thread is stopped, stuck in the kernel or spinning); "
                        "exiting without it: what its ring still held is lost");
    // Its thread still uses the daemon's memory: no destructors.
    std::_Exit(1);
  }
  ferry::log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Large blocks (route tables, their build's scratch) always come from mmap
  // and go back to the kernel when freed. glibc's default raises this
  // threshold to the size of the largest block freed (up to 32 MiB), after
  // which a reload's scratch and the old table stay in the heap as resident
  // memory the daemon never uses again (measured: 145 → 229 MB after one
  // reload of a 1.2 M-route table).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  CLI::App app{"ferryd: the ferry router daemon (UDP links between routers, N io_uring "
               "dataplanes, BFD). See ferryd(8) and ferry.yaml(5).",
               "ferryd"};
  app.set_version_flag("--version", std::string("ferryd ") + FERRY_VERSION);
  app.allow_extras();
  app.footer("Exit status: 0 ok, 1 a failure at run time or an invalid config, 2 bad arguments.");
  std::string config_path, check_path;
  bool takeover = false;
  CLI::App* run_cmd = app.add_subcommand("run", "run the router");
  run_cmd->add_option("--config", config_path, "the YAML config file")->required()->type_name("FILE");
  run_cmd->add_flag("--takeover", takeover,
                    "take over the sockets and BFD sessions of the ferryd now running on this "
                    "config (an upgrade without loss)");
  CLI::App* check_cmd = app.add_subcommand("check-config", "check a config file and exit");
  check_cmd->add_option("FILE", check_path, "the YAML config file")->required();
  CLI::App* bench_cmd =
      app.add_subcommand("bench", "benchmark mode; its options: ferryd bench --help");
  // Its arguments go to benchmark mode's own parser, --help included.
  bench_cmd->prefix_command();
  bench_cmd->set_help_flag();
  const auto parsed = ferry::cli::parse(app, std::vector<std::string>(argv + 1, argv + argc));
  if (const auto status = ferry::cli::finish(parsed, "ferryd")) return *status;
#ifdef FERRY_NO_BENCH_MODE
  if (bench_cmd->parsed()) {
    std::cerr << "ferryd: bench: benchmark mode is not in this build (meson option "
                 "bench_mode=false)\n";
    return 2;
  }
#else
  if (bench_cmd->parsed()) return ferry::benchMain(bench_cmd->remaining());
#endif
  if (check_cmd->parsed()) return checkConfig(check_path);
  if (run_cmd->parsed()) return run(config_path, takeover);
  const auto extra = app.remaining();
  std::cerr << "ferryd: "
            << (extra.empty() ? std::string("missing command: run, check-config or bench")
                              : "unknown command '" + extra[0] + "'")
            << "\n(ferryd --help for usage)\n";
  return 2;
}
